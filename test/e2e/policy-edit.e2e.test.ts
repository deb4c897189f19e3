/**
 * An edit of a set as the reconciler writes it (sync.ts: a unit's policies one by one, the
 * mutating one first), on a real kube-apiserver: between the writes the API server runs the new
 * mutating policy with the old validating one. A pod must never be admitted there without the
 * profiles both versions inject: the engine injects it (old version) or denies it (new version).
 *
 *   E2E_KUBE=1.37 ./node_modules/.bin/node --test --test-reporter=spec test/e2e/policy-edit.e2e.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JsonObject } from '../../src/common/json.ts';
import { INJECTION_LABEL, STATUS_ANNOTATION } from '../../src/common/labels.ts';
import { inject } from '../../src/engine/index.ts';
import { compilePolicies } from '../../src/policy/compile.ts';
import { FIRST_POLICY_MINOR } from '../../src/policy/refusals.ts';
import { profilesFromYaml, profileYaml } from '../support/profiles.ts';
import { type ControlPlane, e2eAvailability, kubernetesVersion, startControlPlane } from './harness.ts';
import { bare, install, objectPath, type Pod, until } from './policy-support.ts';

const MINOR = Number(kubernetesVersion().replace(/^v1\.(\d+)\..*$/, '$1'));
const tooOld = `policy mode needs Kubernetes 1.${FIRST_POLICY_MINOR}; this server is ${kubernetesVersion()}: E2E_KUBE=1.37 runs it`;
const skip = MINOR < FIRST_POLICY_MINOR ? tooOld : (await e2eAvailability()).skip;
const KUBE = { major: 1, minor: MINOR };
const NS = 'edit-served';
const LABELS = { [INJECTION_LABEL]: 'enabled', 'e2e.outrigger.dev/tier': 'apps' };
const TIER = { namespaceSelector: { matchLabels: { 'e2e.outrigger.dev/tier': 'apps' } } };

/** The platform's agent, and a tenant's profile whose second version reads a pod label without a fallback. */
const agent = profileYaml('agent', { version: '1', order: 1, selector: TIER, containers: [{ name: 'agent', image: 'example.com/agent:1' }] });
const mine = (version: string, value: string) =>
  profileYaml('mine', { version, order: 2, selector: TIER, containers: [{ name: 'mine', image: 'example.com/mine:1', env: [{ name: 'TEAM', value }] }] });
const V1 = profilesFromYaml([agent, mine('1', 'none')].join('\n---\n'));
const V2 = profilesFromYaml([agent, mine('2', "{{ pod.labels['team'] }}")].join('\n---\n'));

const pod: Pod = { metadata: { name: 'no-team' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } };

describe('policy mode: a set edited, between the writes of its policies, on a real kube-apiserver', { skip }, () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await startControlPlane();
    await cp.createNamespace(NS, LABELS);
  });
  after(async () => {
    await cp?.stop();
  });

  it("a pod the new version denies and the old one injects is not admitted without the platform's agent", async () => {
    const v1 = compilePolicies(V1, KUBE);
    const v2 = compilePolicies(V2, KUBE);
    assert.deepEqual([v1.refusals, v2.refusals], [[], []]);
    await install(cp, v1.objects);
    await until(cp, NS, pod, (s, p) => s === 201 && p.metadata.annotations?.[STATUS_ANNOTATION] !== undefined, 'version 1');
    const seen = { ...(bare(pod, NS) as unknown as JsonObject) };
    const ctx = { namespace: NS, namespaceLabels: { ...LABELS, 'kubernetes.io/metadata.name': NS }, kubeVersion: KUBE };
    assert.equal(inject(seen, V1, ctx).outcome, 'injected');
    assert.equal(inject(seen, V2, ctx).outcome, 'denied');
    // The reconciler's first write of the edit: the set's new mutating policy, by server-side apply.
    const mutating = v2.objects.find((o) => o.kind === 'MutatingAdmissionPolicy') as JsonObject;
    const name = (mutating.metadata as JsonObject).name as string;
    const r = await cp.request('PATCH', `${objectPath(mutating)}/${name}`, mutating, {
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: 'outrigger', force: 'true' },
    });
    assert.equal(r.status, 200, r.text.slice(0, 300));
    // Once the new mutating policy runs (it no longer injects), the pod must be denied, not admitted bare.
    await until(cp, NS, pod, (s, p) => s !== 201 || p.metadata.annotations?.[STATUS_ANNOTATION] === undefined, 'version 2 mutating');
    const made = await cp.request<Pod>('POST', `/api/v1/namespaces/${NS}/pods`, bare(pod, NS), { query: { dryRun: 'All' } });
    const containers = ((made.body.spec?.containers ?? []) as { name: string }[]).map((c) => c.name);
    assert.ok(made.status !== 201 || containers.includes('agent'), `admitted (${made.status}) with containers ${containers.join(', ')} and no agent`);
  });
});
