/** The differ's array patches, exact: the common prefix and suffix are kept, only the rest is written. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deepFreeze, type JsonValue } from '../common/json.ts';
import { applyPatch } from './patch-apply.ts';
import { diff } from './patch-diff.ts';

/** diff(a, b), checked to turn a into b. */
const patch = (a: JsonValue, b: JsonValue) => {
  const ops = diff(deepFreeze(structuredClone(a)), deepFreeze(structuredClone(b)));
  assert.deepEqual(applyPatch(a, ops), b);
  return ops;
};

describe('diff of arrays', () => {
  test('an element appended equal to the last one is added, not taken for the suffix', () => {
    assert.deepEqual(patch({ l: [1] }, { l: [1, 1] }), [{ op: 'add', path: '/l/1', value: 1 }]);
    assert.deepEqual(patch({ l: ['x', 'x'] }, { l: ['x', 'x', 'x'] }), [{ op: 'add', path: '/l/2', value: 'x' }]);
  });

  test('an element removed equal to the last one is removed, not taken for the suffix', () => {
    assert.deepEqual(patch({ l: [1, 1] }, { l: [1] }), [{ op: 'remove', path: '/l/1' }]);
  });

  test('a changed first element is replaced when the rest is equal, whatever equal values stand elsewhere', () => {
    assert.deepEqual(patch({ l: ['p', 'q', 'r'] }, { l: ['r', 'q', 'r'] }), [{ op: 'replace', path: '/l/0', value: 'r' }]);
    assert.deepEqual(patch({ l: ['r', 'q', 'r'] }, { l: ['p', 'q', 'r'] }), [{ op: 'replace', path: '/l/0', value: 'p' }]);
  });

  test('equal arrays that are not the same object give no operations', () => {
    assert.deepEqual(patch({ l: [{ a: 1 }, 2] }, { l: [{ a: 1 }, 2] }), []);
  });
});
