/**
 * Removes exactly what the status annotation records, and the annotation itself, giving back the
 * pod as it was before injection. Needs no profiles: the record is self-contained.
 */
import { deepEqual, isObject, type JsonObject, type JsonValue } from './json.ts';
import { NULL_SUFFIX, readStatus, STATUS_ANNOTATION, type StatusRecord, type TargetRecord } from './status.ts';

export type UninjectResult = { ok: true; pod: JsonObject; removed: string[] } | { ok: false; message: string };

const list = (v: JsonValue | undefined): JsonValue[] => (Array.isArray(v) ? v : []);
const nameOf = (v: JsonValue): string | undefined => (isObject(v) && typeof v.name === 'string' ? v.name : undefined);

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
    if (names.size > 0 && Array.isArray(spec[field])) spec[field] = list(spec[field]).filter((v) => !names.has(nameOf(v) as string));
  };
  const collect = (key: 'containers' | 'initContainers' | 'volumes' | 'imagePullSecrets') => new Set(status.profiles.flatMap((p) => p[key] ?? []));
  drop('containers', collect('containers'));
  drop('initContainers', collect('initContainers'));
  drop('volumes', collect('volumes'));
  drop('imagePullSecrets', collect('imagePullSecrets'));

  const untarget = (field: 'containers' | 'initContainers', key: 'targets' | 'initTargets') => {
    const byContainer = new Map<string, TargetRecord[]>();
    for (const p of status.profiles) for (const [c, rec] of Object.entries(p[key] ?? {})) byContainer.set(c, [...(byContainer.get(c) ?? []), rec]);
    if (byContainer.size === 0 || !Array.isArray(spec[field])) return;
    spec[field] = list(spec[field]).map((c) => {
      const recs = byContainer.get(nameOf(c) as string);
      if (!recs || !isObject(c)) return c;
      const next: JsonObject = { ...c };
      const env = new Set(recs.flatMap((r) => r.env ?? []));
      const mounts = new Set(recs.flatMap((r) => r.volumeMounts ?? []));
      const from = recs.flatMap((r) => r.envFrom ?? []);
      if (env.size > 0 && Array.isArray(c.env)) next.env = c.env.filter((e) => !env.has(nameOf(e) as string));
      if (mounts.size > 0 && Array.isArray(c.volumeMounts))
        next.volumeMounts = c.volumeMounts.filter((m) => !(isObject(m) && mounts.has(m.mountPath as string)));
      if (from.length > 0 && Array.isArray(c.envFrom)) next.envFrom = c.envFrom.filter((f) => !from.some((x) => deepEqual(x, f)));
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
  const created = [...(status.created ?? [])].sort((a, b) => b.length - a.length);
  for (const entry of created) {
    const wasNull = entry.endsWith(NULL_SUFFIX);
    const path = wasNull ? entry.slice(0, -NULL_SUFFIX.length) : entry;
    const restore = (obj: JsonObject, key: string): JsonObject => {
      if (!isEmpty(obj[key])) return obj;
      if (wasNull) return { ...obj, [key]: null };
      return without(obj, key);
    };
    const m = /^spec\.(containers|initContainers)\[([^\]]+)\]\.(env|envFrom|volumeMounts)$/.exec(path);
    if (m) {
      const [, field, name, key] = m as unknown as [string, string, string, string];
      if (Array.isArray(spec[field])) spec[field] = list(spec[field]).map((c) => (isObject(c) && c.name === name ? restore(c, key) : c));
    } else if (path.startsWith('spec.')) {
      Object.assign(spec, restore(spec, path.slice(5)));
      if (!wasNull && isEmpty(spec[path.slice(5)])) delete spec[path.slice(5)];
    } else if (path.startsWith('metadata.')) {
      Object.assign(meta, restore(meta, path.slice(9)));
      if (!wasNull && isEmpty(meta[path.slice(9)])) delete meta[path.slice(9)];
    }
  }
  if (isObject(pod.spec)) out.spec = spec;
  if (created.includes('spec') && Object.keys(spec).length === 0) delete out.spec;
  if (isObject(pod.metadata)) out.metadata = meta;
  if (Object.keys(meta).length === 0 && created.includes('metadata')) delete out.metadata;
  if (Object.keys(meta).length === 0 && created.includes(`metadata${NULL_SUFFIX}`)) out.metadata = null;
  return out;
}

function isEmpty(v: JsonValue | undefined): boolean {
  return (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
}

function without(o: JsonObject, key: string): JsonObject {
  const { [key]: _, ...rest } = o;
  return rest;
}
