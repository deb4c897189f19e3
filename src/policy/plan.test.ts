/** The plan of a namespace's own set: the webhook's set for that namespace, in its order, or none. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonObject } from '../common/json.ts';
import type { SidecarProfile } from '../engine/index.ts';
import { parseProfiles } from '../profiles/parse.ts';
import { TenancyIndex } from '../profiles/tenancy.ts';
import { clusterPlan, namespacePlan } from './plan.ts';

const OWNER = 'outrigger-system';
const KUBE = { major: 1, minor: 37 };
const profile = (name: string, spec: object, namespace = OWNER): SidecarProfile => {
  const r = parseProfiles(JSON.stringify({ apiVersion: 'outrigger.dev/v1alpha1', kind: 'SidecarProfile', metadata: { name }, spec }), `${namespace}/${name}`);
  assert.deepEqual(r.errors, []);
  return { ...(r.profiles[0] as SidecarProfile), namespace };
};
const sidecar = (name: string, extra: object = {}) => ({ version: '1', containers: [{ name, image: `example.com/${name}:1` }], ...extra });

function plans(...tenants: SidecarProfile[]) {
  const t = new TenancyIndex(OWNER);
  t.set(`${OWNER}/agent`, profile('agent', sidecar('agent')));
  t.set(`${OWNER}/mesh`, profile('mesh', sidecar('mesh', { order: 10 })));
  for (const p of tenants) t.set(`${p.namespace}/${p.name}`, p);
  const cluster = clusterPlan(t.global, KUBE, OWNER);
  return (ns: string) => namespacePlan(ns, t.forNamespace(ns), cluster, KUBE, OWNER);
}
function profilesOf(objects: readonly JsonObject[]): unknown {
  const policy = objects.find((o) => o.kind === 'MutatingAdmissionPolicy');
  assert.ok(policy);
  return ((policy.metadata as JsonObject).annotations as JsonObject)['outrigger.dev/profiles'];
}

test("a namespace's set is the webhook's: cluster-wide and its own profiles, in the engine's order (spec.order, then name)", () => {
  const plan = plans(profile('early', sidecar('early', { order: -5 }), 'team-a'), profile('late', sidecar('late', { order: 20 }), 'team-a'))('team-a');
  assert.equal(plan.units.length, 1);
  assert.equal(profilesOf(plan.units[0]?.objects ?? []), 'early,agent,mesh,late');
  assert.deepEqual(
    [...plan.served],
    [
      ['team-a/early', { policy: 'outrigger.ns.team-a.profiles' }],
      ['team-a/late', { policy: 'outrigger.ns.team-a.profiles' }],
    ],
  );
});

test("a tenant profile named like a cluster-wide one is not in its namespace's set, which then keeps the cluster-wide set", () => {
  const plan = plans(profile('agent', sidecar('mine'), 'team-a'))('team-a');
  assert.deepEqual(plan.units, []);
  assert.equal(plan.served.size, 0);
});

test("another namespace's profiles are not in a namespace's set", () => {
  const plan = plans(profile('mine', sidecar('mine'), 'team-a'), profile('theirs', sidecar('theirs'), 'team-b'))('team-a');
  // mesh has spec.order 10, the others the default 0.
  assert.equal(profilesOf(plan.units[0]?.objects ?? []), 'agent,mine,mesh');
});
