/**
 * PolicySync with profiles of other namespaces (tenant profiles): each such namespace gets its own
 * set, exactly the webhook's, bound to it alone, and the cluster-wide set leaves it out.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeApi } from '../../test/support/policy-api.ts';
import type { JsonObject } from '../common/json.ts';
import { SYNCED_BY_LABEL } from '../common/labels.ts';
import type { SidecarProfile } from '../engine/index.ts';
import type { KubeClient } from '../kube/client.ts';
import { parseProfiles } from '../profiles/parse.ts';
import { TenancyIndex } from '../profiles/tenancy.ts';
import { compilePolicies } from './compile.ts';
import { namespaceScoped } from './scope.ts';
import { PolicySync, servedCondition } from './sync.ts';

const OWNER = 'outrigger-system';
const BASE = '/apis/admissionregistration.k8s.io/v1';
const KUBE = { major: 1, minor: 37 };
const profile = (name: string, spec: object, namespace = OWNER): SidecarProfile => {
  const r = parseProfiles(JSON.stringify({ apiVersion: 'outrigger.dev/v1alpha1', kind: 'SidecarProfile', metadata: { name }, spec }), `${namespace}/${name}`);
  assert.deepEqual(r.errors, []);
  return { ...(r.profiles[0] as SidecarProfile), namespace };
};
const sidecar = (name: string, version = '1') => ({ version, containers: [{ name, image: `example.com/${name}:${version}` }] });
const AGENT = profile('agent', sidecar('agent'));

/** A tenancy index with the agent cluster-wide and these tenant profiles. */
function tenancyWith(...tenants: SidecarProfile[]): TenancyIndex {
  const t = new TenancyIndex(OWNER);
  t.set(`${OWNER}/agent`, AGENT);
  for (const p of tenants) t.set(`${p.namespace}/${p.name}`, p);
  return t;
}

function start(api: FakeApi, served: string[][] = []) {
  return new PolicySync(api.client as unknown as KubeClient, { controllerNamespace: OWNER, kubeVersion: KUBE, onServed: (keys) => served.push(keys) });
}

function obj(api: FakeApi, plural: string, name: string): JsonObject {
  const o = api.objects.get(`${BASE}/${plural}/${name}`);
  assert.ok(o, `${plural}/${name}`);
  return o;
}
const selector = (o: JsonObject) => (((o.spec as JsonObject).matchResources as JsonObject).namespaceSelector as JsonObject).matchExpressions;
const writes = (api: FakeApi, from: number) => api.calls.slice(from).filter((c) => !c.startsWith('GET'));

