/**
 * The `outrigger.dev/status` annotation: an exact record of what injection added, so re-running is
 * a no-op and uninject can remove exactly that and nothing else. It is written with JSON.stringify
 * of a structure and read back through a strict shape check: the annotation is user-editable input.
 */
import { isObject, type JsonObject, type JsonValue } from '../common/json.ts';
import { STATUS_ANNOTATION } from '../common/labels.ts';

/** Equal to the API server's limit on all annotations together: a record in a stored pod is never larger. */
export const MAX_STATUS_BYTES = 256 * 1024;

/** Marks a `created` path whose field was present as null rather than absent. */
export const NULL_SUFFIX = '=null';

/**
 * The only fields injection ever creates: the pod's spec and metadata, the lists merge adds to, and
 * a targeted container's env, envFrom and volumeMounts (the container name is greedy: any text).
 * Anything else in `created` was not written by Outrigger; refusing it also bounds uninject's work.
 */
const CREATED_POD_FIELD = /^(spec|metadata|spec\.(containers|initContainers|volumes|imagePullSecrets)|metadata\.(labels|annotations))$/;
export const CREATED_CONTAINER_FIELD = /^spec\.(containers|initContainers)\[(.+)\]\.(env|envFrom|volumeMounts)$/;

/** A `created` entry split into its path and whether the field was null before injection. */
export function createdPath(entry: string): { path: string; wasNull: boolean } {
  const wasNull = entry.endsWith(NULL_SUFFIX);
  return { path: wasNull ? entry.slice(0, -NULL_SUFFIX.length) : entry, wasNull };
}

const isCreatedEntry = (entry: string) => {
  const { path } = createdPath(entry);
  return CREATED_POD_FIELD.test(path) || CREATED_CONTAINER_FIELD.test(path);
};

/** What one profile added to one of the pod's own containers. */
export interface TargetRecord {
  env?: string[];
  envFrom?: JsonObject[];
  volumeMounts?: string[];
}

export interface ProfileRecord {
  name: string;
  version: string;
  hash: string;
  mode: 'native' | 'classic';
  containers?: string[];
  initContainers?: string[];
  volumes?: string[];
  imagePullSecrets?: string[];
  labels?: string[];
  annotations?: string[];
  /** Keyed by the pod container's name; init containers are keyed in `initTargets`. */
  targets?: Record<string, TargetRecord>;
  initTargets?: Record<string, TargetRecord>;
}

export interface StatusRecord {
  v: 1;
  profiles: ProfileRecord[];
  /** Fields that did not exist before injection (`spec.volumes`, `spec.containers[app].env`), removed again by uninject. */
  created?: string[];
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const optStrings = (o: JsonObject, k: string) => o[k] === undefined || isStrings(o[k]);

function isTargets(v: JsonValue | undefined): boolean {
  if (v === undefined) return true;
  if (!isObject(v)) return false;
  return Object.values(v).every(
    (t) =>
      isObject(t) &&
      optStrings(t, 'env') &&
      optStrings(t, 'volumeMounts') &&
      (t.envFrom === undefined || (Array.isArray(t.envFrom) && t.envFrom.every(isObject))),
  );
}

function isProfileRecord(v: JsonValue): boolean {
  if (!isObject(v)) return false;
  if (typeof v.name !== 'string' || typeof v.version !== 'string' || typeof v.hash !== 'string') return false;
  if (v.mode !== 'native' && v.mode !== 'classic') return false;
  return (
    ['containers', 'initContainers', 'volumes', 'imagePullSecrets', 'labels', 'annotations'].every((k) => optStrings(v, k)) &&
    isTargets(v.targets) &&
    isTargets(v.initTargets)
  );
}

/**
 * Reads the status annotation. Returns undefined when absent, or an error message when present but
 * not a record this version of Outrigger wrote.
 */
export function readStatus(pod: JsonObject): { status?: StatusRecord; error?: string } {
  const meta = pod.metadata;
  const ann = isObject(meta) ? meta.annotations : undefined;
  const raw = isObject(ann) && Object.hasOwn(ann, STATUS_ANNOTATION) ? ann[STATUS_ANNOTATION] : undefined;
  if (raw === undefined) return {};
  if (typeof raw !== 'string') return { error: `${STATUS_ANNOTATION} must be a string` };
  // The cap bounds the work uninject does for any input; the API server stores no larger annotations.
  if (raw.length > MAX_STATUS_BYTES) return { error: `${STATUS_ANNOTATION} is larger than ${MAX_STATUS_BYTES} bytes, more than a stored pod can carry` };
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(raw) as JsonValue;
  } catch {
    return { error: `${STATUS_ANNOTATION} is not valid JSON` };
  }
  if (!isObject(parsed) || parsed.v !== 1 || !Array.isArray(parsed.profiles) || !parsed.profiles.every(isProfileRecord) || !optStrings(parsed, 'created')) {
    return { error: `${STATUS_ANNOTATION} is not a status record written by this version of Outrigger` };
  }
  const bad = ((parsed.created ?? []) as string[]).findIndex((e) => !isCreatedEntry(e));
  if (bad >= 0) return { error: `${STATUS_ANNOTATION}: created[${bad}] is not a field Outrigger creates` };
  // One entry per profile, as written; it also bounds the entries checked against the pod by the profiles that exist.
  const names = new Set<string>();
  for (const [i, r] of (parsed.profiles as JsonObject[]).entries()) {
    if (names.has(r.name as string)) return { error: `${STATUS_ANNOTATION}: profiles[${i}] repeats an earlier profile` };
    names.add(r.name as string);
  }
  return { status: parsed as unknown as StatusRecord };
}
