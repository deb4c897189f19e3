/** Writing documents back as one YAML stream: unchanged documents keep their text exactly. */
import type { JsonValue } from '../common/json.ts';
import { toYaml } from '../io/yaml.ts';

/**
 * The documents as one stream. A document nothing changed is its source text, byte for byte
 * (comments, quoting, key order, its own `---`); a changed one is written anew. A `---` goes
 * between documents where the next does not start with its own.
 */
export function writeStream(docs: readonly { value: JsonValue; changed: boolean; text: string }[]): string {
  let out = '';
  for (const d of docs) {
    const piece = d.changed ? toYaml(d.value) : d.text;
    if (out !== '') {
      if (!out.endsWith('\n')) out += '\n';
      if (d.changed || !STARTS_DOCUMENT.test(piece)) out += '---\n';
    }
    out += piece;
  }
  return out;
}

/** Directives, then a `---` marker: the text starts a document of its own. */
const STARTS_DOCUMENT = /^(?:%[^\n]*\n)*---(?:[ \t\r\n]|$)/;

/** Documents as JSON: one object as it is, several as a v1 List (as `kubectl get -o json` prints them). */
export function jsonDocuments(values: readonly JsonValue[]): string {
  const out = values.length === 1 ? values[0] : { apiVersion: 'v1', kind: 'List', items: [...values] };
  return `${JSON.stringify(out, null, 2)}\n`;
}

/** A fixed-width table; the last column is not padded. */
export function table(rows: readonly string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  }
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ')).join('\n')}\n`;
}
