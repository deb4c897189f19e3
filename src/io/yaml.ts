/**
 * Multi-document YAML (and JSON, a subset) parsing with the same reading kubectl gives: YAML 1.1
 * scalars (`0644` is octal, `yes` is a boolean), duplicate keys rejected, alias expansion bounded.
 * Errors name the source and the document (1-based) and the line.
 */
import { Document, isScalar, visit } from 'yaml';
import type { JsonValue } from '../common/json.ts';
import { type YamlDocument, YamlStream } from './yaml-stream.ts';

export { type YamlDocument, YamlError } from './yaml-stream.ts';

/** Every document of a whole text (see YamlStream, which reads one a piece at a time). */
export function parseYamlDocuments(text: string, source: string): YamlDocument[] {
  const stream = new YamlStream(source);
  return [...stream.push(text), ...stream.end()];
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
