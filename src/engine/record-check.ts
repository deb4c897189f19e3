/**
 * Whether a pod holds exactly what one entry of its status record claims. The record is pod input
 * and its hash is public: a copied record on a pod without the sidecars, with a look-alike sidecar,
 * or with app containers lacking the profile's env must not pass for injected, or a mandatory
 * profile could be skipped. So every item the profile renders must be in the pod, equal to the
 * rendering up to the API server's defaults (server-defaults.ts), and the record may name nothing
 * the profile does not add.
 */
import { isObject, type JsonObject, type JsonValue, listOf, nameOf, stringMap } from '../common/json.ts';
import { globList } from '../common/k8s-names.ts';
import type { SidecarProfile } from './profile.ts';
import type { Parts } from './render.ts';
import { CONTAINER, difference, ENV_VAR, EXACT, type Shape, VOLUME } from './server-defaults.ts';
import type { ProfileRecord, TargetRecord } from './status.ts';

export interface CheckOptions {
  /**
   * Whether targeted containers the record does not name must already hold the profile's env,
   * mounts and envFrom. Injection extends the profile to them instead (they were added after it,
   * by another webhook); a report on a running pod checks them.
   */
  unrecordedTargets: 'extend' | 'check';
}

/** Items of a list by key, the last of duplicates winning, as for env at run time (the API server rejects other duplicates). */
function byKey(list: JsonValue | undefined, keyOf: (v: JsonValue) => unknown): Map<unknown, JsonValue> {
  const out = new Map<unknown, JsonValue>();
  for (const item of listOf(list)) {
    const k = keyOf(item);
    if (k !== undefined) out.set(k, item);
  }
  return out;
}

const mountPathOf = (v: JsonValue) => (isObject(v) ? v.mountPath : undefined);

/** A key as a message shows it: recorded keys are pod input, so they are cut. */
const quote = (k: unknown) => JSON.stringify(typeof k === 'string' && k.length > 63 ? `${k.slice(0, 63)}…` : k);

/**
 * One keyed list: the recorded keys are some of the rendered ones, and every rendered item is in
 * the pod as rendered. An item the record does not name was the pod's own before injection: equal,
 * or (conflictPolicy keep-pod) kept as the pod had it; `unrecorded` finds those (containers and init
 * containers share one name space).
 */
function keyedMismatch(
  what: string,
  rendered: readonly JsonValue[],
  keyOf: (v: JsonValue) => unknown,
  recorded: readonly string[] | undefined,
  actual: ReadonlyMap<unknown, JsonValue>,
  shape: Shape,
  keepPod: boolean,
  pod: JsonObject,
  unrecorded: (k: unknown) => JsonValue | undefined = (k) => actual.get(k),
): string | undefined {
  const renderedKeys = new Set(rendered.map(keyOf));
  const own = new Set(recorded);
  for (const k of own) if (!renderedKeys.has(k)) return `${what} ${quote(k)} is recorded, and the profile does not add it`;
  for (const item of rendered) {
    const k = keyOf(item);
    const found = own.has(k as string) ? actual.get(k) : unrecorded(k);
    if (found === undefined) return `${what} ${quote(k)} is missing`;
    if (!own.has(k as string) && keepPod) continue;
    const d = difference(found, item, shape, pod);
    if (d) return `${what} ${quote(k)}: ${d}`;
  }
  return undefined;
}

function mapMismatch(
  what: string,
  rendered: Readonly<Record<string, string>>,
  recorded: readonly string[] | undefined,
  actual: Record<string, string>,
  keepPod: boolean,
): string | undefined {
  for (const k of recorded ?? []) if (!Object.hasOwn(rendered, k)) return `${what} ${quote(k)} is recorded, and the profile does not add it`;
  const own = new Set(recorded);
  for (const [k, v] of Object.entries(rendered)) {
    if (!Object.hasOwn(actual, k)) return `${what} ${quote(k)} is missing`;
    if (actual[k] !== v && (own.has(k) || !keepPod)) return `${what} ${quote(k)} is not the value the profile sets`;
  }
  return undefined;
}

/** The env, envFrom and mounts the profile adds to one targeted container. */
function targetMismatch(where: string, c: JsonObject, parts: Parts, rec: TargetRecord, keepPod: boolean, pod: JsonObject): string | undefined {
  const envFrom = listOf(c.envFrom);
  const from = parts.envFrom.find((f) => !envFrom.some((x) => difference(x, f, EXACT, pod) === undefined));
  if (from) return `${where} lacks an envFrom the profile adds`;
  if ((rec.envFrom ?? []).some((f) => !parts.envFrom.some((x) => difference(f, x, EXACT, pod) === undefined)))
    return `${where} has an envFrom recorded that the profile does not add`;
  return (
    keyedMismatch(`${where} env`, parts.env, nameOf, rec.env, byKey(c.env, nameOf), ENV_VAR, keepPod, pod) ??
    keyedMismatch(`${where} volumeMount at`, parts.volumeMounts, mountPathOf, rec.volumeMounts, byKey(c.volumeMounts, mountPathOf), EXACT, keepPod, pod)
  );
}

