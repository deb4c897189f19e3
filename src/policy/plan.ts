/**
 * What `serve --admission policy` keeps, before anything is written: the cluster-wide set's
 * objects in units (each profile compiled alone, or the set of several with the unknown-profiles
 * policy), and for a namespace with profiles of its own, its whole set as one unit — exactly the
 * set the webhook uses for a pod of that namespace (tenancy.ts: the cluster-wide profiles and the
 * namespace's, in the engine's order) — bound to that namespace alone (scope.ts). Pure: no I/O.
 *
 * A namespace's own profiles may be left out (refused, like any profile), never a cluster-wide
 * one: if a cluster-wide profile that compiles in the cluster-wide set does not compile in the
 * namespace's (it meets a tenant's profile, or would be one of several with failurePolicy
 * ignore), the namespace keeps the cluster-wide set and its own profiles say why. A namespace
 * none of whose own profiles compiles also keeps the cluster-wide set: its set would be the same.
 */
import type { JsonObject } from '../common/json.ts';
import { SYNCED_BY_LABEL } from '../common/labels.ts';
import type { KubeVersion, ProfileSet, SidecarProfile } from '../engine/index.ts';
import { isClusterWide } from '../profiles/tenancy.ts';
import { compilePolicies } from './compile.ts';
import { namespacePolicyName, namespaceScoped, PROFILE_LABEL } from './scope.ts';

/** How policy mode serves one profile: by its policies, or not at all (refused, with the field and why; or refused by the API server). */
export type Served = { policy: string } | { refused: string } | { notApplied: string };

/** Objects applied together and removed together: a profile is served whole or not at all. */
export interface Unit {
  key: string;
  objects: JsonObject[];
}

export interface Plan {
  units: Unit[];
  /** Per profile (profileKey), how it is served if every unit is applied. */
  served: Map<string, Served>;
  /** The units each compiled profile needs (by profileKey): its own, and the set's unknown-profiles policy. */
  unitsOf: Map<string, string[]>;
}

export interface ClusterPlan extends Plan {
  /** The cluster-wide profiles that compile. */
  compiled: ReadonlySet<string>;
}

/** The key a profile's `Served` is kept under: its object's (`namespace/name`; a file profile's is its name in the controller namespace). */
export const profileKey = (p: SidecarProfile, controllerNamespace: string) =>
  `${isClusterWide(p, controllerNamespace) ? controllerNamespace : p.namespace}/${p.name}`;

/** The unit of the set of several and of the unknown-profiles policy (they carry no profile label). */
export const SET_UNIT = '';

function withLabel(o: JsonObject, owner: string): JsonObject {
  const meta = o.metadata as JsonObject;
  return { ...o, metadata: { ...meta, labels: { ...(meta.labels as JsonObject), [SYNCED_BY_LABEL]: owner } } };
}

export function clusterPlan(set: ProfileSet, kube: KubeVersion, owner: string): ClusterPlan {
  const out = compilePolicies(set, kube);
  const byUnit = new Map<string, JsonObject[]>();
  for (const o of out.objects) {
    const labels = ((o.metadata as JsonObject).labels ?? {}) as JsonObject;
    const unit = typeof labels[PROFILE_LABEL] === 'string' ? labels[PROFILE_LABEL] : SET_UNIT;
    byUnit.set(unit, [...(byUnit.get(unit) ?? []), withLabel(o, owner)]);
  }
  const plan: ClusterPlan = {
    units: [...byUnit].map(([key, objects]) => ({ key, objects })),
    served: new Map(),
    unitsOf: new Map(),
    compiled: new Set(out.compiled),
  };
  for (const p of set.profiles) {
    const key = profileKey(p, owner);
    const policy = out.policies[p.name];
    if (policy !== undefined) {
      plan.served.set(key, { policy });
      plan.unitsOf.set(key, byUnit.has(p.name) ? [p.name, SET_UNIT] : [SET_UNIT]);
    }
  }
  for (const r of out.refusals) {
    const p = set.byName.get(r.profile);
    if (p && !plan.served.has(profileKey(p, owner))) plan.served.set(profileKey(p, owner), { refused: `${r.path}: ${r.why}` });
  }
  return plan;
}

/** The unit key of a namespace's own set (a profile name cannot hold a slash). */
export const namespaceUnit = (namespace: string) => `${namespace}/`;

/** A namespace's own set: one unit, or none when the namespace keeps the cluster-wide set. `served` covers the namespace's own profiles only. */
export function namespacePlan(namespace: string, set: ProfileSet, cluster: ClusterPlan, kube: KubeVersion, owner: string): Plan {
  const out = compilePolicies(set, kube);
  const own = set.profiles.filter((p) => !isClusterWide(p, owner) && p.namespace === namespace);
  const plan: Plan = { units: [], served: new Map(), unitsOf: new Map() };
  const why = (name: string) => {
    const r = out.refusals.find((x) => x.profile === name);
    return r ? `${r.path}: ${r.why}` : 'refused';
  };
  const lost = set.profiles.find((p) => isClusterWide(p, owner) && cluster.compiled.has(p.name) && out.policies[p.name] === undefined);
  if (lost) {
    const refused = `with the profiles of namespace ${namespace}, the cluster-wide profile ${JSON.stringify(lost.name)} cannot be compiled (${why(lost.name)}), so the namespace keeps the cluster-wide policies`;
    for (const p of own) plan.served.set(profileKey(p, owner), { refused });
    return plan;
  }
  const unit = namespaceUnit(namespace);
  for (const p of own) {
    const key = profileKey(p, owner);
    if (out.policies[p.name] === undefined) plan.served.set(key, { refused: why(p.name) });
    else {
      plan.served.set(key, { policy: namespacePolicyName(namespace) });
      plan.unitsOf.set(key, [unit]);
    }
  }
  if (plan.unitsOf.size > 0) plan.units.push({ key: unit, objects: namespaceScoped(out.objects, namespace).map((o) => withLabel(o, owner)) });
  return plan;
}

/** `plan.served` once the units are written: a profile whose unit the API server refused says so. */
export function servedAfter(plan: Plan, failed: ReadonlyMap<string, string>): Map<string, Served> {
  const out = new Map<string, Served>();
  for (const [key, s] of plan.served) {
    const why = (plan.unitsOf.get(key) ?? []).map((u) => failed.get(u)).find((x) => x !== undefined);
    out.set(key, why === undefined ? s : { notApplied: why });
  }
  return out;
}
