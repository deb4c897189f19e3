import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeFragment, encodeFragment, type PlaygroundState } from './playground-fragment.ts';

const state = fc.record({
  profiles: fc.string({ unit: 'grapheme', maxLength: 200 }),
  workload: fc.string({ unit: 'binary-ascii', maxLength: 200 }),
  context: fc.record({ kubeVersion: fc.string(), namespace: fc.string(), labels: fc.string(), unknownProfiles: fc.constantFrom('', 'admit', 'deny') }),
}) satisfies fc.Arbitrary<PlaygroundState>;

test('a state round-trips through the fragment, which is URL-safe as it is', () => {
  fc.assert(
    fc.property(state, (s) => {
      const f = encodeFragment(s);
      assert.match(f, /^#s=[A-Za-z0-9_-]*$/);
      // fast-check's records have no prototype; compare as plain JSON.
      const plain = JSON.parse(JSON.stringify(s));
      assert.deepEqual(decodeFragment(f), plain);
      assert.deepEqual(decodeFragment(f.slice(1)), plain);
    }),
    { numRuns: 300 },
  );
});

test('a large state round-trips too', () => {
  const s: PlaygroundState = {
    profiles: 'é'.repeat(300_000),
    workload: 'x\n'.repeat(100_000),
    context: { kubeVersion: '1.30', namespace: 'a', labels: '', unknownProfiles: '' },
  };
  assert.deepEqual(decodeFragment(encodeFragment(s)), s);
});

test('a fragment that is not a state gives undefined, not an error', () => {
  for (const f of ['', '#', '#other', '#s=', '#s=!!!', `#s=${btoa('not json')}`, `#s=${btoa('{"v":2}')}`, `#s=${btoa('null')}`, '#s=_w'])
    assert.equal(decodeFragment(f), undefined, f);
});

test('missing or mistyped fields read as empty', () => {
  const f = `#s=${btoa(JSON.stringify({ v: 1, profiles: 3, context: { kubeVersion: '1.29', labels: null } })).replace(/=+$/, '')}`;
  assert.deepEqual(decodeFragment(f), { profiles: '', workload: '', context: { kubeVersion: '1.29', namespace: '', labels: '', unknownProfiles: '' } });
});
