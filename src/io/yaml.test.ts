import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseYamlDocuments, toYaml } from './yaml.ts';

const roundTrip = (v: unknown) => parseYamlDocuments(toYaml(v as never), 't')[0]?.value;

test('values survive a write and a read in the YAML 1.1 reading', () => {
  const v = { mode: '0644', yes: 'yes', y: 'y', on: 'on', n: 'null', num: '1e3', merge: { '<<': { a: 1 }, own: 2 }, '<<': false, empty: '', multi: 'a\nb' };
  assert.deepEqual(roundTrip(v), v);
});

test('merge keys in input are honoured, as kubectl reads them', () => {
  const [d] = parseYamlDocuments('base: &b {a: 1}\nx:\n  <<: *b\n  c: 2\n', 't');
  assert.deepEqual(d?.value, { base: { a: 1 }, x: { a: 1, c: 2 } });
});

const errorOf = (text: string): string => {
  try {
    parseYamlDocuments(text, 'app.yaml');
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

test('a plain date is a string, as kubectl reads it', () => {
  const [d] = parseYamlDocuments('env: {value: 2026-12-02}\nt: !!timestamp 2001-12-14\n', 't');
  assert.deepEqual(d?.value, { env: { value: '2026-12-02' }, t: '2001-12-14' });
});

test('YAML types without a JSON form are refused with the document, line and field path', () => {
  const secret = 'kind: Secret\n---\nkind: Secret\ndata:\n  tls.crt: !!binary aGVsbG8=\n';
  assert.equal(
    errorOf(secret),
    'app.yaml, document 2 (line 5): data["tls.crt"]: !!binary is not read; write the base64 text as a plain string (Secret data is base64 already)',
  );
  assert.equal(errorOf('spec:\n  args: [a, !!set {x}]\n'), 'app.yaml, document 1 (line 2): spec.args[1]: !!set has no JSON form; write a list');
});

test('an alias inside the node it names is refused, not turned into a circular value', () => {
  assert.equal(errorOf('a: &x [1, *x]\n'), 'app.yaml, document 1 (line 1): alias *x refers to a node that contains it');
});

test('aliases may repeat a block, but not expand a document by more than 4 MiB', () => {
  const env = '&env [{name: A, value: "1"}, {name: B, value: "2"}]';
  const [d] = parseYamlDocuments(`a: ${env}\nb: *env\nc: [*env, *env]\n`, 't');
  assert.deepEqual((d?.value as { c: unknown[] } | undefined)?.c[1], [
    { name: 'A', value: '1' },
    { name: 'B', value: '2' },
  ]);
  const bomb = `a: &a "${'x'.repeat(100_000)}"\nb: [${Array(50).fill('*a').join(', ')}]\n`;
  assert.equal(errorOf(bomb), 'app.yaml, document 1 (line 2): aliases expand this document by more than 4 MiB; is it a YAML bomb?');
});
