/** Writing documents back as one YAML stream: unchanged documents keep their text and comments. */
import type { Document } from 'yaml';
import type { JsonValue } from '../common/json.ts';
import { toYaml } from '../io/yaml.ts';

export function writeStream(docs: readonly { value: JsonValue; changed: boolean; doc: Document }[]): string {
  return docs
    .map((d) => {
      // The separator is written here, so an unchanged document's own `---` marker is dropped.
      if (!d.changed && d.doc.directives) d.doc.directives.docStart = null;
      const text = d.changed ? toYaml(d.value) : d.doc.toString({ lineWidth: 0 });
      return text.endsWith('\n') ? text : `${text}\n`;
    })
    .join('---\n');
}

/** A fixed-width table; the last column is not padded. */
export function table(rows: readonly string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  }
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ')).join('\n')}\n`;
}
