/**
 * `/explain` answers never carry an env value: not a profile's (tenant data such as a token), not
 * the pod's, at whatever level the patch adds it; names and valueFrom references stay.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import { decodePatch, pod, review } from '../../test/support/webhook.ts';
import type { JsonObject, PatchOp } from '../engine/index.ts';
import { explain } from './explain.ts';
import type { HandlerConfig } from './handle.ts';
import { REDACTED, redactPatch } from './redact.ts';

const TOKEN = 'tok-7f3a9c-do-not-leak';
const set = profilesFromYaml(
  profileYaml('agent', {
    version: '1.0.0',
    sidecarMode: 'native',
    containers: [{ name: 'agent', image: 'example.com/agent:1', env: [{ name: 'API_TOKEN', value: TOKEN }] }],
    env: [
      { name: 'AGENT_TOKEN', value: TOKEN },
      { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 'agent', key: 'token' } } },
    ],
  }),
);
const cfg: HandlerConfig = { profiles: set, kubeVersion: { major: 1, minor: 33 } };
const appPod = () =>
  pod({ 'outrigger.dev/inject': 'agent' }, { containers: [{ name: 'web', image: 'nginx:1.27', env: [{ name: 'OWN', value: 'pod-secret' }] }] });

function explained(body: JsonObject) {
  const r = explain(body, undefined, cfg);
  assert.ok(r.ok, JSON.stringify(r));
  return r.explanation;
}

test('a pod: no env value of the profile or the pod comes back; names and valueFrom do', () => {
  const e = explained(appPod());
  assert.equal(e.outcome, 'injected');
  const text = JSON.stringify(e);
  assert.ok(!text.includes(TOKEN) && !text.includes('pod-secret'), text);
  const spec = (e.pod as JsonObject).spec as JsonObject;
  const web = (spec.containers as JsonObject[])[0] as JsonObject;
  assert.deepEqual(web.env, [
    { name: 'OWN', value: REDACTED },
    { name: 'AGENT_TOKEN', value: REDACTED },
    { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 'agent', key: 'token' } } },
  ]);
  assert.deepEqual(((spec.initContainers as JsonObject[])[0] as JsonObject).env, [{ name: 'API_TOKEN', value: REDACTED }]);
});

test('an AdmissionReview: the response patch /mutate would send is redacted too', () => {
  const e = explained(review(appPod()));
  const patch = JSON.stringify(decodePatch(e.response?.response.patch));
  assert.ok(!patch.includes(TOKEN) && patch.includes('AGENT_TOKEN'), patch);
  assert.ok(!JSON.stringify(e).includes(TOKEN));
});

test('redactPatch: an env list, one var or one value, whichever level the op adds', () => {
  const ops = redactPatch<PatchOp>([
    { op: 'add', path: '/spec/containers/0/env', value: [{ name: 'A', value: 'x' }] },
    { op: 'add', path: '/spec/containers/0/env/-', value: { name: 'B', value: 'x' } },
    { op: 'replace', path: '/spec/containers/0/env/3/value', value: 'x' },
    { op: 'add', path: '/spec/initContainers/0', value: { name: 'c', env: [{ name: 'C', value: 'x' }] } },
    { op: 'remove', path: '/spec/containers/0/env/1' },
    { op: 'add', path: '/metadata/labels/env', value: 'x' },
  ]);
  assert.ok(
    ops.slice(0, 4).every((o) => !JSON.stringify(o).includes('"x"')),
    JSON.stringify(ops),
  );
  assert.deepEqual(ops.slice(4), [
    { op: 'remove', path: '/spec/containers/0/env/1' },
    { op: 'add', path: '/metadata/labels/env', value: 'x' },
  ]);
});
