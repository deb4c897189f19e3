/**
 * Removes exactly what the status annotation records, and the annotation itself, giving back the
 * pod as it was before injection. Needs no profiles: the record is self-contained.
 */
import { canonicalJson, isObject, type JsonObject, type JsonValue, listOf, nameOf } from '../common/json.ts';
import { STATUS_ANNOTATION } from '../common/labels.ts';
import { CREATED_CONTAINER_FIELD, createdPath, NULL_SUFFIX, readStatus, type StatusRecord } from './status.ts';

export type UninjectResult = { ok: true; pod: JsonObject; removed: string[] } | { ok: false; message: string };

/** @returns the pod unchanged (removed: []) when it carries no status annotation. */
export function uninject(pod: JsonObject): UninjectResult {
  const { status, error } = readStatus(pod);
  if (error) return { ok: false, message: error };
  if (!status) return { ok: true, pod, removed: [] };
  return { ok: true, pod: removeRecorded(pod, status), removed: status.profiles.map((p) => p.name) };
}

export function removeRecorded(pod: JsonObject, status: StatusRecord): JsonObject {
  const out: JsonObject = { ...pod };
  const spec: JsonObject = isObject(pod.spec) ? { ...pod.spec } : {};
  const meta: JsonObject = isObject(pod.metadata) ? { ...pod.metadata } : {};

  const drop = (field: string, names: Set<string>) => {
    if (names.size > 0 && Array.isArray(spec[field])) spec[field] = listOf(spec[field]).filter((v) => !names.has(nameOf(v) as string));
  };
  const collect = (key: 'containers' | 'initContainers' | 'volumes' | 'imagePullSecrets') => new Set(status.profiles.flatMap((p) => p[key] ?? []));
  drop('containers', collect('containers'));
  drop('initContainers', collect('initContainers'));
  drop('volumes', collect('volumes'));
  drop('imagePullSecrets', collect('imagePullSecrets'));

  // One pass per list, with sets: the record is pod input, so removal must stay linear in its size.
  const untarget = (field: 'containers' | 'initContainers', key: 'targets' | 'initTargets') => {
    const byContainer = new Map<string, { env: Set<string>; mounts: Set<string>; from: Set<string> }>();
    for (const p of status.profiles) {
      for (const [c, rec] of Object.entries(p[key] ?? {})) {
        let acc = byContainer.get(c);
        if (!acc) {
          acc = { env: new Set(), mounts: new Set(), from: new Set() };
          byContainer.set(c, acc);
        }
        for (const e of rec.env ?? []) acc.env.add(e);
        for (const m of rec.volumeMounts ?? []) acc.mounts.add(m);
        for (const f of rec.envFrom ?? []) acc.from.add(canonicalJson(f));
      }
    }
    if (byContainer.size === 0 || !Array.isArray(spec[field])) return;
    spec[field] = listOf(spec[field]).map((c) => {
      const acc = isObject(c) ? byContainer.get(nameOf(c) as string) : undefined;
      if (!acc || !isObject(c)) return c;
      const next: JsonObject = { ...c };
      if (acc.env.size > 0 && Array.isArray(c.env)) next.env = c.env.filter((e) => !acc.env.has(nameOf(e) as string));
      if (acc.mounts.size > 0 && Array.isArray(c.volumeMounts))
        next.volumeMounts = c.volumeMounts.filter((m) => !(isObject(m) && acc.mounts.has(m.mountPath as string)));
      if (acc.from.size > 0 && Array.isArray(c.envFrom)) next.envFrom = c.envFrom.filter((f) => !acc.from.has(canonicalJson(f)));
      return next;
    });
  };
  untarget('containers', 'targets');
  untarget('initContainers', 'initTargets');

  for (const kind of ['labels', 'annotations'] as const) {
    const keys = status.profiles.flatMap((p) => p[kind] ?? []);
    if (kind === 'annotations') keys.push(STATUS_ANNOTATION);
    if (!isObject(meta[kind])) continue;
    const map: JsonObject = { ...meta[kind] };
    for (const k of keys) delete map[k];
    meta[kind] = map;
  }

  // Fields injection created go away again when nothing else was put in them, deepest first.
  // A path ending in `=null` was present as null (a YAML key with no value): null is put back.
  // Container-level entries are grouped by container so each list is rewritten once, and every
  // object here is this function's own copy, changed in place: the record is pod input, and a copy
  // per entry would make removal quadratic in its length.
  const created = new Set(status.created ?? []);
  const perContainer = new Map<string, { key: string; wasNull: boolean }[]>();
  const podLevel: { path: string; wasNull: boolean }[] = [];
  for (const entry of created) {
    const { path, wasNull } = createdPath(entry);
    const m = CREATED_CONTAINER_FIELD.exec(path);
    if (!m) {
      podLevel.push({ path, wasNull });
      continue;
    }
    const [, field, name, key] = m as unknown as [string, string, string, string];
    const k = `${field}/${name}`;
    const list = perContainer.get(k);
    if (list) list.push({ key, wasNull });
    else perContainer.set(k, [{ key, wasNull }]);
  }
  for (const field of ['containers', 'initContainers'] as const) {
    if (perContainer.size === 0 || !Array.isArray(spec[field])) continue;
    spec[field] = listOf(spec[field]).map((c) => {
      const entries = isObject(c) ? perContainer.get(`${field}/${nameOf(c)}`) : undefined;
      if (!entries || !isObject(c)) return c;
      const next: JsonObject = { ...c };
      for (const e of entries) restoreIn(next, e.key, e.wasNull);
      return next;
    });
  }
  // Then the pod-level fields, deepest first (metadata.annotations before metadata).
  for (const { path, wasNull } of podLevel.sort((a, b) => b.path.length - a.path.length)) {
    if (path.startsWith('spec.')) restoreIn(spec, path.slice(5), wasNull);
    else if (path.startsWith('metadata.')) restoreIn(meta, path.slice(9), wasNull);
  }
  if (isObject(pod.spec)) out.spec = spec;
  if (created.has('spec') && Object.keys(spec).length === 0) delete out.spec;
  if (isObject(pod.metadata)) out.metadata = meta;
  if (Object.keys(meta).length === 0 && created.has('metadata')) delete out.metadata;
  if (Object.keys(meta).length === 0 && created.has(`metadata${NULL_SUFFIX}`)) out.metadata = null;
  return out;
}

function isEmpty(v: JsonValue | undefined): boolean {
  return (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
}

/** A created field left empty goes away again (or back to null); one with content stays. */
function restoreIn(obj: JsonObject, key: string, wasNull: boolean): void {
  if (!isEmpty(obj[key])) return;
  if (wasNull) obj[key] = null;
  else delete obj[key];
}
