/**
 * A running estimate of the injected pod's size as JSON, so a pod the API server cannot store is
 * refused before the diff, the self-check and the encoding of the answer each cost its size again.
 * The estimate adds what each profile puts in, once per place it goes (env goes into every target):
 * the profile's own parts, measured once, plus the characters its templates rendered (JSON escapes
 * of rendered text are not counted: an estimate, bounded by the render budget).
 */
import type { JsonObject, JsonValue } from '../common/json.ts';
import type { SidecarProfile } from './profile.ts';
import { type Parts, renderedTextOf } from './render.ts';
import type { ProfileRecord } from './status.ts';

/** etcd's default request limit (1.5 MiB): the API server stores no larger object. */
export const MAX_OBJECT_BYTES = 1_572_864;

interface PartsSize {
  /** Sidecars, volumes, pull secrets, labels and annotations: added once. */
  once: number;
  /** env, envFrom and volumeMounts: added to each targeted container. */
  perTarget: number;
}

// A profile's own parts (templates unrendered) are measured once per loaded profile; a rendering
// adds the characters its templates produced, which the renderer counts as it goes.
const profileSizes = new WeakMap<SidecarProfile, PartsSize>();
function profileSize(p: SidecarProfile): PartsSize {
  let s = profileSizes.get(p);
  if (!s) {
    const len = (v: unknown) => JSON.stringify(v).length;
    s = {
      once: len(p.containers) + len(p.initContainers) + len(p.volumes) + len(p.imagePullSecrets) + len(p.labels) + len(p.annotations),
      perTarget: len(p.env) + len(p.envFrom) + len(p.volumeMounts),
    };
    profileSizes.set(p, s);
  }
  return s;
}

/** The pod's own size as JSON, exactly. */
export function podBytes(pod: JsonObject): number {
  return JSON.stringify(pod).length;
}

/**
 * At least the pod's size as JSON, from a walk that only adds up lengths: a character is at most
 * 6 as JSON (`\u001f`), a number, boolean or null at most 32. A tenth of the cost of serialising
 * the pod, which most pods need not be: they are far below the limit even at this bound.
 */
function bytesBound(v: JsonValue | undefined): number {
  if (typeof v === 'string') return 6 * v.length + 2;
  if (typeof v !== 'object' || v === null) return 32;
  let n = 2;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) n += bytesBound(v[i]) + 1;
    return n;
  }
  // Anything but a plain object (a Date from a YAML document) serialises its own way: measured.
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return JSON.stringify(v)?.length ?? 0;
  for (const k in v) n += 6 * k.length + 4 + bytesBound(v[k]);
  return n;
}

/**
 * The pod's size as profiles are merged into it: `add` takes what a profile adds (addedBytes) and
 * returns the total when it would pass MAX_OBJECT_BYTES (then nothing is added), or undefined.
 * The pod is serialised to measure it exactly only when the cheap bound is not enough to decide.
 */
export interface PodSize {
  add(bytes: number): number | undefined;
}

export function podSize(pod: JsonObject): PodSize {
  const bound = bytesBound(pod);
  let exact: number | undefined;
  let added = 0;
  return {
    add(bytes) {
      if (bound + added + bytes > MAX_OBJECT_BYTES) {
        exact ??= podBytes(pod);
        if (exact + added + bytes > MAX_OBJECT_BYTES) return exact + added + bytes;
      }
      added += bytes;
      return undefined;
    },
  };
}

/**
 * About how many bytes merging `parts` (rendered from `profile`) added, given the targets the merge
 * recorded; `targetsOnly` when only env, envFrom and mounts were merged.
 */
export function addedBytes(profile: SidecarProfile, parts: Parts, record: Pick<ProfileRecord, 'targets' | 'initTargets'>, targetsOnly = false): number {
  const own = profileSize(profile);
  const text = renderedTextOf(parts);
  const perTarget = own.perTarget + text.perTarget;
  const once = targetsOnly ? 0 : own.once + text.total - text.perTarget;
  const targets = Object.keys(record.targets ?? {}).length + Object.keys(record.initTargets ?? {}).length;
  return once + perTarget * targets;
}

export const TOO_LARGE = (bytes: number) =>
  `the pod would be about ${bytes} bytes as JSON, more than the ${MAX_OBJECT_BYTES} the API server stores (etcd's request limit)`;
