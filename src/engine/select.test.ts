/** Profile selection on its own: label selectors operator by operator, and the inject annotation. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import type { JsonObject } from '../common/json.ts';
import type { LabelSelector } from './profile.ts';
import { MAX_REQUESTED, matchesSelector, selectProfiles } from './select.ts';

const expr = (operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist', values?: string[]): LabelSelector => ({
  matchExpressions: [{ key: 'tier', operator, ...(values ? { values } : {}) }],
});

describe('matchesSelector, each operator on a present and an absent label', () => {
  const present = { tier: 'web', other: 'x' };
  const absent = { other: 'x' };

  test('In: the label must be there with one of the values', () => {
    assert.equal(matchesSelector(expr('In', ['web', 'api']), present), true);
    assert.equal(matchesSelector(expr('In', ['api']), present), false);
    assert.equal(matchesSelector(expr('In', ['web']), absent), false);
  });

  test('NotIn: an absent label matches; a present one only with none of the values', () => {
    assert.equal(matchesSelector(expr('NotIn', ['api']), present), true);
    assert.equal(matchesSelector(expr('NotIn', ['api', 'web']), present), false);
    assert.equal(matchesSelector(expr('NotIn', ['web']), absent), true);
  });

  test('Exists: the label must be there, whatever its value (the empty string too)', () => {
    assert.equal(matchesSelector(expr('Exists'), present), true);
    assert.equal(matchesSelector(expr('Exists'), { tier: '' }), true);
    assert.equal(matchesSelector(expr('Exists'), absent), false);
  });

  test('DoesNotExist: the label must not be there, not even empty', () => {
    assert.equal(matchesSelector(expr('DoesNotExist'), absent), true);
    assert.equal(matchesSelector(expr('DoesNotExist'), present), false);
    assert.equal(matchesSelector(expr('DoesNotExist'), { tier: '' }), false);
  });

  test('a key of Object.prototype is no label', () => {
    const proto: LabelSelector = { matchExpressions: [{ key: 'constructor', operator: 'Exists' }] };
    assert.equal(matchesSelector(proto, {}), false);
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'toString', operator: 'DoesNotExist' }] }, {}), true);
    assert.equal(matchesSelector({ matchLabels: { constructor: 'x' } }, {}), false);
  });

  test('matchLabels and every expression must all hold; an empty selector matches everything', () => {
    const sel: LabelSelector = { matchLabels: { other: 'x' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] };
    assert.equal(matchesSelector(sel, present), true);
    assert.equal(matchesSelector(sel, absent), false);
    assert.equal(matchesSelector(sel, { tier: 'web', other: 'y' }), false);
    assert.equal(matchesSelector({ matchLabels: { other: 'x', tier: 'web' } }, present), true);
    assert.equal(matchesSelector({}, {}), true);
    assert.equal(matchesSelector({ matchExpressions: [] }, absent), true);
  });
});

const set = profilesFromYaml(
  [
    profileYaml('a', {
      version: '1',
      containers: [{ name: 'a', image: 'a' }],
      order: 2,
    }),
    profileYaml('b', {
      version: '1',
      containers: [{ name: 'b', image: 'b' }],
      order: 1,
    }),
    profileYaml('web-only', {
      version: '1',
      containers: [{ name: 'w', image: 'w' }],
      selector: { podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] } },
    }),
    profileYaml('strict-ns', {
      version: '1',
      containers: [{ name: 's', image: 's' }],
      mandatory: true,
      selector: { namespaceSelector: { matchLabels: { compliance: 'strict' } } },
    }),
  ].join('\n---\n'),
);
const podOf = (annotations?: Record<string, string>, labels?: Record<string, string>): JsonObject => ({
  metadata: { ...(annotations ? { annotations } : {}), ...(labels ? { labels } : {}) },
});
const names = (s: ReturnType<typeof selectProfiles>) => s.profiles.map((p) => p.name);

describe('selectProfiles', () => {
  test('no annotation and no matching selector: nothing, and no warnings', () => {
    const s = selectProfiles(podOf(), set, {});
    assert.deepEqual(s, { profiles: [], skipped: [], warnings: [], optedOut: false });
  });

  test('names are trimmed, empty parts and repeats ignored, and profiles come in set order', () => {
    assert.deepEqual(names(selectProfiles(podOf({ 'outrigger.dev/inject': ' a ,, b , a,' }), set, {})), ['b', 'a']);
  });

  test('"true" and "false" are not names, in any case; "false" opts out', () => {
    for (const v of ['true', 'TRUE', ' True ']) {
      const s = selectProfiles(podOf({ 'outrigger.dev/inject': v }), set, {});
      assert.deepEqual([names(s), s.skipped, s.optedOut], [[], [], false], v);
    }
    for (const v of ['false', 'FALSE', ' False ']) assert.equal(selectProfiles(podOf({ 'outrigger.dev/inject': v }), set, {}).optedOut, true, v);
  });

  test('an unknown name and a malformed one are skipped with their reasons, and warned about', () => {
    const s = selectProfiles(podOf({ 'outrigger.dev/inject': 'a, nope, Not_A_Name' }), set, {});
    assert.deepEqual(names(s), ['a']);
    assert.deepEqual(s.skipped, [
      { profile: 'nope', reason: 'unknown-profile', message: 'outrigger.dev/inject requests profile "nope", which does not exist' },
      { profile: 'Not_A_Name', reason: 'invalid-annotation', message: 'outrigger.dev/inject: "Not_A_Name" is not a profile name' },
    ]);
    assert.deepEqual(
      s.warnings,
      s.skipped.map((x) => x.message),
    );
  });

  test('a malformed name is cut to 63 characters as the profile, 100 in the message', () => {
    const long = 'X'.repeat(200);
    const [s] = selectProfiles(podOf({ 'outrigger.dev/inject': long }), set, {}).skipped;
    assert.equal(s?.profile, 'X'.repeat(63));
    assert.equal(s?.message, `outrigger.dev/inject: "${'X'.repeat(100)}" is not a profile name`);
  });

  test(`at most ${MAX_REQUESTED} distinct names are read; the rest are ignored with one message`, () => {
    const exactly = Array.from({ length: MAX_REQUESTED }, (_, i) => `p${i}`);
    const within = selectProfiles(podOf({ 'outrigger.dev/inject': [...exactly, 'p0'].join(',') }), set, {});
    assert.equal(within.skipped.length, MAX_REQUESTED);
    assert.ok(within.skipped.every((x) => x.reason === 'unknown-profile'));
    const over = selectProfiles(podOf({ 'outrigger.dev/inject': [...exactly, 'a'].join(',') }), set, {});
    assert.deepEqual(names(over), []);
    assert.equal(over.skipped.length, MAX_REQUESTED + 1);
    assert.deepEqual(over.skipped.at(-1), {
      profile: '*',
      reason: 'invalid-annotation',
      message: 'outrigger.dev/inject names more than 64 profiles; the rest are ignored',
    });
  });

  test('an annotation longer than the annotation limit is ignored as a whole; at the limit it is read', () => {
    const at = `a,${' '.repeat(262_144 - 2)}`;
    assert.deepEqual(names(selectProfiles(podOf({ 'outrigger.dev/inject': at }), set, {})), ['a']);
    const s = selectProfiles(podOf({ 'outrigger.dev/inject': `a,${'x'.repeat(262_144 - 1)}` }), set, {});
    assert.deepEqual(names(s), []);
    assert.deepEqual(s.skipped, [
      {
        profile: '*',
        reason: 'invalid-annotation',
        message: 'outrigger.dev/inject is longer than the 256 KiB the API server allows for all annotations together; it is ignored',
      },
    ]);
  });

  test('selectors: pod labels for podSelector, namespace labels for namespaceSelector', () => {
    assert.deepEqual(names(selectProfiles(podOf(undefined, { tier: 'web' }), set, {})), ['web-only']);
    assert.deepEqual(names(selectProfiles(podOf(undefined, { tier: 'api' }), set, {})), []);
    // Namespace labels never stand in for pod labels, nor the reverse.
    assert.deepEqual(names(selectProfiles(podOf(undefined, { compliance: 'strict' }), set, { tier: 'web' })), []);
    assert.deepEqual(names(selectProfiles(podOf(), set, { compliance: 'strict' })), ['strict-ns']);
  });

  test('opting out drops every profile that is not mandatory, requested or selected, and warns about the mandatory ones', () => {
    const s = selectProfiles(podOf({ 'outrigger.dev/inject': 'false' }, { tier: 'web' }), set, { compliance: 'strict' });
    assert.deepEqual(names(s), ['strict-ns']);
    assert.equal(s.optedOut, true);
    assert.deepEqual(s.skipped, [
      { profile: 'web-only', reason: 'opted-out', message: 'profile "web-only" not injected: the pod opted out with outrigger.dev/inject: "false"' },
    ]);
    // Opting out is not warned about; the mandatory profile that still applies is.
    assert.deepEqual(s.warnings, ['profile "strict-ns" is mandatory: outrigger.dev/inject: "false" does not apply to it']);
  });

  test('a profile both requested and selected comes once', () => {
    assert.deepEqual(names(selectProfiles(podOf({ 'outrigger.dev/inject': 'web-only' }, { tier: 'web' }), set, {})), ['web-only']);
  });

  test('non-string annotations and labels are ignored', () => {
    const pod: JsonObject = { metadata: { annotations: { 'outrigger.dev/inject': 3 }, labels: { tier: ['web'] } } };
    assert.deepEqual(selectProfiles(pod, set, {}), { profiles: [], skipped: [], warnings: [], optedOut: false });
  });
});
