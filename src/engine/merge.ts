/**
 * Keyed merge of one rendered profile into a pod, copy-on-write: only the objects along changed
 * paths are rebuilt, everything else is shared with the input. Items are keyed by name (mountPath
 * for volume mounts); an identical item already present is left alone and not recorded, a different
 * one is a conflict settled by the profile's conflictPolicy.
 */
import { deepEqual, isObject, type JsonObject, type JsonValue, listOf, nameOf, setOwn } from '../common/json.ts';
import { globList } from '../common/k8s-names.ts';
import type { SidecarProfile } from './profile.ts';
import type { Parts } from './render.ts';
import { NULL_SUFFIX, type ProfileRecord, type TargetRecord } from './status.ts';

export interface MergeState {
  pod: JsonObject;
  /** Index in spec.initContainers where the next profile's init containers go (after earlier profiles', before the pod's own). */
  initInsertAt: number;
  /** Fields created by injection so far (see StatusRecord.created). */
  created: string[];
  /** Names of the pod's own containers and init containers: the only candidates for targets. */
  own: { containers: ReadonlySet<string>; initContainers: ReadonlySet<string> };
}

export type MergeOutcome = { ok: true; state: MergeState; record: ProfileRecord; warnings: string[] } | { ok: false; message: string };

class Conflict extends Error {}

/** Appends to an optional list field of a record, creating it on first use. */
function addTo<T, K extends keyof T>(obj: T, key: K, value: NonNullable<T[K]> extends (infer E)[] ? E : never): void {
  const current = (obj[key] ?? []) as unknown[];
  current.push(value);
  obj[key] = current as T[K];
}

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

/**
 * A rendered container as a native sidecar. Kept per rendered container (profile-owned, frozen) so
 * pods get the same object each time, and its validation (memoised per object) runs once.
 */
const nativeForms = new WeakMap<JsonObject, JsonObject>();
function asNativeSidecar(c: JsonObject): JsonObject {
  if (c.restartPolicy === 'Always') return c;
  let native = nativeForms.get(c);
  if (!native) {
    native = Object.freeze({ ...c, restartPolicy: 'Always' });
    nativeForms.set(c, native);
  }
  return native;
}

const mountPathOf = (v: JsonValue) => (isObject(v) ? v.mountPath : undefined);