describe('PolicySync with tenant profiles', () => {
  test('a namespace with profiles of its own gets its whole set, bound to it alone; the cluster-wide bindings leave it out', async () => {
    const api = new FakeApi();
    const served: string[][] = [];
    const sync = start(api, served);
    const mine = profile('mine', sidecar('mine'), 'team-a');
    const t = tenancyWith(mine);
    sync.update(t);
    await sync.idle();
    assert.deepEqual(api.kinds(), [
      'MutatingAdmissionPolicy/outrigger-agent',
      'MutatingAdmissionPolicy/outrigger.ns.team-a.profiles',
      'MutatingAdmissionPolicyBinding/outrigger-agent',
      'MutatingAdmissionPolicyBinding/outrigger.ns.team-a.profiles',
      'ValidatingAdmissionPolicy/outrigger-agent-deny',
      'ValidatingAdmissionPolicy/outrigger-unknown-profiles',
      'ValidatingAdmissionPolicy/outrigger.ns.team-a.profiles-deny',
      'ValidatingAdmissionPolicy/outrigger.ns.team-a.unknown-profiles',
      'ValidatingAdmissionPolicyBinding/outrigger-agent-deny',
      'ValidatingAdmissionPolicyBinding/outrigger-unknown-profiles',
      'ValidatingAdmissionPolicyBinding/outrigger.ns.team-a.profiles-deny',
      'ValidatingAdmissionPolicyBinding/outrigger.ns.team-a.unknown-profiles',
    ]);
    for (const o of api.objects.values()) assert.equal(((o.metadata as JsonObject).labels as JsonObject)[SYNCED_BY_LABEL], OWNER);
    // Exactly the webhook's set for a pod of team-a: the cluster-wide agent and team-a's own, in the engine's order.
    const expected = namespaceScoped(compilePolicies(t.forNamespace('team-a'), KUBE).objects, 'team-a');
    const policy = obj(api, 'mutatingadmissionpolicies', 'outrigger.ns.team-a.profiles');
    assert.deepEqual(policy.spec, expected[0]?.spec);
    assert.equal(((policy.metadata as JsonObject).annotations as JsonObject)['outrigger.dev/profiles'], 'agent,mine');
    assert.equal(((policy.metadata as JsonObject).labels as JsonObject)['outrigger.dev/namespace'], 'team-a');
    for (const [plural, name] of [
      ['mutatingadmissionpolicybindings', 'outrigger.ns.team-a.profiles'],
      ['validatingadmissionpolicybindings', 'outrigger.ns.team-a.profiles-deny'],
      ['validatingadmissionpolicybindings', 'outrigger.ns.team-a.unknown-profiles'],
    ] as const) {
      const b = obj(api, plural, name);
      assert.equal((b.spec as JsonObject).policyName, name);
      assert.deepEqual((selector(b) as JsonObject[]).at(-1), { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-a'] });
      assert.equal((selector(b) as JsonObject[])[0]?.key, 'outrigger.dev/injection', 'and the webhook namespace selector');
    }
    for (const [plural, name] of [
      ['mutatingadmissionpolicybindings', 'outrigger-agent'],
      ['validatingadmissionpolicybindings', 'outrigger-agent-deny'],
      ['validatingadmissionpolicybindings', 'outrigger-unknown-profiles'],
    ] as const)
      assert.deepEqual((selector(obj(api, plural, name)) as JsonObject[]).at(-1), {
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: ['team-a'],
      });
    // The namespace's policies before the cluster-wide bindings leave it out, its bindings after.
    const patches = api.calls.filter((c) => c.startsWith('PATCH')).map((c) => c.slice(c.indexOf('/v1/') + 4));
    const at = (p: string) => patches.indexOf(p);
    // The namespace's policies, then its bindings, then the cluster-wide bindings leaving it out: served by both for a moment, never by neither.
    assert.ok(at('mutatingadmissionpolicies/outrigger.ns.team-a.profiles') < at('mutatingadmissionpolicybindings/outrigger.ns.team-a.profiles'));
    assert.ok(at('mutatingadmissionpolicybindings/outrigger.ns.team-a.profiles') < at('mutatingadmissionpolicybindings/outrigger-agent'));
    assert.ok(
      at('validatingadmissionpolicybindings/outrigger.ns.team-a.unknown-profiles') < at('validatingadmissionpolicybindings/outrigger-unknown-profiles'),
    );
    assert.deepEqual(servedCondition({ key: 'team-a/mine', generation: 1, active: mine }, sync), {
      status: 'True',
      reason: 'Policy',
      message: 'Injected by the API server: MutatingAdmissionPolicy outrigger.ns.team-a.profiles.',
    });
    assert.deepEqual(sync.served(AGENT), { policy: 'outrigger-agent' });
    assert.deepEqual(served, [[`${OWNER}/agent`, 'team-a/mine']]);
    await sync.stop();
  });

  test("a tenant's edit writes only its namespace's objects, lists nothing, and reports only its profile", async () => {
    const api = new FakeApi();
    const served: string[][] = [];
    const sync = start(api, served);
    const t = tenancyWith(profile('mine', sidecar('mine'), 'team-a'), profile('theirs', sidecar('theirs'), 'team-b'));
    sync.update(t);
    await sync.idle();
    const before = api.calls.length;
    t.set('team-a/mine', profile('mine', sidecar('mine', '2'), 'team-a'));
    sync.update(t);
    await sync.idle();
    assert.deepEqual(api.calls.slice(before), [
      `PATCH ${BASE}/mutatingadmissionpolicies/outrigger.ns.team-a.profiles`,
      `PATCH ${BASE}/validatingadmissionpolicies/outrigger.ns.team-a.profiles-deny`,
      // The bindings carry the profiles' versions too; the unknown-profiles policy only their names.
      `PATCH ${BASE}/mutatingadmissionpolicybindings/outrigger.ns.team-a.profiles`,
      `PATCH ${BASE}/validatingadmissionpolicybindings/outrigger.ns.team-a.profiles-deny`,
    ]);
    // Served the same way as before: no status to write.
    assert.equal(served.length, 1);
    await sync.stop();
  });

  test('deleting the last tenant profile gives the namespace back to the cluster-wide set, then removes its bindings, then its policies', async () => {
    const api = new FakeApi();
    const served: string[][] = [];
    const sync = start(api, served);
    const t = tenancyWith(profile('mine', sidecar('mine'), 'team-a'));
    sync.update(t);
    await sync.idle();
    const before = api.calls.length;
    t.delete('team-a/mine');
    sync.update(t);
    await sync.idle();
    const calls = writes(api, before);
    const last = (pred: (c: string) => boolean) => calls.findLastIndex(pred);
    const first = (pred: (c: string) => boolean) => calls.findIndex(pred);
    const nsBinding = (c: string) => c.startsWith('DELETE') && c.includes('bindings/outrigger.ns.team-a.');
    const clusterBinding = (c: string) => c.startsWith('PATCH') && c.includes('bindings/outrigger-');
    const nsPolicy = (c: string) => c.startsWith('DELETE') && c.includes('policies/outrigger.ns.team-a.');
    assert.equal(calls.filter(nsBinding).length, 3);
    assert.equal(calls.filter(clusterBinding).length, 3);
    assert.equal(calls.filter(nsPolicy).length, 3);
    assert.ok(last(clusterBinding) < first(nsBinding), calls.join('\n'));
    assert.ok(last(nsBinding) < first(nsPolicy), calls.join('\n'));
    assert.equal(calls.length, 9);
    assert.equal(api.kinds().filter((k) => k.includes('team-a')).length, 0);
    // Back to the bindings as compiled: no namespace left out.
    for (const o of api.objects.values()) if (String(o.kind).endsWith('Binding')) assert.equal(JSON.stringify(selector(o)).includes('team-a'), false);
    assert.deepEqual(served.at(-1), ['team-a/mine']);
    await sync.stop();
  });

  test("a tenant's refused profile is left out of its namespace's set only; one that would push out a cluster-wide profile keeps the namespace on the cluster-wide set", async () => {
    const api = new FakeApi();
    const sync = start(api);
    const templated = profile(
      'templated',
      { version: '1', containers: [{ name: 't', image: 'example.com/t:1', env: [{ name: 'A', value: '{{ pod.name }}' }] }] },
      'team-a',
    );
    const fine = profile('fine', sidecar('fine'), 'team-a');
    // Before the agent in the engine's order, with failurePolicy ignore: the agent would not compile after it.
    const pushy = profile('early', { ...sidecar('early'), order: -1, failurePolicy: 'ignore' }, 'team-b');
    const alone = profile('alone', sidecar('alone'), 'team-c');
    const t = tenancyWith(templated, fine, pushy, alone);
    sync.update(t);
    await sync.idle();
    const names = api.kinds().filter((k) => k.startsWith('MutatingAdmissionPolicy/'));
    assert.deepEqual(names, [
      'MutatingAdmissionPolicy/outrigger-agent',
      'MutatingAdmissionPolicy/outrigger.ns.team-a.profiles',
      'MutatingAdmissionPolicy/outrigger.ns.team-c.profiles',
    ]);
    assert.equal(
      ((obj(api, 'mutatingadmissionpolicies', 'outrigger.ns.team-a.profiles').metadata as JsonObject).annotations as JsonObject)['outrigger.dev/profiles'],
      'agent,fine',
    );
    assert.match(
      servedCondition({ key: 'team-a/templated', generation: 1, active: templated }, sync)?.message ?? '',
      /cannot be compiled to an admission policy: spec\.containers\[0\]\.env\[0\]\.value: /,
    );
    assert.match(
      servedCondition({ key: 'team-b/early', generation: 1, active: pushy }, sync)?.message ?? '',
      /with the profiles of namespace team-b, the cluster-wide profile "agent" cannot be compiled \(spec\.order: .*\), so the namespace keeps the cluster-wide policies/,
    );
    // team-b stays with the cluster-wide set: left out of no binding.
    assert.deepEqual((selector(obj(api, 'mutatingadmissionpolicybindings', 'outrigger-agent')) as JsonObject[]).at(-1)?.values, ['team-a', 'team-c']);
    await sync.stop();
  });

  test('a namespace set the API server refuses is removed whole and the namespace goes back to the cluster-wide set; others are unaffected', async () => {
    const api = new FakeApi();
    const sync = start(api);
    const mine = profile('mine', sidecar('mine'), 'team-a');
    const theirs = profile('theirs', sidecar('theirs'), 'team-b');
    api.refuse.set(`${BASE}/mutatingadmissionpolicybindings/outrigger.ns.team-a.profiles`, 422);
    sync.update(tenancyWith(mine, theirs));
    await sync.idle();
    assert.deepEqual(
      api.kinds().filter((k) => k.includes('team-a')),
      [],
    );
    assert.equal(api.kinds().filter((k) => k.includes('team-b')).length, 6);
    for (const name of ['outrigger-agent'])
      assert.deepEqual((selector(obj(api, 'mutatingadmissionpolicybindings', name)) as JsonObject[]).at(-1)?.values, ['team-b']);
    assert.deepEqual((selector(obj(api, 'validatingadmissionpolicybindings', 'outrigger-unknown-profiles')) as JsonObject[]).at(-1)?.values, ['team-b']);
    const c = servedCondition({ key: 'team-a/mine', generation: 1, active: mine }, sync);
    assert.equal(c?.reason, 'PolicyNotApplied');
    assert.match(c?.message ?? '', /outrigger\.ns\.team-a\.profiles: 422/);
    assert.deepEqual(sync.served(theirs), { policy: 'outrigger.ns.team-b.profiles' });
    assert.deepEqual(sync.served(AGENT), { policy: 'outrigger-agent' });
    await sync.stop();
  });

  test('a cluster-wide change rebuilds every namespace set', async () => {
    const api = new FakeApi();
    const sync = start(api);
    const t = tenancyWith(profile('mine', sidecar('mine'), 'team-a'), profile('theirs', sidecar('theirs'), 'team-b'));
    sync.update(t);
    await sync.idle();
    t.set(`${OWNER}/agent`, profile('agent', sidecar('agent', '2')));
    sync.update(t);
    await sync.idle();
    for (const name of ['outrigger-agent', 'outrigger.ns.team-a.profiles', 'outrigger.ns.team-b.profiles']) {
      const versions = (obj(api, 'mutatingadmissionpolicies', name).metadata as JsonObject).annotations as JsonObject;
      assert.match(String(versions['outrigger.dev/profile-version'] ?? versions['outrigger.dev/profile-versions']), /^2(,1)?$/, name);
    }
    await sync.stop();
  });

  test("the periodic pass lists metadata only, writes nothing when the cluster holds everything, and puts back a namespace's binding deleted by hand", async () => {
    const api = new FakeApi();
    const sync = start(api);
    sync.update(tenancyWith(profile('mine', sidecar('mine'), 'team-a')));
    await sync.idle();
    const before = api.calls.length;
    sync.resync();
    await sync.idle();
    assert.deepEqual(writes(api, before), []);
    assert.deepEqual(new Set(api.accepts), new Set(['application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1']));
    const binding = `${BASE}/mutatingadmissionpolicybindings/outrigger.ns.team-a.profiles`;
    api.objects.delete(binding);
    const again = api.calls.length;
    sync.resync();
    await sync.idle();
    assert.deepEqual(writes(api, again), [`PATCH ${binding}`]);
    await sync.stop();
  });

  test("a tenant's new profile meeting a passing 503 on a cluster-wide binding leaves the cluster-wide set's objects in place", async () => {
    const api = new FakeApi();
    const sync = start(api);
    const t = tenancyWith();
    sync.update(t);
    await sync.idle();
    const cluster = api.kinds();
    assert.equal(cluster.length, 6);
    const binding = `${BASE}/mutatingadmissionpolicybindings/outrigger-agent`;
    api.refuse.set(binding, 503);
    t.set('team-a/mine', profile('mine', sidecar('mine'), 'team-a'));
    sync.update(t);
    await sync.idle();
    // Every other namespace is still served by the cluster-wide set.
    for (const k of cluster) assert.ok(api.kinds().includes(k), k);
    api.refuse.delete(binding);
    await new Promise((r) => setTimeout(r, 1_200));
    await sync.idle();
    assert.deepEqual((selector(obj(api, 'mutatingadmissionpolicybindings', 'outrigger-agent')) as JsonObject[]).at(-1)?.values, ['team-a']);
    await sync.stop();
  });

  test("a namespace's set that fails for a moment is retried until it is served", async () => {
    const api = new FakeApi();
    const sync = start(api);
    const mine = profile('mine', sidecar('mine'), 'team-a');
    const policy = `${BASE}/mutatingadmissionpolicies/outrigger.ns.team-a.profiles`;
    api.refuse.set(policy, 503);
    sync.update(tenancyWith(mine));
    await sync.idle();
    assert.ok('notApplied' in (sync.served(mine) ?? {}));
    assert.deepEqual(
      api.kinds().filter((k) => k.includes('team-a')),
      [],
    );
    api.refuse.delete(policy);
    await new Promise((r) => setTimeout(r, 1_200));
    await sync.idle();
    assert.equal(api.kinds().filter((k) => k.includes('team-a')).length, 6);
    assert.deepEqual(sync.served(mine), { policy: 'outrigger.ns.team-a.profiles' });
    await sync.stop();
  });
});
