/** RFC 6901 pointers: escaping in the right order, and parsing back. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeToken, parsePointer, pointer, unescapeToken } from './pointer.ts';

test('"~" is escaped before "/", so every key round-trips', () => {
  assert.equal(escapeToken('plain'), 'plain');
  assert.equal(escapeToken('example.com/role'), 'example.com~1role');
  assert.equal(escapeToken('a~b'), 'a~0b');
  assert.equal(escapeToken('~/'), '~0~1');
  assert.equal(unescapeToken('~01'), '~1', 'not "/": ~0 is undone after ~1');
  for (const k of ['plain', 'a/b', 'a~b', '~1', '~0', '/~', '']) assert.equal(unescapeToken(escapeToken(k)), k);
});

test('pointer joins tokens, numbers as they are', () => {
  assert.equal(pointer([]), '');
  assert.equal(pointer(['metadata', 'labels', 'example.com/role']), '/metadata/labels/example.com~1role');
  assert.equal(pointer(['spec', 'containers', 0, 'env', '-']), '/spec/containers/0/env/-');
  assert.equal(pointer(['']), '/');
});

test('parsePointer splits and unescapes; the empty pointer is the whole document; no leading "/" is an error', () => {
  assert.deepEqual(parsePointer(''), []);
  assert.deepEqual(parsePointer('/'), ['']);
  assert.deepEqual(parsePointer('/a//b/'), ['a', '', 'b', '']);
  assert.deepEqual(parsePointer('/metadata/annotations/outrigger.dev~1status'), ['metadata', 'annotations', 'outrigger.dev/status']);
  assert.deepEqual(parsePointer(pointer(['x~y', 'a/b', 3])), ['x~y', 'a/b', '3']);
  assert.throws(() => parsePointer('a/b'), { message: 'JSON pointer "a/b" must start with "/"' });
});
