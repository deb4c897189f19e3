/**
 * Exact comparison of what the pod holds against what a profile renders, allowing only what the API
 * server itself adds. The API server defaults a pod after every mutating webhook's patch, so on
 * reinvocation (and in a live pod) an injected sidecar comes back with fields the profile never set.
 * Each such field is allowed here only with the value defaulting gives it: a field at its default
 * value means the same as an absent one, so nothing a look-alike adds (a `command`,
 * `securityContext.privileged`) passes. This file is the one list of those defaults
 * (k8s.io/kubernetes pkg/apis/core/v1/defaults.go and the admission plugins that add to every
 * container); docs/operations.md describes it.
 */
import { deepEqual, isObject, type JsonObject, type JsonValue } from '../common/json.ts';
import { parseQuantity } from './quantity.ts';

/** Where a default is computed: the object holding the field, the object holding that, the pod, and what the profile sets for holder and parent. */
interface At {
  holder: JsonObject;
  parent: JsonObject | undefined;
  key: string;
  pod: JsonObject;
  expected: JsonObject;
  expectedParent: JsonObject | undefined;
}

/** The fields of an object (or list item) that the API server fills in, and how to compare what it holds. */
export interface Shape {
  /** A field the profile leaves out may be present only with this value; `*` stands for any key. */
  defaults?: Readonly<Record<string, JsonValue | ((at: At) => JsonValue | undefined)>>;
  /** Nested objects and lists, by field name. */
  fields?: Readonly<Record<string, Shape>>;
  /** The shape of every list item or map value. */
  each?: Shape;
  /** The list without the items an admission plugin adds to every container, which the pod may have beyond the profile's. */
  withoutExtra?: (items: readonly JsonValue[], pod: JsonObject) => readonly JsonValue[];
  /** A string compared by value as a quantity: the API server writes `0.5` back as `500m`. */
  quantity?: boolean;
  /** A value an admission plugin sets whatever the profile says. */
  forced?: JsonValue;
}

const TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The plugin names the volume `kube-api-access-` and five random characters. */
const TOKEN_VOLUME_NAME = /^kube-api-access-[a-z0-9]{5}$/;

