/**
 * inject() on paths the scenario tests pass by: null metadata put back on uninject, a pod whose
 * containers cost too many glob matches, the decision's reasons and messages word for word.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import { deepEqual, type JsonObject } from '../common/json.ts';
import { inject } from './inject.ts';
import { applyPatch } from './patch-apply.ts';
import { readStatus } from './status.ts';
import { uninject } from './uninject.ts';

const ctx = { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } };
const agent = (name: string, extra: object = {}) =>
  profileYaml(name, { version: '1', sidecarMode: 'classic', containers: [{ name, image: `example.com/${name}:1` }], ...extra });
const set = (...docs: string[]) => profilesFromYaml(docs.join('\n---\n'));
const withAnnotation = (pod: JsonObject, value: string): JsonObject => ({
  ...pod,
  metadata: {
    ...((pod.metadata ?? {}) as JsonObject),
    annotations: { ...(((pod.metadata as JsonObject | null)?.annotations ?? {}) as JsonObject), 'outrigger.dev/inject': value },
  },
});

function roundTrip(pod: JsonObject, profiles = set(agent('a'))) {
  const d = inject(pod, profiles, ctx);
  assert.equal(d.outcome, 'injected', d.message);
  assert.ok(deepEqual(applyPatch(pod, d.patch), d.pod), 'the patch gives the pod');
  const u = uninject(d.pod);
  assert.ok(u.ok);
  assert.deepEqual(u.pod, pod, 'uninject gives the original back');
  return d;
}

describe('what injection creates is taken away again exactly', () => {
  test('a pod selected by a profile with no annotations at all: metadata.annotations is created, then removed', () => {
    const profiles = set(agent('a', { selector: { podSelector: { matchLabels: { app: 'x' } } } }));
    const pod: JsonObject = { metadata: { name: 'p', labels: { app: 'x' } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } };
    const d = roundTrip(pod, profiles);
    assert.deepEqual(readStatus(d.pod).status?.created, ['metadata.annotations']);
  });

  test('annotations: null (a YAML key with no value) comes back as null', () => {
    const profiles = set(agent('a', { selector: { podSelector: { matchLabels: { app: 'x' } } } }));
    const pod: JsonObject = { metadata: { name: 'p', labels: { app: 'x' }, annotations: null }, spec: { containers: [{ name: 'app', image: 'app:1' }] } };
    const d = roundTrip(pod, profiles);
    assert.deepEqual(readStatus(d.pod).status?.created, ['metadata.annotations=null']);
  });

  test('no metadata, and metadata: null, with a namespace-selected profile', () => {
    const profiles = set(agent('a', { selector: { namespaceSelector: { matchLabels: { team: 't' } } } }));
    const c = { ...ctx, namespaceLabels: { team: 't' } };
    for (const [pod, created] of [
      [{ spec: { containers: [{ name: 'app', image: 'app:1' }] } }, ['metadata', 'metadata.annotations']],
      [{ metadata: null, spec: { containers: [{ name: 'app', image: 'app:1' }] } }, ['metadata=null', 'metadata.annotations']],
    ] as [JsonObject, string[]][]) {
      const d = inject(pod, profiles, c);
      assert.equal(d.outcome, 'injected', d.message);
      assert.deepEqual(readStatus(d.pod).status?.created, created);
      const u = uninject(d.pod);
      assert.ok(u.ok);
      assert.deepEqual(u.pod, pod);
    }
  });
});

describe('too many glob matches for one pod: every profile fails before any work', () => {
  // 257 containers against 64 target globs is 16,448 checks: over the 16,384 bound.
  const globs = Array.from({ length: 64 }, (_, i) => `app-${i}*`);
  const targeting = (name: string, failurePolicy: string) => agent(name, { failurePolicy, env: [{ name: 'X', value: '1' }], targets: globs });
  const podWith = (n: number): JsonObject =>
    withAnnotation({ metadata: { name: 'p' }, spec: { containers: Array.from({ length: n }, (_, i) => ({ name: `c${i}`, image: 'i' })) } }, 'strict, soft');

  test('a failurePolicy fail profile among them denies the pod, naming every profile', () => {
    const d = inject(podWith(257), set(targeting('strict', 'fail'), targeting('soft', 'ignore')), ctx);
    assert.equal(d.outcome, 'denied');
    assert.equal(d.reason, 'invalid-result');
    const detail =
      "matching the pod's containers against the profiles' targets globs takes 32896 checks, more than the 16384 Outrigger does for one pod (fewer containers or fewer globs)";
    assert.equal(d.message, `cannot inject soft, strict: ${detail}`);
    assert.deepEqual(
      d.profiles.map((p) => [p.profile, p.reason, p.message, p.version]),
      [
        ['soft', 'invalid-result', `profile "soft" cannot be injected: ${detail}`, '1'],
        ['strict', 'invalid-result', `profile "strict" cannot be injected: ${detail}`, '1'],
      ],
    );
    assert.deepEqual(d.warnings, [`profile "soft" cannot be injected: ${detail} (the pod is admitted without it: failurePolicy ignore)`]);
    assert.deepEqual(d.patch, []);
  });

  test('only failurePolicy ignore profiles: admitted unchanged, with the warning', () => {
    const d = inject(podWith(257), set(targeting('soft', 'ignore'), agent('strict', { failurePolicy: 'ignore' })), ctx);
    assert.equal(d.outcome, 'unchanged');
    assert.equal(d.reason, 'invalid-result');
  });

  test('at the bound exactly, the profiles are injected', () => {
    const d = inject(podWith(256), set(targeting('strict', 'fail'), agent('soft')), ctx);
    assert.equal(d.outcome, 'injected', d.message);
  });
});

describe('decisions in words', () => {
  const p = (annotations?: Record<string, string>): JsonObject => ({
    metadata: { name: 'p', ...(annotations ? { annotations } : {}) },
    spec: { containers: [{ name: 'app', image: 'app:1' }] },
  });

  test('nothing requested, opted out, or only unknown names: unchanged, with the reason of the first problem', () => {
    const profiles = set(agent('a'));
    const none = inject(p(), profiles, ctx);
    assert.deepEqual(
      [none.outcome, none.reason, none.message],
      ['unchanged', 'nothing-requested', 'No profile was requested by the outrigger.dev/inject annotation or selected by a profile selector.'],
    );
    const out = inject(p({ 'outrigger.dev/inject': 'false' }), profiles, ctx);
    assert.deepEqual([out.outcome, out.reason], ['unchanged', 'opted-out']);
    const unknown = inject(p({ 'outrigger.dev/inject': 'nope' }), profiles, ctx);
    assert.deepEqual(
      [unknown.outcome, unknown.reason, unknown.message],
      ['unchanged', 'unknown-profile', 'outrigger.dev/inject requests profile "nope", which does not exist'],
    );
  });

  test('injected: the headline names what was injected; an injected pod asked again is already injected', () => {
    const profiles = set(agent('a'), agent('b'));
    const d = inject(p({ 'outrigger.dev/inject': 'b, a' }), profiles, ctx);
    assert.equal(d.outcome, 'injected');
    assert.equal(d.reason, 'injected');
    assert.equal(d.message, 'injected a@1, b@1');
    assert.deepEqual(
      d.profiles.map((o) => [o.profile, o.reason, o.message]),
      [
        ['a', 'injected', 'profile "a" injected at version 1'],
        ['b', 'injected', 'profile "b" injected at version 1'],
      ],
    );
    const again = inject(d.pod, profiles, ctx);
    assert.deepEqual(
      [again.outcome, again.reason, again.message, again.patch],
      ['unchanged', 'already-injected', 'The pod already carries this profile at its current version; nothing to do.', []],
    );
    assert.deepEqual(
      again.profiles.map((o) => o.message),
      ['profile "a" is already injected at version 1', 'profile "b" is already injected at version 1'],
    );
  });
});
