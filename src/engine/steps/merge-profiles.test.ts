/** The record-size limit's two attempts, at their last branch: the mandatory profiles alone are still too large. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../../test/support/profiles.ts';
import type { JsonObject } from '../../common/json.ts';
import { type InjectContext, inject } from '../inject.ts';
import { MAX_OBJECT_BYTES } from '../pod-size.ts';
import { renderBudget } from '../render.ts';
import { noNotes, RECORD_TOO_LARGE } from './decision.ts';
import { mergePlan, mergeWithinRecordLimit } from './merge-profiles.ts';

const v133 = { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } };
const pod = (n: number): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'many', annotations: { 'outrigger.dev/inject': 'agent, logs' } },
  spec: { containers: Array.from({ length: n }, (_, i) => ({ name: `app-${i}`, image: 'a' })) },
});
const set = profilesFromYaml(
  [
    profileYaml('agent', { version: '1', env: [{ name: 'AGENT', value: 'on' }], targets: ['app-*'] }),
    profileYaml('logs', { version: '1', failurePolicy: 'ignore', env: [{ name: 'LOG_DIR', value: '/var/log' }], targets: ['app-*'] }),
  ].join('\n---\n'),
);

test('when the failurePolicy fail profiles alone still make the record too large, the pod is denied and the dropped ones are noted', () => {
  const d = inject(pod(6000), set, v133);
  assert.equal(d.outcome, 'denied');
  assert.equal(d.reason, 'invalid-result');
  assert.match(d.message, /^cannot inject agent: the status record outrigger\.dev\/status would take/);
  assert.deepEqual(
    d.profiles.map((o) => [o.profile, o.reason]),
    [
      ['agent', 'invalid-result'],
      ['logs', 'invalid-result'],
    ],
  );
  assert.equal(d.warnings.length, 1);
  assert.match(d.warnings[0] ?? '', /^profile "logs" cannot be injected: the status record .* \(the pod is admitted without it: failurePolicy ignore\)$/);
  assert.deepEqual(d.patch, []);
});

const app = { name: 'app', image: 'a' };
const asking = (inject: string, spec: JsonObject): JsonObject => ({ metadata: { name: 'web', annotations: { 'outrigger.dev/inject': inject } }, spec });
const profiles = (...docs: [string, object][]) => profilesFromYaml(docs.map(([name, spec]) => profileYaml(name, { version: '1', ...spec })).join('\n---\n'));

test('when every profile has failurePolicy ignore and the record would be too large, the pod is admitted unchanged naming them all', () => {
  // A long env name makes each target's entry in the record long.
  const env = (name: string) => ({ failurePolicy: 'ignore', env: [{ name: name.repeat(2000), value: '1' }], targets: ['app-*'] });
  const d = inject(pod(150), profiles(['agent', env('A')], ['logs', env('L')]), v133);
  assert.deepEqual([d.outcome, d.reason], ['unchanged', 'invalid-result']);
  assert.equal(d.message, `cannot inject agent, logs: ${RECORD_TOO_LARGE}`);
  assert.deepEqual(
    d.warnings,
    ['agent', 'logs'].map((p) => `profile "${p}" cannot be injected: ${RECORD_TOO_LARGE} (the pod is admitted without it: failurePolicy ignore)`),
  );
  assert.deepEqual(d.patch, []);
});

test('sidecarMode native on a cluster without native sidecars matters only to a profile with sidecars', () => {
  const v128 = { ...v133, kubeVersion: { major: 1, minor: 28 } };
  const set = profiles(['agent', { sidecarMode: 'native', env: [{ name: 'AGENT', value: 'on' }] }]);
  const d = inject(asking('agent', { containers: [app] }), set, v128);
  assert.deepEqual([d.outcome, d.reason, d.message], ['injected', 'injected', 'injected agent@1']);
  const withSidecar = profiles(['agent', { sidecarMode: 'native', containers: [{ name: 'agent', image: 'example.com/agent:1' }] }]);
  const refused = inject(asking('agent', { containers: [app] }), withSidecar, v128);
  assert.deepEqual([refused.outcome, refused.reason], ['denied', 'unsupported-kube-version']);
});

test('an injection that would take the pod over the size the API server stores fails the profile', () => {
  const big = asking('agent', { containers: [{ ...app, args: ['x'.repeat(MAX_OBJECT_BYTES - 1000)] }] });
  const d = inject(big, profiles(['agent', { env: [{ name: 'AGENT', value: 'v'.repeat(2000) }] }]), v133);
  assert.deepEqual([d.outcome, d.reason], ['denied', 'invalid-result']);
  assert.match(d.message, /^profile "agent" cannot be injected: the pod would be about \d+ bytes as JSON, more than the 1572864 the API server stores/);
});

test('an update says which profiles are already injected and which were updated from which version', () => {
  const v1 = profiles(['agent', { env: [{ name: 'AGENT', value: 'on' }] }], ['logs', { env: [{ name: 'LOG_DIR', value: '/var/log' }] }]);
  const first = inject(asking('agent, logs', { containers: [app] }), v1, v133);
  assert.equal(first.outcome, 'injected', first.message);
  const v2 = profiles(['agent', { env: [{ name: 'AGENT', value: 'on' }] }], ['logs', { version: '2', env: [{ name: 'LOG_DIR', value: '/logs' }] }]);
  const d = inject(first.pod, v2, v133);
  assert.deepEqual([d.outcome, d.reason], ['injected', 'updated']);
  assert.deepEqual(d.profiles, [
    { profile: 'agent', reason: 'already-injected', message: 'profile "agent" is already injected at version 1', version: '1' },
    { profile: 'logs', reason: 'updated', message: 'profile "logs" updated from version 1 to 2', version: '2' },
  ]);
});

describe('validating the merged pod', () => {
  const mounts = (...names: string[]) => ({ failurePolicy: 'ignore', volumeMounts: names.map((n) => ({ name: n, mountPath: `/${n}` })) });
  const volume = { volumes: [{ name: 'shared', emptyDir: {} }] };

  test('a problem one profile leaves and a later one resolves is no problem: the merged pod is what the API server sees', () => {
    const d = inject(asking('a-mount, b-volume', { containers: [app] }), profiles(['a-mount', mounts('shared')], ['b-volume', volume]), v133);
    assert.deepEqual([d.outcome, d.message, d.warnings], ['injected', 'injected a-mount@1, b-volume@1', []]);
  });

  test('when the merged pod would be rejected, each profile is checked on its own: only the one at fault fails, with all its problems', () => {
    const set = profiles(['a-mount', mounts('shared', 'other')], ['b-env', { env: [{ name: 'B', value: '1' }] }]);
    const d = inject(asking('a-mount, b-env', { containers: [app] }), set, v133);
    const failure =
      'profile "a-mount" cannot be injected: the API server would reject the pod: ' +
      'container "app": volumeMount "shared" names a volume the pod does not have; container "app": volumeMount "other" names a volume the pod does not have';
    assert.deepEqual([d.outcome, d.message], ['injected', 'injected b-env@1']);
    assert.deepEqual(
      d.profiles.map((o) => [o.profile, o.reason, o.message]),
      [
        ['a-mount', 'invalid-result', failure],
        ['b-env', 'injected', 'profile "b-env" injected at version 1'],
      ],
    );
    assert.deepEqual(d.warnings, [`${failure} (the pod is admitted without it: failurePolicy ignore)`]);
  });

  test('when a profile is refused, the ones before it are checked on their own too', () => {
    const set = profiles(['a-mount', mounts('shared')], ['b-volume', volume], ['c-env', { env: [{ name: 'X', value: '2' }] }]);
    const d = inject(asking('a-mount, b-volume, c-env', { containers: [{ ...app, env: [{ name: 'X', value: '1' }] }] }), set, v133);
    assert.deepEqual([d.outcome, d.reason], ['denied', 'name-conflict']);
    assert.deepEqual(
      d.profiles.map((o) => [o.profile, o.reason]),
      [
        ['a-mount', 'invalid-result'],
        ['b-volume', 'injected'],
        ['c-env', 'name-conflict'],
      ],
    );
  });
});

test('an error that is not a template’s is not taken for the profile’s failure', () => {
  const set = profiles(['agent', { env: [{ name: 'POD', value: '{{ pod.name }}' }] }]);
  const failing: InjectContext = {
    ...v133,
    get namespaceLabels(): Record<string, string> {
      throw new Error('namespace labels unavailable');
    },
  };
  // Called directly: inject() reads the namespace labels before any merge.
  const p = asking('agent', { containers: [app] });
  const plan = mergePlan(p, p, undefined, failing, renderBudget());
  assert.throws(() => mergeWithinRecordLimit(plan, set.profiles, noNotes()), /namespace labels unavailable/);
});

describe('a classic sidecar in a pod that runs to completion is warned about', () => {
  const profiles = profilesFromYaml(
    [
      profileYaml('shipper', { version: '1', containers: [{ name: 'shipper', image: 's' }] }),
      profileYaml('pinned', {
        version: '1',
        sidecarMode: 'classic',
        containers: [
          { name: 'a', image: 'a' },
          { name: 'b', image: 'b' },
        ],
      }),
      profileYaml('env-only', { version: '1', env: [{ name: 'X', value: '1' }] }),
    ].join('\n---\n'),
  );
  const jobPod = (inject: string, restartPolicy?: string): JsonObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'job-x', annotations: { 'outrigger.dev/inject': inject } },
    spec: { ...(restartPolicy ? { restartPolicy } : {}), containers: [{ name: 'app', image: 'a' }] },
  });
  const at = (minor: number) => ({ namespace: 'shop', kubeVersion: { major: 1, minor } });

  test('sidecarMode auto before Kubernetes 1.29, for restartPolicy Never and OnFailure', () => {
    for (const policy of ['Never', 'OnFailure']) {
      const d = inject(jobPod('shipper', policy), profiles, at(28));
      assert.equal(d.outcome, 'injected');
      assert.deepEqual(d.warnings, [
        `profile "shipper": Kubernetes 1.28 has no native sidecars (1.29 and later do), so "shipper" runs as an ordinary container in a pod with restartPolicy ${policy}: the pod does not complete while it runs (a Job never finishes) unless the sidecar exits on its own`,
      ]);
    }
  });

  test('sidecarMode classic on any version, naming every sidecar', () => {
    assert.deepEqual(inject(jobPod('pinned', 'Never'), profiles, at(33)).warnings, [
      'profile "pinned": the profile sets sidecarMode: classic, so "a", "b" run as ordinary containers in a pod with restartPolicy Never: the pod does not complete while they run (a Job never finishes) unless the sidecar exits on its own',
    ]);
  });

  test('not for native sidecars, long-running pods, or a profile that adds no sidecar', () => {
    assert.deepEqual(inject(jobPod('shipper', 'Never'), profiles, at(29)).warnings, []);
    assert.deepEqual(inject(jobPod('shipper'), profiles, at(28)).warnings, []);
    assert.deepEqual(inject(jobPod('shipper', 'Always'), profiles, at(28)).warnings, []);
    assert.deepEqual(inject(jobPod('env-only', 'Never'), profiles, at(28)).warnings, []);
  });
});
