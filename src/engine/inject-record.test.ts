/** inject() with a status record that cannot be read, and with one from an older profile version: the whole decision. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import type { JsonObject } from '../common/json.ts';
import { inject } from './inject.ts';

const ctx = { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } };
const profile = (name: string, extra: object = {}) =>
  profileYaml(name, { version: '1', sidecarMode: 'classic', containers: [{ name, image: `example.com/${name}:1` }], ...extra });
const podWith = (annotations: Record<string, string>, labels: Record<string, string> = {}): JsonObject => ({
  metadata: { name: 'p', labels, annotations },
  spec: { containers: [{ name: 'app', image: 'app:1' }] },
});
const CORRUPT = 'outrigger.dev/status is not valid JSON';
const TOLD = `${CORRUPT}; remove the annotation or restore it from the injected pod`;

describe('a status record that cannot be read', () => {
  const set = profilesFromYaml([profile('strict'), profile('soft', { failurePolicy: 'ignore' })].join('\n---\n'));

  test('with a failurePolicy fail profile asked for: denied, every asked profile told why, skipped ones kept', () => {
    const d = inject(podWith({ 'outrigger.dev/status': '{', 'outrigger.dev/inject': 'soft, strict, nope' }), set, ctx);
    assert.deepEqual([d.outcome, d.reason, d.message, d.patch], ['denied', 'invalid-annotation', TOLD, []]);
    assert.deepEqual(d.profiles, [
      { profile: 'nope', reason: 'unknown-profile', message: 'outrigger.dev/inject requests profile "nope", which does not exist' },
      { profile: 'soft', reason: 'invalid-annotation', message: TOLD, version: '1' },
      { profile: 'strict', reason: 'invalid-annotation', message: TOLD, version: '1' },
    ]);
    assert.deepEqual(d.warnings, ['outrigger.dev/inject requests profile "nope", which does not exist']);
  });

  test('with only failurePolicy ignore profiles: admitted unchanged, with the warning', () => {
    const pod = podWith({ 'outrigger.dev/status': '{', 'outrigger.dev/inject': 'soft' });
    const d = inject(pod, set, ctx);
    assert.deepEqual([d.outcome, d.reason, d.message], ['unchanged', 'invalid-annotation', TOLD]);
    assert.deepEqual(d.warnings, [`${TOLD} (admitted without injection: failurePolicy ignore)`]);
    assert.equal(d.pod, pod);
  });

  test('with no profile that applies: unchanged as nothing-requested or opted-out, the problem only warned about', () => {
    const none = inject(podWith({ 'outrigger.dev/status': '{' }), set, ctx);
    assert.deepEqual([none.outcome, none.reason, none.profiles, none.warnings], ['unchanged', 'nothing-requested', [], [CORRUPT]]);
    assert.equal(none.message, 'No profile was requested by the outrigger.dev/inject annotation or selected by a profile selector.');
    const out = inject(podWith({ 'outrigger.dev/status': '{', 'outrigger.dev/inject': 'false' }), set, ctx);
    assert.deepEqual([out.outcome, out.reason, out.warnings], ['unchanged', 'opted-out', [CORRUPT]]);
  });
});

describe('a pod injected with an older version of a profile', () => {
  const v1 = profilesFromYaml(profile('agent', { version: '1' }));
  const v2 = profilesFromYaml(profileYaml('agent', { version: '2', sidecarMode: 'classic', containers: [{ name: 'agent', image: 'example.com/agent:2' }] }));

  test('is updated: the reason and message say from which version to which, and the record holds the new hash', () => {
    const first = inject(podWith({ 'outrigger.dev/inject': 'agent' }), v1, ctx);
    assert.equal(first.outcome, 'injected');
    const d = inject(first.pod, v2, ctx);
    assert.deepEqual([d.outcome, d.reason], ['injected', 'updated']);
    assert.deepEqual(d.profiles, [{ profile: 'agent', reason: 'updated', message: 'profile "agent" updated from version 1 to 2', version: '2' }]);
    assert.equal(d.message, 'injected agent@2');
    assert.deepEqual(
      ((d.pod.spec as JsonObject).containers as JsonObject[]).map((c) => c.image),
      ['app:1', 'example.com/agent:2'],
    );
    // And asked again, it is already injected.
    assert.equal(inject(d.pod, v2, ctx).reason, 'already-injected');
  });

  test('no longer asked for: the profile is removed, and the pod is as before injection', () => {
    const first = inject(podWith({ 'outrigger.dev/inject': 'agent' }), v1, ctx);
    const meta = first.pod.metadata as JsonObject;
    const unasked: JsonObject = { ...first.pod, metadata: { ...meta, annotations: { ...(meta.annotations as JsonObject), 'outrigger.dev/inject': 'false' } } };
    const d = inject(unasked, v1, ctx);
    assert.equal(d.outcome, 'injected');
    assert.equal(d.message, 'removed profiles that no longer apply');
    assert.deepEqual((d.pod.spec as JsonObject).containers, [{ name: 'app', image: 'app:1' }]);
    assert.equal(((d.pod.metadata as JsonObject).annotations as JsonObject)['outrigger.dev/status'], undefined);
  });
});

describe('a profile whose sidecar breaks a rule of the pod', () => {
  test('is blamed by name for what it introduced; a problem the pod already had is not', () => {
    const set = profilesFromYaml(
      [
        profile('good'),
        profileYaml('bad', {
          version: '1',
          sidecarMode: 'classic',
          containers: [{ name: 'bad', image: 'b:1', ports: [{ name: 'http', containerPort: 1, hostPort: 80 }] }],
        }),
      ].join('\n---\n'),
    );
    const pod: JsonObject = {
      metadata: { name: 'p', annotations: { 'outrigger.dev/inject': 'good, bad' } },
      spec: {
        containers: [
          { name: 'app', image: 'app:1', ports: [{ containerPort: 8080, hostPort: 80 }] },
          { name: 'Bad_Name', image: 'x' },
        ],
      },
    };
    const d = inject(pod, set, ctx);
    assert.equal(d.outcome, 'denied');
    assert.equal(d.reason, 'invalid-result');
    assert.deepEqual(
      d.profiles.find((p) => p.profile === 'bad'),
      {
        profile: 'bad',
        reason: 'invalid-result',
        message: 'profile "bad" cannot be injected: the API server would reject the pod: container "bad": hostPort 80/TCP is already used by another container',
        version: '1',
      },
    );
    assert.equal(
      d.message,
      'profile "bad" cannot be injected: the API server would reject the pod: container "bad": hostPort 80/TCP is already used by another container',
    );
    assert.ok(!d.message.includes('Bad_Name'), 'the pod’s own bad name is not blamed on the profile');
  });
});
