/**
 * The API server's pod validation rules that injection can break (the README lists them), as a pure
 * function returning one message per problem. Messages name containers and volumes by name, not
 * index, so the engine can tell problems a profile introduced from ones the pod already had.
 *
 * The engine asks which problems injection introduced (`introducedErrors`): the injected pod shares
 * what it did not change with the pod before injection (copy-on-write), and whatever it shares has
 * the same problems in both, so only the changed parts are checked.
 */
import { isObject, type JsonObject, type JsonValue, listOf } from '../common/json.ts';
import { dns1123Label, envName, labelValue, portName, qualifiedName } from '../common/k8s-names.ts';
import { parseQuantity } from './quantity.ts';

type Kind = 'container' | 'init container';

function checkResources(c: JsonObject, at: string, errors: string[]): void {
  const res = isObject(c.resources) ? c.resources : {};
  const req = isObject(res.requests) ? res.requests : {};
  const lim = isObject(res.limits) ? res.limits : {};
  for (const [r, q] of Object.entries(req)) {
    if (typeof q !== 'string' && typeof q !== 'number') continue;
    const rq = parseQuantity(String(q));
    if (rq === undefined) {
      errors.push(`${at}: resources.requests.${r} ${JSON.stringify(q)} is not a valid quantity`);
      continue;
    }
    const l = lim[r];
    if (typeof l !== 'string' && typeof l !== 'number') continue;
    const lq = parseQuantity(String(l));
    if (lq !== undefined && rq > lq) errors.push(`${at}: resources.requests.${r} (${q}) must not be greater than resources.limits.${r} (${l})`);
  }
  for (const [r, q] of Object.entries(lim)) {
    if ((typeof q === 'string' || typeof q === 'number') && parseQuantity(String(q)) === undefined)
      errors.push(`${at}: resources.limits.${r} ${JSON.stringify(q)} is not a valid quantity`);
  }
}

/**
 * Everything about one container that does not depend on the rest of the pod. With `like`, a
 * container of the same name and kind whose problems are known to be reported anyway: a check of a
 * field it has too (the same value or object) is left out, as is an env var it has, since each
 * message depends only on the kind, the name and that field.
 */
function intrinsic(c: JsonObject, kind: Kind, like?: JsonObject): string[] {
  const errors: string[] = [];
  if (c === like) return errors;
  const name = typeof c.name === 'string' ? c.name : '';
  const at = `${kind} ${JSON.stringify(name)}`;
  const e = like ? undefined : dns1123Label(name);
  if (e) errors.push(`${at}: name ${e}`);
  if ((like === undefined || c.image !== like.image) && (typeof c.image !== 'string' || c.image.trim() === '')) errors.push(`${at}: image is required`);

  if (like === undefined || c.ports !== like.ports) checkPorts(c, at, errors);

  const mountPaths = new Set<string>();
  for (const m of listOf(c.volumeMounts)) {
    if (!isObject(m) || typeof m.mountPath !== 'string') continue;
    if (mountPaths.has(m.mountPath)) errors.push(`${at}: mountPath ${JSON.stringify(m.mountPath)} is used more than once`);
    mountPaths.add(m.mountPath);
  }

  if (like === undefined || c.env !== like.env) checkEnv(c, at, listOf(like?.env), errors);
  if (like === undefined || c.resources !== like.resources) checkResources(c, at, errors);

  if (kind === 'container' && c.restartPolicy !== undefined) errors.push(`${at}: restartPolicy is only allowed on init containers`);
  if (kind === 'init container') {
    if (c.restartPolicy !== undefined && c.restartPolicy !== 'Always') errors.push(`${at}: restartPolicy may only be "Always"`);
    if (c.restartPolicy !== 'Always') {
      for (const f of ['readinessProbe', 'livenessProbe', 'startupProbe', 'lifecycle']) {
        if (c[f] !== undefined) errors.push(`${at}: ${f} is only allowed on init containers with restartPolicy "Always" (native sidecars)`);
      }
    }
  }
  return errors;
}

function checkPorts(c: JsonObject, at: string, errors: string[]): void {
  const portNames = new Set<string>();
  for (const p of listOf(c.ports)) {
    if (!isObject(p) || typeof p.name !== 'string') continue;
    const pe = portName(p.name);
    if (pe) errors.push(`${at}: port name ${JSON.stringify(p.name)} ${pe}`);
    if (portNames.has(p.name)) errors.push(`${at}: port name ${JSON.stringify(p.name)} is used more than once`);
    portNames.add(p.name);
  }
}

/**
 * Env var names; the very objects of `known` (a container like this one), in their order, are left
 * out: the merge keeps a container's env and adds to it, so it finds them walking both at once.
 */
function checkEnv(c: JsonObject, at: string, known: readonly JsonValue[], errors: string[]): void {
  let j = 0;
  for (const v of listOf(c.env)) {
    if (j < known.length && v === known[j]) {
      j++;
      continue;
    }
    if (isObject(v) && typeof v.name === 'string') {
      const ve = envName(v.name);
      if (ve) errors.push(`${at}: env ${JSON.stringify(v.name)} ${ve}`);
    }
  }
}

/** The API server's limit on all of an object's annotations together: keys and values, in UTF-8 bytes. */
export const MAX_ANNOTATION_BYTES = 256 * 1024;

