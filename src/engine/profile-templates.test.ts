import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonValue } from '../common/json.ts';
import { compileProfileTemplates, TEMPLATED_PARTS, type TemplatedPart, templateTree } from './profile-templates.ts';

const noTemplates = (): Record<TemplatedPart, JsonValue> =>
  Object.fromEntries(TEMPLATED_PARTS.map((p) => [p, p === 'labels' || p === 'annotations' ? {} : []])) as Record<TemplatedPart, JsonValue>;

test('templateTree: values without a template have no tree, whatever their shape', () => {
  const plain: JsonValue[] = ['text', 3, true, null, [], ['a', 'b', 1], {}, { a: 'x', b: { c: ['y'] } }, [{ a: 'x' }, []]];
  for (const v of plain) assert.equal(templateTree(v), null, JSON.stringify(v));
});

test('templateTree locates templates: list items by position, fields by name, nothing else', () => {
  const tree = templateTree([{ name: 'a', value: '{{ pod.name }}', other: 'plain' }, 'plain', '{{ pod.namespace }}']);
  assert.ok(tree && 'items' in tree);
  assert.equal(tree.items.length, 3);
  const first = tree.items[0];
  assert.ok(first && 'fields' in first);
  assert.deepEqual([...first.fields.keys()], ['value']);
  assert.ok('template' in (first.fields.get('value') ?? {}));
  assert.equal(tree.items[1], null);
  assert.ok(tree.items[2] && 'template' in tree.items[2]);
});

test('compileProfileTemplates: a profile without templates has none', () => {
  assert.equal(compileProfileTemplates(noTemplates()), undefined);
  const plain = { ...noTemplates(), env: [{ name: 'A', value: 'plain' }], labels: { team: 'x' } };
  assert.equal(compileProfileTemplates(plain), undefined);
});

test('compileProfileTemplates: one templated part is enough; every variable is listed once, in order of appearance', () => {
  const t = compileProfileTemplates({
    ...noTemplates(),
    env: [
      { name: 'A', value: "{{ pod.labels['app'] }}-{{ pod.name }}" },
      { name: 'B', value: "{{ pod.labels['app'] }}" },
    ],
  });
  assert.ok(t);
  assert.deepEqual(t.variables, [
    { root: 'pod', field: 'labels', key: 'app' },
    { root: 'pod', field: 'name' },
  ]);
  assert.equal(t.parts.containers, null);
  assert.ok(t.parts.env && 'items' in t.parts.env);
  assert.equal(t.renderings.size, 0);
});
