/** Writing documents back as one YAML stream: unchanged documents keep their text exactly. */
import type { JsonValue } from '../common/json.ts';
import { toYaml } from '../io/yaml.ts';
import { editYaml } from '../io/yaml-edit.ts';

/**
 * The documents as one stream. A document nothing changed is its source text, byte for byte
 * (comments, quoting, key order, its own `---`); a changed one is edited with its comments where
 * it can be (editYaml), else written anew. A `---` goes
 * between documents where the next does not start with its own.
 */
export function writeStream(docs: readonly { value: JsonValue; changed: boolean; text: string; before?: JsonValue }[]): string {
  const w = new YamlWriter();
  return docs.map((d) => w.next(d)).join('');
}

/** writeStream a document at a time: `next` gives what to write for each. */
export class YamlWriter {
  /** Whether anything was written, and whether it ended a line. */
  private state = { started: false, lineEnded: true };

  /** `before`, the value `text` holds, lets a changed document keep its comments (see editYaml). */
  next(d: { value: JsonValue; changed: boolean; text: string; before?: JsonValue }): string {
    const piece = d.changed ? ((d.before === undefined ? undefined : editYaml(d.text, d.before, d.value)) ?? toYaml(d.value)) : d.text;
    let out = '';
    if (this.state.started) {
      if (!this.state.lineEnded) out += '\n';
      if (d.changed || !STARTS_DOCUMENT.test(piece)) out += '---\n';
    }
    out += piece;
    if (out !== '') this.state = { started: true, lineEnded: out.endsWith('\n') };
    return out;
  }

  /** What to restore to take back the documents written since. */
  mark(): { started: boolean; lineEnded: boolean } {
    return this.state;
  }

  restore(mark: { started: boolean; lineEnded: boolean }): void {
    this.state = mark;
  }
}

/** Directives, then a `---` marker: the text starts a document of its own. */
const STARTS_DOCUMENT = /^(?:%[^\n]*\n)*---(?:[ \t\r\n]|$)/;

/** Documents as JSON: one object as it is, several as a v1 List (as `kubectl get -o json` prints them). */
export function jsonDocuments(values: readonly JsonValue[]): string {
  const out = values.length === 1 ? values[0] : { apiVersion: 'v1', kind: 'List', items: [...values] };
  return `${JSON.stringify(out, null, 2)}\n`;
}

/**
 * jsonDocuments a document at a time: `next` gives what to write for each, `end` what ends the
 * output, and `map` what the written text becomes when there are several (a List's items are
 * indented by four spaces; JSON text holds no newline but those between its lines).
 */
export class JsonWriter {
  count = 0;

  next(value: JsonValue): string {
    return `${this.count++ > 0 ? ',\n' : ''}${JSON.stringify(value, null, 2)}`;
  }

  head(): string {
    return this.count === 1 ? '' : this.count === 0 ? LIST_HEAD.replace('[\n', '[') : `${LIST_HEAD}    `;
  }

  map(chunk: string): string {
    return this.count === 1 ? chunk : chunk.replaceAll('\n', '\n    ');
  }

  end(): string {
    return this.count === 1 ? '\n' : this.count === 0 ? ']\n}\n' : '\n  ]\n}\n';
  }
}

const LIST_HEAD = '{\n  "apiVersion": "v1",\n  "kind": "List",\n  "items": [\n';

/** A fixed-width table; the last column is not padded. */
export function table(rows: readonly string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  }
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ')).join('\n')}\n`;
}
