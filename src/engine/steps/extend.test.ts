/** Extending an injected pod to containers added later touches only those containers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../../test/support/profiles.ts';
import type { JsonObject } from '../../common/json.ts';
import { inject } from '../inject.ts';

const ctx = { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } };
const set = profilesFromYaml(
  profileYaml('agent', {
    version: '1',
    sidecarMode: 'native',
    containers: [{ name: 'agent', image: 'example.com/agent:1' }],
    env: [{ name: 'AGENT', value: 'on' }],
  }),
);

test('a native sidecar the API server defaulted is left alone when the profile is extended to a new container', () => {
  const first = inject(
    { metadata: { name: 'web', annotations: { 'outrigger.dev/inject': 'agent' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
    set,
    ctx,
  );
  assert.equal(first.outcome, 'injected');
  const spec = first.pod.spec as JsonObject;
  // As read back from the API server: defaults filled in on the sidecar.
  const defaulted = (spec.initContainers as JsonObject[]).map((c) => ({
    ...c,
    imagePullPolicy: 'IfNotPresent',
    terminationMessagePath: '/dev/termination-log',
  }));
  const later = {
    ...first.pod,
    spec: { ...spec, initContainers: defaulted, containers: [...(spec.containers as JsonObject[]), { name: 'late', image: 'x:1' }] },
  };
  const d = inject(later, set, ctx);
  assert.equal(d.outcome, 'injected', d.message);
  assert.deepEqual(
    d.patch.map((op) => op.path),
    ['/metadata/annotations/outrigger.dev~1status', '/spec/containers/1/env'],
  );
});
