import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { glob, MAX_GLOB_LENGTH, matchesGlob } from './k8s-names.ts';

/** The glob meaning, written the obvious (exponential) way, for short inputs only. */
function reference(g: string, name: string): boolean {
  if (g === '') return name === '';
  if (g[0] === '*') return reference(g.slice(1), name) || (name !== '' && reference(g, name.slice(1)));
  return name !== '' && (g[0] === '?' || g[0] === name[0]) && reference(g.slice(1), name.slice(1));
}

test('globs match as documented', () => {
  const cases: [string, string, boolean][] = [
    ['*', 'app', true],
    ['*', '', true],
    ['app', 'app', true],
    ['app', 'apps', false],
    ['app-*', 'app-main', true],
    ['app-*', 'app-', true],
    ['app-*', 'ap-main', false],
    ['*-proxy', 'envoy-proxy', true],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['*a*b', 'xaxxbab', true],
    ['*a*b', 'xaxxba', false],
    ['**', 'x', true],
  ];
  for (const [g, name, want] of cases) assert.equal(matchesGlob(g, name), want, `${g} vs ${name}`);
});

test('matching agrees with the reference meaning', () => {
  const chars = fc.constantFrom('a', 'b', '-', '*', '?');
  fc.assert(
    fc.property(fc.string({ unit: chars, maxLength: 8 }), fc.string({ unit: fc.constantFrom('a', 'b', '-'), maxLength: 10 }), (g, name) => {
      assert.equal(matchesGlob(g, name), reference(g, name));
    }),
    { seed: 20261202, numRuns: 3000 },
  );
});

test('a glob is at most as long as a container name', () => {
  assert.equal(glob('*'.repeat(MAX_GLOB_LENGTH)), undefined);
  assert.equal(glob('*'.repeat(MAX_GLOB_LENGTH + 1)), `must be no more than ${MAX_GLOB_LENGTH} characters`);
});
