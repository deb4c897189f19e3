/**
 * Items two profiles of one set both add (a volume, a pull secret, a label, a container name): the
 * engine merges the later profile into the pod the earlier ones left, so the later one finds the
 * earlier one's item where it was added, and settles it as it would the pod's own (identical: left
 * alone; different: its conflictPolicy). A compiled item state reads the pod as it came; for such
 * an item it first asks whether an earlier profile adds that key, and if so compares the two
 * profiles' values (known when compiling, or CEL for templated ones).
 */
import { deepEqual, type JsonObject, type JsonValue } from '../common/json.ts';
import { CelExpr, literal } from './cel.ts';
import type { PodItem } from './items.ts';
import type { ProfileParts } from './set.ts';
import { active, type EarlierTarget, type Targeting, targetVariable } from './targets.ts';

/** Containers and init containers share one name space (merge/containers.ts). */
const space = (i: PodItem) => (i.field === 'initContainers' || i.field === 'containers' ? 'containers' : i.field);

const templated = (v: JsonValue): boolean => {
  if ((v as unknown) instanceof CelExpr) return true;
  if (Array.isArray(v)) return v.some(templated);
  if (v !== null && typeof v === 'object') return Object.values(v).some(templated);
  return false;
};

/**
 * The later item's state when the earlier item is in the pod: a container and an init container
 * of one name always clash (items.ts, stateOf); otherwise identical values are the same item.
 */
function against(earlier: PodItem, later: PodItem): string {
  if (earlier.field !== later.field) return "'conflict'";
  return sameValue(earlier.value, earlier.path, later.value, later.path);
}

/** 'same' or 'conflict' for two profiles' values: decided now, or by CEL for templated ones. */
function sameValue(a: JsonValue, aPath: string, b: JsonValue, bPath: string): string {
  if (!templated(a) && !templated(b)) return deepEqual(a, b) ? "'same'" : "'conflict'";
  return `(dyn(${literal(a, aPath)}) == dyn(${literal(b, bPath)}) ? 'same' : 'conflict')`;
}

/**
 * For the k-th profile, the expression of each item state an earlier profile's item decides,
 * keyed by the item's variable (unprefixed); `own` is the state read from the pod, `prefix(j)`
 * the variable prefix of the j-th profile. Of several earlier profiles with the key, the first
 * that adds it counts: each later one then finds it and does not add its own.
 */
export function sharedStates(parts: readonly ProfileParts[], k: number, own: (item: PodItem) => string, prefix: (j: number) => string): Map<string, string> {
  const out = new Map<string, string>();
  const x = parts[k] as ProfileParts;
  for (const item of x.items) {
    const adders = parts.slice(0, k).flatMap((other, j) => {
      const same = other.items.find((o) => space(o) === space(item) && o.key === item.key);
      return same ? [{ j, same }] : [];
    });
    if (adders.length === 0) continue;
    const chain = adders.reduceRight(
      (rest, { j, same }) => `(variables.${prefix(j)}wanted && variables.${prefix(j)}${same.variable} == 'add' ? ${against(same, item)} : ${rest})`,
      `(${own(item)})`,
    );
    out.set(item.variable, chain);
  }
  return out;
}

const keyOf = { env: (x: JsonObject) => x.name, mounts: (x: JsonObject) => x.mountPath } as const;

/**
 * For the k-th profile, its target variables (unprefixed names) where an earlier profile gives
 * the same kind of containers an env name, a mountPath or an envFrom source it also gives: the
 * state of that item in a container the earlier profile gave it to is settled against the earlier
 * one's (env and mounts by key, as the pod's own; an equal envFrom source is left out).
 */
export function sharedTargets(parts: readonly ProfileParts[], k: number, prefix: (j: number) => string): Map<string, string> {
  const out = new Map<string, string>();
  const x = parts[k] as ProfileParts;
  for (const t of x.targets) {
    if (!active(t)) continue;
    const before = parts.slice(0, k).flatMap((other, j) => {
      const u = other.targets.find((y) => y.field === t.field) as Targeting;
      return active(u) ? [{ j, u }] : [];
    });
    let shared = false;
    const earlier: EarlierTarget = (list, idx, own) => {
      const mine = t[list][idx] as JsonObject;
      const path = `spec.${list === 'mounts' ? 'volumeMounts' : list}[${idx}]`;
      let chain = `(${own})`;
      for (const { j, u } of [...before].reverse()) {
        const theirs = u[list];
        const at = theirs.findIndex((y) => (list === 'envFrom' ? deepEqual(y, mine) : keyOf[list](y) === keyOf[list](mine)));
        if (at < 0) continue;
        shared = true;
        const gave = `variables.${prefix(j)}wanted && variables.${prefix(j)}${u.variable}.exists(u, u.i == i && ${list === 'envFrom' ? `u.envFrom[${at}]` : `u.${list}[${at}] == 'add'`})`;
        // An envFrom source equal to the earlier one's is left out; env and mounts compare values.
        const settled = list === 'envFrom' ? 'false' : sameValue(theirs[at] as JsonObject, `${path} (earlier)`, mine, path);
        chain = `(${gave} ? ${settled} : ${chain})`;
      }
      return chain;
    };
    const v = targetVariable(t, earlier);
    if (shared) out.set(v.name, v.expression);
  }
  return out;
}
