/** Merging the profile's env, envFrom and volume mounts into the app containers it targets. */
import { deepEqual, isObject, type JsonObject, type JsonValue, listOf, nameOf, setOwn } from '../../common/json.ts';
import { globList } from '../../common/k8s-names.ts';
import type { Parts } from '../render.ts';
import type { TargetRecord } from '../status.ts';
import { addTo, markCreated, type Settle } from './settle.ts';

type Field = 'containers' | 'initContainers';

/**
 * The items of a pod's list that have one of `keys`, the last of duplicates winning. Only the
 * profile's few keys are indexed: a pod's list (env) can be long, and indexing it all per container
 * is most of a merge's cost.
 */
function itemsWithKeys(list: readonly JsonValue[], keyOf: (v: JsonValue) => unknown, keys: ReadonlySet<unknown>): Map<unknown, JsonValue> {
  const found = new Map<unknown, JsonValue>();
  for (const item of list) {
    const key = keyOf(item);
    if (keys.has(key)) found.set(key, item);
  }
  return found;
}

const mountPathOf = (v: JsonValue) => (isObject(v) ? v.mountPath : undefined);

/** What every targeted container of one field gets, with the keys it is looked up by. */
interface Targeting {
  field: Field;
  parts: Parts;
  envNames: ReadonlySet<unknown>;
  mountPaths: ReadonlySet<unknown>;
  settle: Settle;
  created: string[];
}

/**
 * Adds the profile's env, envFrom and mounts to the pod's own containers (`own`) of `field` whose
 * names match `globs`, in `spec` (a copy the caller owns). Returns what it added per container, or
 * undefined when it added nothing.
 */
export function mergeTargets(
  spec: JsonObject,
  field: Field,
  globs: readonly string[],
  own: ReadonlySet<string>,
  parts: Parts,
  settle: Settle,
  created: string[],
): Record<string, TargetRecord> | undefined {
  if (globs.length === 0 || (parts.env.length === 0 && parts.envFrom.length === 0 && parts.volumeMounts.length === 0)) return undefined;
  const patterns = globList(globs);
  const t: Targeting = {
    field,
    parts,
    envNames: new Set(parts.env.map((e) => e.name)),
    mountPaths: new Set(parts.volumeMounts.map((m) => m.mountPath)),
    settle,
    created,
  };
  // One map for all targeted containers, filled in place: copying it per container would make
  // a pod with thousands of containers quadratic (and block every other admission meanwhile).
  const targets: Record<string, TargetRecord> = {};
  let changed = false;
  const next = listOf(spec[field]).map((c) => {
    const name = nameOf(c);
    if (name === undefined || !own.has(name) || !patterns.test(name) || !isObject(c)) return c;
    const merged = mergeIntoContainer(t, c, name);
    if (!merged) return c;
    setOwn(targets, name, merged.rec);
    changed = true;
    return merged.out;
  });
  if (!changed) return undefined;
  spec[field] = next;
  return targets;
}

function mergeIntoContainer(t: Targeting, c: JsonObject, name: string): { out: JsonObject; rec: TargetRecord } | undefined {
  const { parts, settle } = t;
  const out: JsonObject = { ...c };
  const rec: TargetRecord = {};
  const where = () => `${t.field === 'containers' ? 'container' : 'init container'} ${JSON.stringify(name)}`;
  const at = (list: string) => `spec.${t.field}[${name}].${list}`;

  const env = listOf(c.env);
  const envByName = itemsWithKeys(env, nameOf, t.envNames);
  const addEnv: JsonObject[] = [];
  for (const e of parts.env) {
    const what = () => [`env ${JSON.stringify(e.name)} in ${where()}`, `that container already sets ${JSON.stringify(e.name)} differently`] as [string, string];
    if (!settle(envByName.get(e.name as string), e, what)) continue;
    addEnv.push(e);
    addTo(rec, 'env', e.name as string);
  }
  if (addEnv.length > 0) {
    markCreated(t.created, at('env'), c, 'env');
    out.env = [...env, ...addEnv];
  }

  const envFrom = listOf(c.envFrom);
  const addFrom = parts.envFrom.filter((f) => !envFrom.some((x) => deepEqual(x, f)));
  if (addFrom.length > 0) {
    markCreated(t.created, at('envFrom'), c, 'envFrom');
    out.envFrom = [...envFrom, ...addFrom];
    rec.envFrom = [...addFrom];
  }

  const mounts = listOf(c.volumeMounts);
  const byPath = itemsWithKeys(mounts, mountPathOf, t.mountPaths);
  const addMounts: JsonObject[] = [];
  for (const m of parts.volumeMounts) {
    const what = () =>
      [`volumeMount at ${JSON.stringify(m.mountPath)} in ${where()}`, 'that container already mounts something else there'] as [string, string];
    if (!settle(byPath.get(m.mountPath as string), m, what)) continue;
    addMounts.push(m);
    addTo(rec, 'volumeMounts', m.mountPath as string);
  }
  if (addMounts.length > 0) {
    markCreated(t.created, at('volumeMounts'), c, 'volumeMounts');
    out.volumeMounts = [...mounts, ...addMounts];
  }
  return Object.keys(rec).length === 0 ? undefined : { out, rec };
}
