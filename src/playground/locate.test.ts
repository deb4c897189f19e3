import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileProfileTexts, ProfileLoadError } from '../profiles/parse.ts';
import { locateErrors, pathSteps } from './locate.ts';

const errorsOf = (text: string): string[] => {
  try {
    compileProfileTexts([{ source: 'profiles.yaml', text }]);
  } catch (e) {
    if (e instanceof ProfileLoadError) return [...e.errors];
    throw e;
  }
  return [];
};

const good = 'apiVersion: outrigger.dev/v1alpha1\nkind: SidecarProfile\nmetadata: {name: ok}\nspec:\n  version: "1"\n';

test('pathSteps reads keys, indices and quoted keys', () => {
  assert.deepEqual(pathSteps('spec.containers[0].resources.limits["nvidia.com/gpu"]'), ['spec', 'containers', 0, 'resources', 'limits', 'nvidia.com/gpu']);
});

test('a validation error is placed at its field, in its document', () => {
  const text = `${good}---\n${good.replace('name: ok', 'name: bad')}  containers:\n    - name: c\n      image: i\n      comand: [x]\n`;
  const [e, ...rest] = locateErrors(errorsOf(text), text);
  assert.deepEqual(rest, []);
  assert.equal(e?.document, 2);
  assert.equal(e?.path, 'spec.containers[0].comand');
  assert.equal(e?.line, 15);
  assert.equal(text.split('\n')[14], '      comand: [x]');
  assert.match(e?.detail ?? '', /^unknown field \(did you mean "command"\?\)$/);
});

test('a missing field is placed at the deepest part of its path that is there', () => {
  const text = `${good.replace('  version: "1"\n', '  containers: []\n')}`;
  const [e] = locateErrors(errorsOf(text), text);
  assert.equal(e?.path, 'spec.version');
  assert.equal(e?.line, 4, JSON.stringify(e));
});

test('a YAML syntax error keeps the line the parser gives', () => {
  const text = `${good}---\nkind: [\n`;
  const [e] = locateErrors(errorsOf(text), text);
  assert.equal(e?.document, 2);
  assert.ok(e?.line !== undefined && e.line >= 7, JSON.stringify(e));
});

test('an item of a List document is placed inside the List', () => {
  const text = `apiVersion: v1\nkind: List\nitems:\n  - ${good.replaceAll('\n', '\n    ').replace('"1"', '1').trimEnd()}\n`;
  const [e] = locateErrors(errorsOf(text), text);
  assert.equal(e?.item, 0);
  assert.equal(e?.path, 'spec.version');
  assert.equal(e?.line, 8, JSON.stringify(e));
});

test('a message without a document is kept whole', () => {
  assert.deepEqual(locateErrors(['something'], ''), [{ message: 'something', detail: 'something' }]);
});
