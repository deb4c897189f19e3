/** The self-check itself: the real verifier passes the engine's patch and catches wrong ones. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../../test/support/profiles.ts';
import type { JsonObject } from '../../common/json.ts';
import { inject } from '../inject.ts';
import type { PatchOp } from '../patch-diff.ts';
import { patchReproducesPod } from './verify.ts';

const set = profilesFromYaml(
  profileYaml('agent', {
    version: '1',
    sidecarMode: 'classic',
    containers: [{ name: 'agent', image: 'example.com/agent:1' }],
    env: [{ name: 'AGENT', value: 'on' }],
  }),
);
const original: JsonObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', annotations: { 'outrigger.dev/inject': 'agent' } },
  spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] },
};
const d = inject(original, set, { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } });

test('the engine’s own patch reproduces the pod it wants', () => {
  assert.equal(d.outcome, 'injected');
  assert.ok(d.patch.length > 1);
  assert.equal(patchReproducesPod(original, d.patch, d.pod), true);
});

test('a patch missing one operation is caught', () => {
  for (const i of d.patch.keys()) assert.equal(patchReproducesPod(original, d.patch.toSpliced(i, 1), d.pod), false, `without op ${i}`);
});

test('a patch with one wrong value is caught', () => {
  const wrong = d.patch.map((op, i) => (i === d.patch.length - 1 && 'value' in op ? { ...op, value: 'not this' } : op)) as PatchOp[];
  assert.equal(patchReproducesPod(original, wrong, d.pod), false);
});

test('a patch the strict applier refuses (add under a missing parent) is caught, not thrown', () => {
  const wrong: PatchOp[] = [...d.patch, { op: 'add', path: '/spec/nodeSelector/zone', value: 'a' }];
  const desired = { ...d.pod, spec: { ...(d.pod.spec as JsonObject), nodeSelector: { zone: 'a' } } };
  assert.equal(patchReproducesPod(original, wrong, desired), false);
});

test('a patch that reproduces the pod with containers in another order is caught', () => {
  const spec = d.pod.spec as JsonObject;
  const swapped = { ...d.pod, spec: { ...spec, containers: (spec.containers as JsonObject[]).toReversed() } };
  assert.equal(patchReproducesPod(original, d.patch, swapped), false);
});
