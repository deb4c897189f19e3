/** Writing documents back: what nothing changed comes back byte for byte; what changed is written anew. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonObject, JsonValue } from '../common/json.ts';
import { parseYamlDocuments } from '../io/yaml.ts';
import { JsonWriter, jsonDocuments, writeStream } from './output.ts';

const unchanged = (text: string, source = 'f.yaml') => parseYamlDocuments(text, source).map((d) => ({ value: d.value, changed: false, text: d.text }));

test('a file nothing changed comes back exactly: comments, quoting, flow style, markers, empty documents, no final newline', () => {
  const texts = [
    '# leading comment\napiVersion: v1\nkind: ConfigMap   # odd spacing kept\ndata: {a: "1", b: \'two\'}\n',
    '---\nkind: A\n---\n# between\nkind: B\n\n# trailing comment\n',
    '%YAML 1.1\n--- # marker comment\nkind: C\n...\n--- \nkind: D\n',
    'kind: E\n---\n---\n# an empty document above\nkind: F\n---\n',
    'kind: G\r\nmetadata: {name: crlf}\r\n',
    'kind: H\nno: final newline',
    '\uFEFFkind: I\n',
  ];
  for (const text of texts) assert.equal(writeStream(unchanged(text)), text, JSON.stringify(text));
});

test('a changed document is written anew between the others, which keep their text; files are joined with ---', () => {
  const docs = parseYamlDocuments('kind: A # keep me\n---\n# about B\nkind: B\n---\nkind: C  # and me\n', 'f.yaml');
  const out = writeStream(
    docs.map((d) => ({
      value: (d.value as JsonObject).kind === 'B' ? { kind: 'B', changed: true } : d.value,
      changed: (d.value as JsonObject).kind === 'B',
      text: d.text,
    })),
  );
  assert.equal(out, 'kind: A # keep me\n---\nkind: B\nchanged: true\n---\nkind: C  # and me\n');
  const two = writeStream([...unchanged('kind: X # one\n', 'a.yaml'), ...unchanged('# two\nkind: Y\n', 'b.yaml'), ...unchanged('---\nkind: Z\n', 'c.yaml')]);
  assert.equal(two, 'kind: X # one\n---\n# two\nkind: Y\n---\nkind: Z\n');
  assert.equal(writeStream([...unchanged('kind: X', 'a.yaml'), ...unchanged('kind: Y\n', 'b.yaml')]), 'kind: X\n---\nkind: Y\n');
});

test('JsonWriter, a document at a time, writes what jsonDocuments writes for none, one and several', () => {
  const values = [{ kind: 'Pod', metadata: { name: 'a', labels: { x: 'ü' } }, spec: { containers: [] } }, [1, { b: {} }], 'text', { kind: 'Pod' }];
  for (const n of [0, 1, 2, 4]) {
    const w = new JsonWriter();
    const body = values
      .slice(0, n)
      .map((v) => w.next(v as JsonValue))
      .join('');
    assert.equal(`${w.head()}${w.map(body)}${w.end()}`, jsonDocuments(values.slice(0, n) as JsonValue[]), `${n} documents`);
  }
});
