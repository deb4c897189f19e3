/**
 * A running estimate of the injected pod's size as JSON, so a pod the API server cannot store is
 * refused before the diff, the self-check and the encoding of the answer each cost its size again.
 * The estimate adds what each profile puts in, once per place it goes (env goes into every target).
 */
import type { JsonObject } from './json.ts';
import type { Parts } from './render.ts';
import type { ProfileRecord } from './status.ts';

/** etcd's default request limit (1.5 MiB): the API server stores no larger object. */
export const MAX_OBJECT_BYTES = 1_572_864;

interface PartsSize {
  /** Sidecars, volumes, pull secrets, labels and annotations: added once. */
  once: number;
  /** env, envFrom and volumeMounts: added to each targeted container. */
  perTarget: number;
}

// Parts are frozen per rendering (or the profile's own), so each is measured once.
const sizes = new WeakMap<Parts, PartsSize>();
function sizeOf(parts: Parts): PartsSize {
  let s = sizes.get(parts);
  if (!s) {
    const len = (v: unknown) => JSON.stringify(v).length;
    s = {
      once: len(parts.containers) + len(parts.initContainers) + len(parts.volumes) + len(parts.imagePullSecrets) + len(parts.labels) + len(parts.annotations),
      perTarget: len(parts.env) + len(parts.envFrom) + len(parts.volumeMounts),
    };
    sizes.set(parts, s);
  }
  return s;
}

/** The pod's own size, measured once per pod object. */
const podSizes = new WeakMap<JsonObject, number>();
export function podBytes(pod: JsonObject): number {
  let n = podSizes.get(pod);
  if (n === undefined) {
    n = JSON.stringify(pod).length;
    podSizes.set(pod, n);
  }
  return n;
}

/** About how many bytes merging `parts` added, given the targets the merge recorded. */
export function addedBytes(parts: Parts, record: Pick<ProfileRecord, 'targets' | 'initTargets'>): number {
  const s = sizeOf(parts);
  const targets = Object.keys(record.targets ?? {}).length + Object.keys(record.initTargets ?? {}).length;
  return s.once + s.perTarget * targets;
}

export const TOO_LARGE = (bytes: number) =>
  `the pod would be about ${bytes} bytes as JSON, more than the ${MAX_OBJECT_BYTES} the API server stores (etcd's request limit)`;
