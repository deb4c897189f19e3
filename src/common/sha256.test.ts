import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { sha256Hex } from './sha256.ts';

const node = (s: string) => createHash('sha256').update(s).digest('hex');

test('sha256Hex: the FIPS 180-2 examples', () => {
  assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
});

test('sha256Hex: the same digest as node:crypto, at every length around the block edges and on any text', () => {
  for (let n = 0; n < 200; n++) assert.equal(sha256Hex('é'.repeat(n % 7) + 'x'.repeat(n)), node('é'.repeat(n % 7) + 'x'.repeat(n)), `length ${n}`);
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => sha256Hex(s) === node(s)),
    { numRuns: 500 },
  );
});