export function mergeProfile(state: MergeState, profile: SidecarProfile, parts: Parts, mode: 'native' | 'classic'): MergeOutcome {
  const warnings: string[] = [];
  const created = [...state.created];
  const record: ProfileRecord = { name: profile.name, version: profile.version, hash: profile.hash, mode };

  /**
   * Settles a same-key item: true to add the new item, false to skip it. `describe` gives `what`
   * (names the item) and `clash` (what the pod has instead), for a message a person can act on;
   * it is called only on a clash, as most items clash with nothing.
   */
  const settle = (existing: JsonValue | undefined, incoming: JsonValue, describe: () => [what: string, clash: string]): boolean => {
    if (existing === undefined) return true;
    if (deepEqual(existing, incoming)) return false;
    const [what, clash] = describe();
    if (profile.conflictPolicy === 'keep-pod') {
      warnings.push(`profile ${JSON.stringify(profile.name)}: kept the pod's own ${what} (conflictPolicy: keep-pod)`);
      return false;
    }
    throw new Conflict(`it adds ${what}, but ${clash} (conflictPolicy: fail)`);
  };

  try {
    const pod: JsonObject = { ...state.pod };
    const originalSpec = isObject(pod.spec) ? pod.spec : undefined;
    const spec: JsonObject = { ...originalSpec };
    const mark = (field: string, obj: JsonObject, key: string) => {
      if (!Object.hasOwn(obj, key)) created.push(field);
      else if (obj[key] === null) created.push(`${field}${NULL_SUFFIX}`);
    };

    // Containers and init containers share one name space.
    const existingByName = new Map<string, JsonValue>();
    for (const c of [...listOf(spec.initContainers), ...listOf(spec.containers)]) {
      const n = nameOf(c);
      if (n !== undefined) existingByName.set(n, c);
    }
    const newInit: JsonObject[] = [];
    const newContainers: JsonObject[] = [];
    const addContainer = (c: JsonObject, into: JsonObject[], field: 'initContainers' | 'containers', label: string) => {
      const name = c.name as string;
      if (
        !settle(existingByName.get(name), c, () => [
          `${label} ${JSON.stringify(name)}`,
          `the pod already has a container or init container named ${JSON.stringify(name)}`,
        ])
      )
        return;
      into.push(c);
      existingByName.set(name, c);
      addTo(record, field, name);
    };
    for (const c of parts.initContainers) addContainer(c, newInit, 'initContainers', 'init container');
    for (const c of parts.containers) {
      if (mode === 'native') addContainer(asNativeSidecar(c), newInit, 'initContainers', 'native sidecar');
      else addContainer(c, newContainers, 'containers', 'container');
    }
    if (newInit.length > 0) {
      mark('spec.initContainers', spec, 'initContainers');
      const init = listOf(spec.initContainers).slice();
      init.splice(state.initInsertAt, 0, ...newInit);
      spec.initContainers = init;
    }
    if (newContainers.length > 0) {
      mark('spec.containers', spec, 'containers');
      spec.containers = [...listOf(spec.containers), ...newContainers];
    }

    // Pod-level keyed lists.
    for (const field of ['volumes', 'imagePullSecrets'] as const) {
      const items = parts[field];
      if (items.length === 0) continue;
      const current = listOf(spec[field]);
      const byName = new Map(current.map((v) => [nameOf(v), v]));
      const added: JsonObject[] = [];
      for (const item of items) {
        const name = item.name as string;
        const noun = () => `${field === 'volumes' ? 'volume' : 'imagePullSecret'} ${JSON.stringify(name)}`;
        if (!settle(byName.get(name), item, () => [noun(), `the pod already has a different ${noun()}`])) continue;
        added.push(item);
        byName.set(name, item);
        addTo(record, field, name);
      }
      if (added.length > 0) {
        mark(`spec.${field}`, spec, field);
        spec[field] = [...current, ...added];
      }
    }

    // Mounts, env and envFrom into the targeted app containers.
    const targetInto = (field: 'containers' | 'initContainers', globs: readonly string[], own: ReadonlySet<string>, recordKey: 'targets' | 'initTargets') => {
      if (globs.length === 0 || (parts.env.length === 0 && parts.envFrom.length === 0 && parts.volumeMounts.length === 0)) return;
      const patterns = globList(globs);
      const envNames = new Set(parts.env.map((e) => e.name));
      const mountPaths = new Set(parts.volumeMounts.map((m) => m.mountPath));
      const current = listOf(spec[field]);
      // One map for all targeted containers, filled in place: copying it per container would make
      // a pod with thousands of containers quadratic (and block every other admission meanwhile).
      const targets: Record<string, TargetRecord> = {};
      let changed = false;
      const next = current.map((c) => {
        const name = nameOf(c);
        if (name === undefined || !own.has(name) || !patterns.test(name) || !isObject(c)) return c;
        const out: JsonObject = { ...c };
        const rec: TargetRecord = {};
        const where = () => `${field === 'containers' ? 'container' : 'init container'} ${JSON.stringify(name)}`;

        const env = listOf(c.env);
        const envByName = itemsWithKeys(env, nameOf, envNames);
        const addEnv: JsonObject[] = [];
        for (const e of parts.env) {
          if (
            !settle(envByName.get(e.name as string), e, () => [
              `env ${JSON.stringify(e.name)} in ${where()}`,
              `that container already sets ${JSON.stringify(e.name)} differently`,
            ])
          )
            continue;
          addEnv.push(e);
          addTo(rec, 'env', e.name as string);
        }
        if (addEnv.length > 0) {
          mark(`spec.${field}[${name}].env`, c, 'env');
          out.env = [...env, ...addEnv];
        }

        const envFrom = listOf(c.envFrom);
        const addFrom = parts.envFrom.filter((f) => !envFrom.some((x) => deepEqual(x, f)));
        if (addFrom.length > 0) {
          mark(`spec.${field}[${name}].envFrom`, c, 'envFrom');
          out.envFrom = [...envFrom, ...addFrom];
          rec.envFrom = [...addFrom];
        }

        const mounts = listOf(c.volumeMounts);
        const byPath = itemsWithKeys(mounts, mountPathOf, mountPaths);
        const addMounts: JsonObject[] = [];
        for (const m of parts.volumeMounts) {
          if (
            !settle(byPath.get(m.mountPath as string), m, () => [
              `volumeMount at ${JSON.stringify(m.mountPath)} in ${where()}`,
              'that container already mounts something else there',
            ])
          )
            continue;
          addMounts.push(m);
          addTo(rec, 'volumeMounts', m.mountPath as string);
        }
        if (addMounts.length > 0) {
          mark(`spec.${field}[${name}].volumeMounts`, c, 'volumeMounts');
          out.volumeMounts = [...mounts, ...addMounts];
        }

        if (Object.keys(rec).length === 0) return c;
        setOwn(targets, name, rec);
        changed = true;
        return out;
      });
      if (changed) {
        spec[field] = next;
        record[recordKey] = targets;
      }
    };
    targetInto('containers', profile.targets, state.own.containers, 'targets');
    targetInto('initContainers', profile.initContainerTargets, state.own.initContainers, 'initTargets');

    const specChanged = Object.keys(spec).some((k) => spec[k] !== originalSpec?.[k]);
    if (specChanged) {
      if (!originalSpec) created.push('spec');
      pod.spec = spec;
    }

    // Pod labels and annotations.
    for (const kind of ['labels', 'annotations'] as const) {
      const entries = Object.entries(parts[kind]);
      if (entries.length === 0) continue;
      const meta: JsonObject = isObject(pod.metadata) ? { ...pod.metadata } : {};
      const map: JsonObject = isObject(meta[kind]) ? { ...meta[kind] } : {};
      let changed = false;
      for (const [k, v] of entries) {
        const existing = Object.hasOwn(map, k) ? map[k] : undefined;
        if (!settle(existing, v, () => [`${kind === 'labels' ? 'label' : 'annotation'} ${JSON.stringify(k)}`, 'the pod already has it with another value']))
          continue;
        setOwn(map, k, v);
        addTo(record, kind, k);
        changed = true;
      }
      if (changed) {
        if (!isObject(pod.metadata)) created.push('metadata');
        mark(`metadata.${kind}`, meta, kind);
        meta[kind] = map;
        pod.metadata = meta;
      }
    }

    return { ok: true, state: { ...state, pod, created, initInsertAt: state.initInsertAt + newInit.length }, record, warnings };
  } catch (e) {
    if (e instanceof Conflict) return { ok: false, message: e.message };
    throw e;
  }
}
