import assert from 'node:assert/strict';
import { test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import { profileSet } from './profile.ts';

const loaded = profilesFromYaml(
  [
    profileYaml('b', { version: '1', order: 10, containers: [{ name: 'b', image: 'b:1' }] }),
    profileYaml('c', { version: '1', order: 10, containers: [{ name: 'c', image: 'c:1' }] }),
    profileYaml('a', { version: '1', order: 10, containers: [{ name: 'a', image: 'a:1' }] }),
    profileYaml('z', { version: '1', order: 1, containers: [{ name: 'z', image: 'z:1' }] }),
    profileYaml('d', { version: '1', order: 10, containers: [{ name: 'd', image: 'd:1' }] }),
  ].join('\n---\n'),
).profiles;

const permutations = <T>(xs: readonly T[]): T[][] =>
  xs.length <= 1 ? [[...xs]] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));

test('profileSet orders profiles by order, then by name, whatever order they come in', () => {
  for (const given of permutations(loaded)) {
    const set = profileSet(given);
    assert.deepEqual(
      set.profiles.map((p) => p.name),
      ['z', 'a', 'b', 'c', 'd'],
      given.map((p) => p.name).join(','),
    );
  }
});

test('profileSet finds each profile by name, and is frozen', () => {
  const set = profileSet(loaded);
  for (const p of loaded) assert.equal(set.byName.get(p.name), p);
  assert.equal(set.byName.size, 5);
  assert.equal(Object.isFrozen(set), true);
  assert.equal(Object.isFrozen(set.profiles), true);
});