function targetsMismatch(
  pod: JsonObject,
  field: 'containers' | 'initContainers',
  globs: readonly string[],
  injected: ReadonlySet<string>,
  records: Readonly<Record<string, TargetRecord>> | undefined,
  parts: Parts,
  keepPod: boolean,
  o: CheckOptions,
): string | undefined {
  const noun = field === 'containers' ? 'container' : 'init container';
  const recs = records ?? {};
  const patterns = globList(globs);
  const containers = byKey(isObject(pod.spec) ? pod.spec[field] : undefined, nameOf);
  const targeted = (n: string) => !injected.has(n) && patterns.test(n);
  const recorded = Object.keys(recs);
  for (const n of recorded) {
    if (!containers.has(n) || !targeted(n)) return `recorded target ${noun} ${quote(n)} is not one of the pod's own that the profile targets`;
  }
  if (recorded.length === 0 && parts.env.length === 0 && parts.envFrom.length === 0 && parts.volumeMounts.length === 0) return undefined;
  for (const [n, c] of containers) {
    if (typeof n !== 'string' || !isObject(c) || !targeted(n)) continue;
    const rec = Object.hasOwn(recs, n) ? recs[n] : undefined;
    if (!rec && o.unrecordedTargets === 'extend') continue;
    const d = targetMismatch(`${noun} ${quote(n)}`, c, parts, rec ?? {}, keepPod, pod);
    if (d) return d;
  }
  return undefined;
}

/**
 * Why the pod does not hold profile `p` as its record entry `r` says, or undefined when it does.
 * `injected` names every container any profile's record claims: those are never targets; `mode` is
 * the one the profile's sidecars get on this cluster.
 */
export function recordMismatch(
  pod: JsonObject,
  r: ProfileRecord,
  p: SidecarProfile,
  parts: Parts,
  here: { injected: ReadonlySet<string>; mode: 'native' | 'classic' },
  o: CheckOptions,
): string | undefined {
  // With sidecarMode auto the cluster's version decides: classic output copied onto a newer cluster is not injected.
  if (r.mode !== here.mode) return `recorded as ${r.mode} sidecars, and the profile's sidecarMode ${p.sidecarMode} gives ${here.mode} ones here`;
  const { injected } = here;
  const spec = isObject(pod.spec) ? pod.spec : {};
  const meta = isObject(pod.metadata) ? pod.metadata : {};
  const keepPod = p.conflictPolicy === 'keep-pod';
  const sidecars = r.mode === 'native' ? parts.containers.map((c) => ({ ...c, restartPolicy: 'Always' })) : parts.containers;
  const init = r.mode === 'native' ? [...parts.initContainers, ...sidecars] : parts.initContainers;
  const containers = byKey([...listOf(spec.initContainers), ...listOf(spec.containers)], nameOf);
  const keyed = (what: string, rendered: readonly JsonValue[], recorded: readonly string[] | undefined, field: string, shape: Shape, anyContainer?: boolean) =>
    keyedMismatch(what, rendered, nameOf, recorded, byKey(spec[field], nameOf), shape, keepPod, pod, anyContainer ? (k) => containers.get(k) : undefined);
  return (
    keyed('init container', init, r.initContainers, 'initContainers', CONTAINER, true) ??
    keyed('container', r.mode === 'native' ? [] : sidecars, r.containers, 'containers', CONTAINER, true) ??
    keyed('volume', parts.volumes, r.volumes, 'volumes', VOLUME) ??
    keyed('imagePullSecret', parts.imagePullSecrets, r.imagePullSecrets, 'imagePullSecrets', EXACT) ??
    mapMismatch('label', parts.labels, r.labels, stringMap(meta.labels), keepPod) ??
    mapMismatch('annotation', parts.annotations, r.annotations, stringMap(meta.annotations), keepPod) ??
    targetsMismatch(pod, 'containers', p.targets, injected, r.targets, parts, keepPod, o) ??
    targetsMismatch(pod, 'initContainers', p.initContainerTargets, injected, r.initTargets, parts, keepPod, o)
  );
}

/** The init containers the checked record entries render, in profile order, and those they record. */
export interface InitOrder {
  rendered: string[];
  recorded: Set<string>;
}

/**
 * Injection puts every profile's init containers and native sidecars before the pod's own, in
 * profile order (README "Order"): a mandatory sidecar runs before anything of the pod's. A record
 * holds only when the pod still has that order; an init container of the pod's before them would
 * run first. An unrecorded item the profiles render (identical already, or kept by keep-pod) may
 * stand where the pod had it.
 */
export function initOrderMismatch(pod: JsonObject, order: InitOrder): string | undefined {
  if (order.recorded.size === 0) return undefined;
  const want = order.rendered.filter((n) => order.recorded.has(n));
  const rendered = new Set(order.rendered);
  const got: string[] = [];
  let own: unknown;
  for (const c of listOf(isObject(pod.spec) ? pod.spec.initContainers : undefined)) {
    const n = nameOf(c);
    if (typeof n === 'string' && order.recorded.has(n)) {
      if (own !== undefined) return `init container ${quote(n)} runs after the pod's own init container ${quote(own)}`;
      got.push(n);
    } else if (own === undefined && !(typeof n === 'string' && rendered.has(n))) own = n;
  }
  const i = want.findIndex((n, j) => got[j] !== n);
  return i < 0 ? undefined : `init container ${quote(want[i])} is not in the place injection gives it`;
}
