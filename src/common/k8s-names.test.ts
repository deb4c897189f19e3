import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { dns1123Label, glob, globList, MAX_GLOB_LENGTH, matchesByNfa, matchesGlob } from './k8s-names.ts';

/** The glob meaning, written the obvious (exponential) way, for short inputs only. */
function reference(g: string, name: string): boolean {
  if (g === '') return name === '';
  if (g[0] === '*') return reference(g.slice(1), name) || (name !== '' && reference(g, name.slice(1)));
  return name !== '' && (g[0] === '?' || g[0] === name[0]) && reference(g.slice(1), name.slice(1));
}

test('globs match as documented', () => {
  const cases: [string, string, boolean][] = [
    ['*', 'app', true],
    ['*', '', false],
    ['app', 'app', true],
    ['app', 'apps', false],
    ['app-*', 'app-main', true],
    ['app-*', 'app-0', true],
    ['app-*', 'app-', false],
    ['*', 'App', false],
    ['*', 'a'.repeat(64), false],
    ['*', 'a'.repeat(63), true],
    [`${'*'.repeat(31)}?${'a'.repeat(31)}`, 'b'.repeat(32) + 'a'.repeat(31), true],
    [`${'a?'.repeat(31)}a`, `${'ab'.repeat(31)}a`, true],
    [`${'a?'.repeat(31)}a`, `${'ab'.repeat(31)}b`, false],
    ['app-*', 'ap-main', false],
    ['*-proxy', 'envoy-proxy', true],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['*a*b', 'xaxxbab', true],
    ['*a*b', 'xaxxba', false],
    ['**', 'x', true],
  ];
  for (const [g, name, want] of cases) {
    assert.equal(matchesGlob(g, name), want, `${g} vs ${name}`);
    assert.equal(matchesByNfa(g, name), want, `${g} vs ${name} (NFA)`);
  }
});

test('matching agrees with the reference meaning', () => {
  const chars = fc.constantFrom('a', 'b', '-', '*', '?');
  fc.assert(
    fc.property(fc.string({ unit: chars, maxLength: 8 }), fc.string({ unit: fc.constantFrom('a', 'b', '-'), maxLength: 10 }), (g, name) => {
      const want = dns1123Label(name) === undefined && reference(g, name);
      assert.equal(matchesGlob(g, name), want);
      assert.equal(matchesByNfa(g, name), want);
    }),
    { seed: 20261202, numRuns: 3000 },
  );
});

test('long globs agree with the reference meaning across both halves of the state mask', () => {
  // Few stars keep the reference fast; lengths around 32 and 63 cross the boundary between halves.
  const unit = fc.constantFrom('a', 'a', 'a', 'b', '?', '*');
  fc.assert(
    fc.property(
      fc.string({ unit, minLength: 28, maxLength: MAX_GLOB_LENGTH }),
      fc.string({ unit: fc.constantFrom('a', 'b'), minLength: 28, maxLength: 63 }),
      (g, name) => {
        fc.pre((g.match(/\*/g) ?? []).length <= 3);
        const want = reference(g, name);
        assert.equal(matchesGlob(g, name), want);
        assert.equal(matchesByNfa(g, name), want);
      },
    ),
    { seed: 20261202, numRuns: 1000 },
  );
});

test('names that are no container name match nothing, and cost nothing however long', () => {
  const list = globList([`*${'a'.repeat(60)}b`, '*']);
  assert.equal(list.test('a'.repeat(100_000)), false);
  assert.equal(list.test('app'), true);
  assert.equal(list.test('-app'), false);
  assert.equal(globList([]).test('app'), false);
});

test('a glob is at most as long as a container name', () => {
  assert.equal(glob('*'.repeat(MAX_GLOB_LENGTH)), undefined);
  assert.equal(glob('*'.repeat(MAX_GLOB_LENGTH + 1)), `must be no more than ${MAX_GLOB_LENGTH} characters`);
});
