/** The second applier on its own: every refusal word for word, and inputs never written to. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deepFreeze, type JsonValue } from '../common/json.ts';
import { type AnyPatchOp, applyPatch, PatchApplyError } from './patch-apply.ts';

const refused = (doc: JsonValue, ops: unknown[], message: string) =>
  assert.throws(
    () => applyPatch(doc, ops as AnyPatchOp[]),
    (e: unknown) => e instanceof PatchApplyError && e.name === 'PatchApplyError' && e.message === message,
  );

describe('applyPatch refusals', () => {
  const doc = deepFreeze({ a: { b: [1, 2] }, s: 'x' });
  test('malformed operations', () => {
    refused(doc, [{ op: 'add', path: '/c' }], 'patch operation 0 (add /c): missing "value"');
    refused(doc, [{ op: 'replace', path: '/s' }], 'patch operation 0 (replace /s): missing "value"');
    refused(doc, [{ op: 'add', path: 5, value: 1 }], 'patch operation 0 (add 5): "path" must be a string');
    refused(doc, [{ op: 'add', path: 'c', value: 1 }], 'patch operation 0 (add c): JSON pointer "c" must start with "/"');
    refused(doc, [{ op: 'copy', path: '/c' }], 'patch operation 0 (copy /c): missing "from"');
    refused(doc, [{ op: 'munge', path: '/c' }], 'patch operation 0 (munge /c): unknown operation "munge"');
  });

  test('paths that lead nowhere', () => {
    refused(doc, [{ op: 'test', path: '/s/x', value: 1 }], 'patch operation 0 (test /s/x): cannot descend into a string at "x"');
    refused(doc, [{ op: 'test', path: '/nope', value: 1 }], 'patch operation 0 (test /nope): missing key "nope"');
    refused(doc, [{ op: 'test', path: '/a/b/01', value: 1 }], 'patch operation 0 (test /a/b/01): invalid array index "01"');
    refused(doc, [{ op: 'test', path: '/a/b/2', value: 1 }], 'patch operation 0 (test /a/b/2): array index 2 out of range (upper bound 1)');
    refused(doc, [{ op: 'add', path: '/a/b/3', value: 1 }], 'patch operation 0 (add /a/b/3): array index 3 out of range (upper bound 2)');
    refused(doc, [{ op: 'remove', path: '/a/b/2' }], 'patch operation 0 (remove /a/b/2): array index 2 out of range (upper bound 1)');
    refused(doc, [{ op: 'add', path: '/x/y', value: 1 }], 'patch operation 0 (add /x/y): parent "x" does not exist');
    refused(doc, [{ op: 'add', path: '/s/y', value: 1 }], 'patch operation 0 (add /s/y): parent "s" is not an object or array');
    refused(doc, [{ op: 'remove', path: '/nope' }], 'patch operation 0 (remove /nope): missing key "nope"');
    refused(doc, [{ op: 'replace', path: '/nope', value: 1 }], 'patch operation 0 (replace /nope): missing key "nope"');
    refused(doc, [{ op: 'remove', path: '' }], 'patch operation 0 (remove ): cannot remove the document root');
    refused('scalar', [{ op: 'add', path: '/a', value: 1 }], 'patch operation 0 (add /a): the document root is not an object or array');
    refused(null, [{ op: 'add', path: '/a', value: 1 }], 'patch operation 0 (add /a): the document root is not an object or array');
    refused(doc, [{ op: 'add', path: '/a/b/2/x', value: 1 }], 'patch operation 0 (add /a/b/2/x): array index 2 out of range (upper bound 1)');
    refused(doc, [{ op: 'add', path: '/a/b/01/x', value: 1 }], 'patch operation 0 (add /a/b/01/x): invalid array index "01"');
    refused(doc, [{ op: 'move', from: '/a', path: '/a/c' }], 'patch operation 0 (move /a/c): cannot move a value into itself');
    refused(doc, [{ op: 'test', path: '/s', value: 'y' }], 'patch operation 0 (test /s): test failed');
    refused(
      doc,
      [
        { op: 'add', path: '/c', value: 1 },
        { op: 'remove', path: '/d' },
      ],
      'patch operation 1 (remove /d): missing key "d"',
    );
  });
});

describe('applyPatch results', () => {
  test('each operation, on a frozen input that is left as it was', () => {
    const doc = deepFreeze({ a: { b: [1, 2] }, s: 'x' });
    const out = applyPatch(doc, [
      { op: 'add', path: '/a/b/-', value: 3 },
      { op: 'add', path: '/a/b/0', value: 0 },
      { op: 'replace', path: '/s', value: 'y' },
      { op: 'copy', from: '/a', path: '/c' },
      { op: 'add', path: '/c/b/0', value: 'copied' },
      { op: 'move', from: '/s', path: '/t' },
      { op: 'remove', path: '/a/b/1' },
      { op: 'test', path: '/t', value: 'y' },
    ] as AnyPatchOp[]);
    assert.deepEqual(out, { a: { b: [0, 2, 3] }, c: { b: ['copied', 0, 1, 2, 3] }, t: 'y' });
    assert.deepEqual(doc, { a: { b: [1, 2] }, s: 'x' });
  });

  test('a move deeper into a sibling of its source is not a move into itself', () => {
    const doc = deepFreeze({ a: { b: 1, c: {} } });
    assert.deepEqual(applyPatch(doc, [{ op: 'move', from: '/a/b', path: '/a/c/d' }]), { a: { c: { d: 1 } } });
  });

  test('an element of an array on the way to the target is written through, the input left as it was', () => {
    const doc = deepFreeze({ l: [{ x: 1 }, { x: 2 }] });
    assert.deepEqual(applyPatch(doc, [{ op: 'add', path: '/l/1/y', value: 3 }]), { l: [{ x: 1 }, { x: 2, y: 3 }] });
    assert.deepEqual(doc, { l: [{ x: 1 }, { x: 2 }] });
  });

  test('the empty path replaces the whole document; a move to where it is moves nothing', () => {
    assert.deepEqual(applyPatch({ a: 1 }, [{ op: 'replace', path: '', value: [1] }] as AnyPatchOp[]), [1]);
    assert.deepEqual(applyPatch({ a: { b: 1 } }, [{ op: 'move', from: '/a', path: '/a' }] as AnyPatchOp[]), { a: { b: 1 } });
    assert.deepEqual(applyPatch([[1]], [{ op: 'replace', path: '/0/0', value: 2 }] as AnyPatchOp[]), [[2]]);
  });
});
