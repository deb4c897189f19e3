/** Metric names as an exposition lists them, and as PromQL and prose mention them. */

/** Every name a scrape exposes: each family from `# TYPE`, with _bucket, _sum and _count for histograms. */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (!m) continue;
    const [, name, type] = m as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram' || type === 'summary') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
  }
  return names;
}

/** Names of Outrigger's own and its process metrics mentioned in `text` (PromQL, Markdown). */
export function mentionedNames(text: string): Set<string> {
  return new Set(text.match(/\b(?:outrigger|nodejs|process)_[a-z0-9_]*[a-z0-9]\b/g) ?? []);
}
