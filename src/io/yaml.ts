/**
 * Multi-document YAML (and JSON, a subset) parsing with the same reading kubectl gives: YAML 1.1
 * scalars (`0644` is octal, `yes` is a boolean), duplicate keys rejected, alias expansion bounded.
 * Errors name the source and the document (1-based) and the line.
 */
import { Document, isScalar, parseAllDocuments, type Tags, visit } from 'yaml';
import type { JsonValue } from '../common/json.ts';
import { checkDocument } from './yaml-checks.ts';

export interface YamlDocument {
  /** 1-based position in the file. */
  index: number;
  value: JsonValue;
  /**
   * The document's own source text, written back as it is when nothing changes it. The texts of a
   * file's documents, in order, are the whole file (leading comments go with the first, a `---`
   * marker with the document it starts, an empty document with the one before it).
   */
  text: string;
}

export class YamlError extends Error {}

// kubectl (go-yaml v2) reads a plain 2001-12-14 as a string, not a timestamp; the types without a
// JSON form stay unresolved here and are refused by checkDocument with their path.
const NOT_READ = new Set(['timestamp', 'binary', 'set', 'omap', 'pairs'].map((t) => `tag:yaml.org,2002:${t}`));
const PARSE_OPTIONS = {
  version: '1.1',
  uniqueKeys: true,
  prettyErrors: true,
  strict: true,
  customTags: (tags: Tags) => tags.filter((t) => typeof t === 'string' || !NOT_READ.has(t.tag)),
} as const;

export function parseYamlDocuments(text: string, source: string): YamlDocument[] {
  const docs = parseAllDocuments(text, PARSE_OPTIONS);
  if (!Array.isArray(docs)) return []; // an empty stream
  const out: YamlDocument[] = [];
  // Text that belongs to no kept document yet (an empty document before the first kept one).
  let pendingText = '';
  docs.forEach((doc, i) => {
    const start = i === 0 ? 0 : doc.range[0];
    const next = docs[i + 1];
    const own = text.slice(start, next ? next.range[0] : text.length);
    const index = i + 1;
    const err = doc.errors[0];
    if (err) {
      const line = err.linePos?.[0]?.line;
      const message = err.code === 'DUPLICATE_KEY' ? duplicateKey(text, err.pos[0]) : (err.message.split('\n')[0] ?? '').replace(/:$/, '');
      throw new YamlError(`${source}, document ${index}${line ? ` (line ${line})` : ''}: ${message}`);
    }
    const problem = checkDocument(doc);
    if (problem) {
      const line = problem.offset === undefined ? undefined : lineOf(text, problem.offset);
      throw new YamlError(`${source}, document ${index}${line ? ` (line ${line})` : ''}: ${problem.path ? `${problem.path}: ` : ''}${problem.message}`);
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      throw new YamlError(`${source}, document ${index}: ${(e as Error).message}`);
    }
    if (value === null || value === undefined) {
      // `---` with nothing after it: its text stays with the document before it.
      const last = out.at(-1);
      if (last) last.text += own;
      else pendingText += own;
      return;
    }
    out.push({ index, value: value as JsonValue, text: pendingText + own });
    pendingText = '';
  });
  return out;
}

/** The message for a key set twice in one mapping, naming the key (the parser's names only the line). */
function duplicateKey(text: string, offset: number): string {
  const rest = text.slice(offset, offset + 256);
  const key = /^\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\n]|'')*)'|([^:#\n]*?))\s*:/.exec(rest);
  const name = key ? (key[1] ?? key[2]?.replaceAll("''", "'") ?? key[3]) : undefined;
  return name ? `key ${JSON.stringify(name)} is set twice in one mapping` : 'a key is set twice in one mapping';
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** YAML text for one value, in the 1.1 reading so strings such as "yes" and "0644" stay quoted. */
export function toYaml(value: JsonValue): string {
  const doc = new Document(value, { version: '1.1', aliasDuplicateObjects: false });
  // In YAML 1.1 a plain `<<` key is a merge key: a literal `<<` key must be written quoted.
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === '<<') {
        pair.key.tag = 'tag:yaml.org,2002:str';
        pair.key.type = 'QUOTE_DOUBLE';
      }
    },
  });
  return doc.toString({ lineWidth: 0 });
}
