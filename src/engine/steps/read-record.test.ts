/**
 * Reading a pod's status record back: whether the pod holds what the record claims (or the record
 * is ignored, with a warning saying why), and a record that cannot be read at all.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../../test/support/profiles.ts';
import type { JsonObject } from '../../common/json.ts';
import { type InjectContext, inject, recordMismatchIn } from '../inject.ts';
import { readStatus, type StatusRecord } from '../status.ts';

const ctx: InjectContext = { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } };
const asking = (inject: string, spec: JsonObject, labels: Record<string, string> = {}): JsonObject => ({
  metadata: { name: 'web', labels, annotations: { 'outrigger.dev/inject': inject } },
  spec,
});
const app = { name: 'app', image: 'a' };
const statusOf = (pod: JsonObject) => readStatus(pod).status as StatusRecord;
const IGNORED = 'outrigger.dev/status does not match the pod';

describe('whether the pod holds what its record claims', () => {
  test('a record whose profile no longer renders for the pod is ignored, with the template error as the reason', () => {
    const set = profilesFromYaml(profileYaml('agent', { version: '1', env: [{ name: 'TEAM', value: "{{ pod.labels['team'] }}" }] }));
    const first = inject(asking('agent', { containers: [app] }, { team: 'shop' }), set, ctx);
    assert.equal(first.outcome, 'injected', first.message);
    const meta = first.pod.metadata as JsonObject;
    const relabelled = { ...first.pod, metadata: { ...meta, labels: {} } };
    const d = inject(relabelled, set, ctx);
    assert.equal(
      d.warnings[0],
      `${IGNORED} (profile "agent" at version 1: spec.env[0].value: {{ pod.labels['team'] }} has no value for this pod and no "??" fallback); it is ignored, and the pod is treated as not injected`,
    );
  });

  test('an error that is not a template’s is not taken for a mismatch', () => {
    const set = profilesFromYaml(profileYaml('agent', { version: '1', env: [{ name: 'POD', value: '{{ pod.name }}' }] }));
    const first = inject(asking('agent', { containers: [app] }), set, ctx);
    const failing: InjectContext = {
      ...ctx,
      get namespaceLabels(): Record<string, string> {
        throw new Error('namespace labels unavailable');
      },
    };
    assert.throws(() => recordMismatchIn(first.pod, statusOf(first.pod), set, failing, { unrecordedTargets: 'check' }), /namespace labels unavailable/);
  });

  test('containers the record claims as sidecars are never the profile’s targets', () => {
    const set = profilesFromYaml(
      profileYaml('agent', {
        version: '1',
        sidecarMode: 'classic',
        containers: [{ name: 'agent', image: 'example.com/agent:1' }],
        env: [{ name: 'A', value: '1' }],
      }),
    );
    const first = inject(asking('agent', { containers: [app] }), set, ctx);
    assert.deepEqual(
      ((first.pod.spec as JsonObject).containers as JsonObject[]).map((c) => [c.name, c.env]),
      [
        ['app', [{ name: 'A', value: '1' }]],
        ['agent', undefined],
      ],
    );
    assert.equal(recordMismatchIn(first.pod, statusOf(first.pod), set, ctx, { unrecordedTargets: 'check' }), undefined);
  });

  test('native sidecars must stay in the order injection gave them', () => {
    const native = (name: string) => profileYaml(name, { version: '1', sidecarMode: 'native', containers: [{ name: `${name}-side`, image: 'x' }] });
    const set = profilesFromYaml([native('a'), native('b')].join('\n---\n'));
    const first = inject(asking('a, b', { initContainers: [{ name: 'setup', image: 's' }], containers: [app] }), set, ctx);
    const spec = first.pod.spec as JsonObject;
    const [a, b, setup] = spec.initContainers as [JsonObject, JsonObject, JsonObject];
    assert.deepEqual([a.name, b.name, setup.name], ['a-side', 'b-side', 'setup']);
    assert.equal(recordMismatchIn(first.pod, statusOf(first.pod), set, ctx, { unrecordedTargets: 'check' }), undefined);
    const swapped = { ...first.pod, spec: { ...spec, initContainers: [b, a, setup] } };
    assert.equal(
      recordMismatchIn(swapped, statusOf(swapped), set, ctx, { unrecordedTargets: 'check' }),
      'init container "a-side" is not in the place injection gives it',
    );
  });
});

describe('a pod with too many containers to check', () => {
  // 64 globs against 256 containers is the most (container, glob) pairs a pod may cost.
  const globs = Array.from({ length: 64 }, (_, i) => `app-${i}*`);
  const agent = (version: string) => profilesFromYaml(profileYaml('agent', { version, env: [{ name: 'A', value: version }], targets: globs }));
  const containers = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `app-${i}`, image: 'a' }));

  test('does not hold its record when one more container takes the checks over the bound', () => {
    const first = inject(asking('agent', { containers: containers(256) }), agent('1'), ctx);
    assert.equal(first.outcome, 'injected', first.message);
    const spec = first.pod.spec as JsonObject;
    const grown = { ...first.pod, spec: { ...spec, containers: [...(spec.containers as JsonObject[]), { name: 'late', image: 'l' }] } };
    assert.equal(
      recordMismatchIn(grown, statusOf(grown), agent('1'), ctx, { unrecordedTargets: 'extend' }),
      "matching the pod's containers against the profiles' targets globs takes 16448 checks, more than the 16384 Outrigger does for one pod (fewer containers or fewer globs)",
    );
    // An entry of another version is not checked, so it costs no matching.
    assert.equal(recordMismatchIn(grown, statusOf(grown), agent('2'), ctx, { unrecordedTargets: 'extend' }), undefined);
  });
});

test('a corrupt record is refused when the namespace’s labels select a profile for the pod', () => {
  const set = profilesFromYaml(
    profileYaml('agent', { version: '1', env: [{ name: 'A', value: '1' }], selector: { namespaceSelector: { matchLabels: { team: 'a' } } } }),
  );
  const pod = { metadata: { name: 'web', annotations: { 'outrigger.dev/status': '{"v":1,"profiles":"x"}' } }, spec: { containers: [app] } };
  const d = inject(pod, set, { ...ctx, namespaceLabels: { team: 'a' } });
  assert.deepEqual([d.outcome, d.reason], ['denied', 'invalid-annotation']);
  assert.deepEqual(
    d.profiles.map((o) => [o.profile, o.reason]),
    [['agent', 'invalid-annotation']],
  );
  const elsewhere = inject(pod, set, ctx);
  assert.deepEqual([elsewhere.outcome, elsewhere.reason], ['unchanged', 'nothing-requested']);
});
