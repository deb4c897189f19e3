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
