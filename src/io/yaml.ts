/**
 * Multi-document YAML (and JSON, a subset) parsing with the same reading kubectl gives: YAML 1.1
 * scalars (`0644` is octal, `yes` is a boolean), duplicate keys rejected, alias expansion bounded.
 * Errors name the source and the document (1-based) and the line.
 */
import { Document, isNode, isScalar, parseAllDocuments, visit } from 'yaml';
import type { JsonValue } from '../engine/json.ts';

export interface YamlDocument {
  /** 1-based position in the file. */
  index: number;
  value: JsonValue;
  /** The parsed document, for writing it back with its comments when it is not changed. */
  doc: Document;
}

export class YamlError extends Error {}

const PARSE_OPTIONS = { version: '1.1', uniqueKeys: true, prettyErrors: true, strict: true } as const;

export function parseYamlDocuments(text: string, source: string): YamlDocument[] {
  const docs = parseAllDocuments(text, PARSE_OPTIONS);
  if (!Array.isArray(docs)) return []; // an empty stream
  const out: YamlDocument[] = [];
  docs.forEach((doc, i) => {
    const index = i + 1;
    const err = doc.errors[0];
    if (err) {
      const line = err.linePos?.[0]?.line;
      throw new YamlError(`${source}, document ${index}${line ? ` (line ${line})` : ''}: ${(err.message.split('\n')[0] ?? '').replace(/:$/, '')}`);
    }
    // JSON objects have string keys; a mapping or sequence used as a key (a `{{ template }}` that
    // was never rendered, usually) is not a Kubernetes object.
    let badKey: string | undefined;
    visit(doc, {
      Pair(_, pair) {
        if (pair.key !== null && !isScalar(pair.key)) {
          const range = isNode(pair.key) ? pair.key.range : undefined;
          const line = range ? lineOf(text, range[0]) : undefined;
          badKey = `${source}, document ${index}${line ? ` (line ${line})` : ''}: a map key is a collection, not a string; is this an unrendered template?`;
          return visit.BREAK;
        }
        return undefined;
      },
    });
    if (badKey) throw new YamlError(badKey);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      throw new YamlError(`${source}, document ${index}: ${(e as Error).message}`);
    }
    if (value === null || value === undefined) return; // `---` with nothing after it
    out.push({ index, value: value as JsonValue, doc });
  });
  return out;
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