/** UTF-8 length as Go counts it (a lone surrogate arrives from the API server as U+FFFD: 3 bytes). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Whether annotations exceed the API server's total size limit. */
export function annotationsTooLarge(annotations: JsonValue | undefined): boolean {
  if (!isObject(annotations)) return false;
  const entries = Object.entries(annotations);
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most pods are decided without counting bytes.
  let units = 0;
  for (const [k, v] of entries) units += k.length + (typeof v === 'string' ? v.length : 0);
  if (units * 3 <= MAX_ANNOTATION_BYTES) return false;
  // Nor is counting needed when there are more code units than the limit has bytes: each is at least one byte.
  if (units > MAX_ANNOTATION_BYTES) return true;
  let bytes = 0;
  for (const [k, v] of entries) bytes += utf8Length(k) + (typeof v === 'string' ? utf8Length(v) : 0);
  return bytes > MAX_ANNOTATION_BYTES;
}

export function validatePod(pod: JsonObject): string[] {
  return problems(pod, undefined);
}

/**
 * The problems of `pod` that `base` does not have, in validatePod's order: validatePod(pod) less
 * `baseErrors()`, which must be validatePod(base) (asked for only when the pod has a problem in a
 * part it does not share with `base`, which most pods never have).
 */
export function introducedErrors(base: JsonObject, pod: JsonObject, baseErrors: () => ReadonlySet<string>): string[] {
  if (pod === base) return [];
  const found = problems(pod, partsOf(base));
  if (found.length === 0) return found;
  const known = baseErrors();
  return found.filter((e) => !known.has(e));
}

/** The parts of a base pod a problem can be shared with: its containers by kind and name, its labels and annotations. */
interface BaseParts {
  containers: Record<Kind, Map<string, JsonObject>>;
  meta: JsonObject;
}

function partsOf(base: JsonObject): BaseParts {
  const spec = isObject(base.spec) ? base.spec : {};
  const byName = (list: JsonValue | undefined) => {
    const out = new Map<string, JsonObject>();
    for (const c of listOf(list)) if (isObject(c) && typeof c.name === 'string') out.set(c.name, c);
    return out;
  };
  return {
    containers: { container: byName(spec.containers), 'init container': byName(spec.initContainers) },
    meta: isObject(base.metadata) ? base.metadata : {},
  };
}

/**
 * validatePod; with `base`, leaving out problems that `base` is known to have too: those of a
 * container of the same kind and name (see intrinsic) and of a label or annotation it has with
 * the same value. What it keeps is in validatePod's order.
 */
function problems(pod: JsonObject, base: BaseParts | undefined): string[] {
  const errors: string[] = [];
  const spec = isObject(pod.spec) ? pod.spec : {};
  const meta = isObject(pod.metadata) ? pod.metadata : {};

  // No size in the message: it must read the same for the pod before and after injection.
  if (annotationsTooLarge(meta.annotations)) errors.push(`metadata.annotations: together they exceed the API server's limit of ${MAX_ANNOTATION_BYTES} bytes`);

  for (const kind of ['labels', 'annotations'] as const) {
    const map = meta[kind];
    const known = base && isObject(base.meta[kind]) ? (base.meta[kind] as JsonObject) : undefined;
    if (!isObject(map) || map === known) continue;
    for (const [k, v] of Object.entries(map)) {
      if (known && Object.hasOwn(known, k) && known[k] === v) continue;
      const e = qualifiedName(k);
      if (e) errors.push(`metadata.${kind}: key ${JSON.stringify(k)} ${e}`);
      if (kind === 'labels' && typeof v === 'string') {
        const ve = labelValue(v);
        if (ve) errors.push(`metadata.labels[${JSON.stringify(k)}]: value ${JSON.stringify(v)} ${ve}`);
      }
    }
  }

  const volumes = new Set<string>();
  for (const v of listOf(spec.volumes)) {
    if (!isObject(v) || typeof v.name !== 'string') continue;
    const e = dns1123Label(v.name);
    if (e) errors.push(`volume ${JSON.stringify(v.name)}: name ${e}`);
    if (volumes.has(v.name)) errors.push(`volume ${JSON.stringify(v.name)}: name is used more than once`);
    volumes.add(v.name);
  }

  const names = new Set<string>();
  const hostPorts = new Set<string>();
  const check = (c: JsonValue, kind: Kind) => {
    if (!isObject(c)) return;
    const name = typeof c.name === 'string' ? c.name : '';
    const at = `${kind} ${JSON.stringify(name)}`;
    errors.push(...intrinsic(c, kind, base?.containers[kind].get(name)));
    if (names.has(name)) errors.push(`${at}: name is used by another container or init container`);
    names.add(name);
    for (const p of listOf(c.ports)) {
      if (isObject(p) && typeof p.hostPort === 'number' && p.hostPort > 0) {
        const key = `${p.hostIP ?? ''}/${p.hostPort}/${p.protocol ?? 'TCP'}`;
        if (hostPorts.has(key)) errors.push(`${at}: hostPort ${p.hostPort}/${p.protocol ?? 'TCP'} is already used by another container`);
        hostPorts.add(key);
      }
    }
    for (const m of listOf(c.volumeMounts)) {
      if (isObject(m) && typeof m.name === 'string' && !volumes.has(m.name))
        errors.push(`${at}: volumeMount ${JSON.stringify(m.name)} names a volume the pod does not have`);
    }
  };
  for (const c of listOf(spec.initContainers)) check(c, 'init container');
  for (const c of listOf(spec.containers)) check(c, 'container');
  return errors;
}