/** The volume the ServiceAccount admission plugin adds (plugin/pkg/admission/serviceaccount, as a 1.35 API server stores it). */
const tokenVolume = (name: string): JsonObject => ({
  name,
  projected: {
    sources: [
      { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
    defaultMode: 420,
  },
});

const isTokenMountShape = (m: JsonValue): m is JsonObject =>
  isObject(m) &&
  m.mountPath === TOKEN_PATH &&
  m.readOnly === true &&
  typeof m.name === 'string' &&
  TOKEN_VOLUME_NAME.test(m.name) &&
  Object.keys(m).length === 3;

/**
 * The mounts without the service-account token mount the plugin adds to every container, sidecars
 * too. It counts only over exactly the plugin's volume: a mount at the token path from a volume of
 * the pod's choosing (a hostPath) is the pod's own. One such mount at most, so the volume list is
 * read once.
 */
function withoutTokenMount(mounts: readonly JsonValue[], pod: JsonObject): readonly JsonValue[] {
  const candidates = mounts.filter(isTokenMountShape);
  const [mount] = candidates;
  if (candidates.length !== 1 || !mount) return mounts;
  const volumes = isObject(pod.spec) && Array.isArray(pod.spec.volumes) ? pod.spec.volumes : [];
  const volume = volumes.find((v) => isObject(v) && v.name === mount.name);
  return deepEqual(volume, tokenVolume(mount.name as string)) ? mounts.filter((m) => m !== mount) : mounts;
}

/** `Always` for `:latest` or no tag, else `IfNotPresent` (a digest without a tag included). */
function defaultPullPolicy(image: JsonValue | undefined): string | undefined {
  if (typeof image !== 'string') return undefined;
  const at = image.indexOf('@');
  const name = at >= 0 ? image.slice(0, at) : image;
  const colon = name.lastIndexOf(':');
  const tag = colon > name.lastIndexOf('/') ? name.slice(colon + 1) : undefined;
  return tag === 'latest' || (tag === undefined && at < 0) ? 'Always' : 'IfNotPresent';
}

const isQuantity = (v: JsonValue | undefined) => typeof v === 'string' && parseQuantity(v) !== undefined;
const quantityMap = (v: JsonValue | undefined): v is JsonObject => isObject(v) && Object.values(v).every(isQuantity);

/**
 * LimitRanger fills in a namespace LimitRange's `default` limits and `defaultRequest` requests for
 * the resources a container leaves out, sidecars too. A limit the profile does not set may so be
 * any quantity; a request the profile does not set equals the profile's limit (SetDefaults_Pod)
 * where it sets one, else any quantity.
 */
const anyQuantity = ({ holder, key }: At) => (isQuantity(holder[key]) ? holder[key] : undefined);
const defaultedRequest = (at: At) => (limitOf(at.expectedParent, at.key) !== undefined ? limitOf(at.parent, at.key) : anyQuantity(at));
function defaultedRequests({ holder, expected }: At): JsonValue | undefined {
  if (!quantityMap(holder.requests)) return undefined;
  const ok = Object.entries(holder.requests).every(([k, v]) => (limitOf(expected, k) !== undefined ? limitOf(holder, k) === v : true));
  return ok ? holder.requests : undefined;
}
/** The resources of a container for which the profile sets none: LimitRanger's, or none. */
function limitRangerResources({ holder }: At): JsonValue {
  const r = holder.resources;
  const fromPlugin = isObject(r) && Object.keys(r).every((k) => (k === 'limits' || k === 'requests') && quantityMap(r[k]));
  return fromPlugin ? r : {};
}
const FIELD_REF: Shape = { defaults: { apiVersion: 'v1' } };
const RESOURCE_FIELD_REF: Shape = { defaults: { divisor: '0' }, fields: { divisor: { quantity: true } } };
const HTTP_GET: Shape = { defaults: { path: '/', scheme: 'HTTP' } };
const PROBE: Shape = {
  defaults: { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
  fields: { httpGet: HTTP_GET, grpc: { defaults: { service: '' } } },
};
const HANDLER: Shape = { fields: { httpGet: HTTP_GET } };
const hostNetwork = (pod: JsonObject) => isObject(pod.spec) && pod.spec.hostNetwork === true;

export const CONTAINER: Shape = {
  defaults: {
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: ({ holder }) => defaultPullPolicy(holder.image),
    resources: limitRangerResources,
  },
  fields: {
    // AlwaysPullImages sets Always on every container.
    imagePullPolicy: { forced: 'Always' },
    resources: {
      // Requests default to the limits, per resource (SetDefaults_Pod); LimitRanger adds the rest.
      defaults: { requests: defaultedRequests, limits: ({ holder }) => (quantityMap(holder.limits) ? holder.limits : undefined) },
      fields: {
        limits: { each: { quantity: true }, defaults: { '*': anyQuantity } },
        requests: { each: { quantity: true }, defaults: { '*': defaultedRequest } },
      },
    },
    ports: { each: { defaults: { protocol: 'TCP', hostPort: ({ holder, pod }) => (hostNetwork(pod) ? holder.containerPort : undefined) } } },
    env: { each: { fields: { valueFrom: { fields: { fieldRef: FIELD_REF, resourceFieldRef: RESOURCE_FIELD_REF } } } } },
    livenessProbe: PROBE,
    readinessProbe: PROBE,
    startupProbe: PROBE,
    lifecycle: { fields: { postStart: HANDLER, preStop: HANDLER } },
    volumeMounts: { withoutExtra: withoutTokenMount },
  },
};

function limitOf(resources: JsonValue | undefined, key: string): JsonValue | undefined {
  if (!isObject(resources)) return undefined;
  const limits = resources.limits;
  return isObject(limits) && Object.hasOwn(limits, key) ? limits[key] : undefined;
}

/** An env var the profile adds to an app container. */
export const ENV_VAR: Shape = CONTAINER.fields?.env?.each ?? {};

const DOWNWARD_ITEMS: Shape = { each: { fields: { fieldRef: FIELD_REF, resourceFieldRef: RESOURCE_FIELD_REF } } };
export const VOLUME: Shape = {
  fields: {
    configMap: { defaults: { defaultMode: 420 } },
    secret: { defaults: { defaultMode: 420 } },
    downwardAPI: { defaults: { defaultMode: 420 }, fields: { items: DOWNWARD_ITEMS } },
    projected: {
      defaults: { defaultMode: 420 },
      fields: {
        sources: { each: { fields: { serviceAccountToken: { defaults: { expirationSeconds: 3600 } }, downwardAPI: { fields: { items: DOWNWARD_ITEMS } } } } },
      },
    },
    hostPath: { defaults: { type: '' } },
    emptyDir: { fields: { sizeLimit: { quantity: true } } },
  },
};

/** No field of these is defaulted: equal means equal. */
export const EXACT: Shape = {};

/** A key as a message shows it: pod input, so cut and quoted unless it is a plain field name. */
const keyText = (k: string) => (/^[A-Za-z0-9_-]{1,63}$/.test(k) ? k : JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k));

/**
 * Where `actual` (from the pod) differs from `expected` (rendered from a profile), allowing only the
 * defaults of `shape`; undefined when they are the same. The walk follows `expected`, so its cost is
 * bounded by the profile, plus one pass over each list the pod holds in its place.
 */
export function difference(
  actual: JsonValue | undefined,
  expected: JsonValue,
  shape: Shape,
  pod: JsonObject,
  path = '',
  parent?: JsonObject,
  expectedParent?: JsonObject,
): string | undefined {
  const here = path || 'the item';
  if (actual === undefined) return `${here} is missing`;
  if (shape.forced !== undefined && actual === shape.forced) return undefined;
  if (shape.quantity && isScalarQuantity(actual) && isScalarQuantity(expected)) {
    const a = parseQuantity(String(actual));
    return a !== undefined && a === parseQuantity(String(expected)) ? undefined : `${here} is not the quantity the profile sets`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${here} is not a list`;
    const items = shape.withoutExtra ? shape.withoutExtra(actual, pod) : actual;
    if (items.length !== expected.length) return `${here} has ${items.length} items, the profile sets ${expected.length}`;
    for (const [i, e] of expected.entries()) {
      const d = difference(items[i], e, shape.each ?? EXACT, pod, `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (isObject(expected)) {
    if (!isObject(actual)) return `${here} is not an object`;
    for (const k of Object.keys(expected)) {
      const d = difference(
        Object.hasOwn(actual, k) ? actual[k] : undefined,
        expected[k] as JsonValue,
        shape.fields?.[k] ?? shape.each ?? EXACT,
        pod,
        `${path}.${keyText(k)}`,
        actual,
        expected,
      );
      if (d) return d;
    }
    for (const k of Object.keys(actual)) {
      if (!Object.hasOwn(expected, k) && !isServerDefault(actual, k, shape, pod, { parent, expected, expectedParent }))
        return `${path}.${keyText(k)} is set, and the profile does not set it`;
    }
    return undefined;
  }
  return actual === expected ? undefined : `${here} is not what the profile sets`;
}

const isScalarQuantity = (v: JsonValue) => typeof v === 'string' || typeof v === 'number';

/** Whether `holder[key]`, which the profile does not set, is what the API server would have put there. */
function isServerDefault(holder: JsonObject, key: string, shape: Shape, pod: JsonObject, at: Pick<At, 'parent' | 'expected' | 'expectedParent'>): boolean {
  const value = holder[key] as JsonValue;
  const inner = shape.fields?.[key];
  if (inner?.withoutExtra && Array.isArray(value) && inner.withoutExtra(value, pod).length === 0) return true;
  const d = shape.defaults && (Object.hasOwn(shape.defaults, key) ? shape.defaults[key] : shape.defaults['*']);
  if (d === undefined) return false;
  const want = typeof d === 'function' ? d({ holder, key, pod, ...at }) : d;
  if (want === undefined) return false;
  return deepEqual(value, want) || difference(value, want, inner ?? shape.each ?? EXACT, pod, '', holder, at.expected) === undefined;
}
