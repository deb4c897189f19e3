/**
 * Kubernetes Events on the workload that owns a pod Outrigger skipped or denied, so `kubectl
 * describe deployment` shows why its pods have no sidecar. Sent after the admission response, from
 * a bounded queue, rate-limited per owner and reason, per namespace and overall: a crash-looping
 * ReplicaSet re-creating pods cannot turn into an event storm against the API server, and flooding
 * namespaces, however many, cannot silence the events of namespaces within their own rate.
 */
import { isObject, type JsonObject } from '../common/json.ts';
import { dns1123Subdomain } from '../common/k8s-names.ts';
import { REPORTING_CONTROLLER } from '../common/labels.ts';
import type { KubeClient } from './client.ts';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
}

export interface EventRequest {
  target: EventTarget;
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

/**
 * The controllers that create pods, by the ownerReference they set. A pod's ownerReferences are
 * written by whoever creates the pod, so they are only a claim: the Event goes to an owner only
 * when it is one of these kinds, marked `controller`, with a uid and a valid name, and always in
 * the pod's own namespace (Events are namespaced; an owner elsewhere cannot be named). Within that
 * namespace anyone who may create pods can still name any such workload: the Event's note says
 * which pod it is about, so it reads as the pod's claim, never as the workload's own word.
 */
const POD_OWNERS = new Set(['apps/v1/ReplicaSet', 'apps/v1/StatefulSet', 'apps/v1/DaemonSet', 'batch/v1/Job', 'v1/ReplicationController']);

function trustedOwner(o: JsonObject): boolean {
  const { apiVersion, kind, name, uid } = o;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || typeof name !== 'string' || typeof uid !== 'string') return false;
  return o.controller === true && POD_OWNERS.has(`${apiVersion}/${kind}`) && dns1123Subdomain(name) === undefined && /^[0-9a-f-]{1,64}$/i.test(uid);
}

/** The pod's controlling owner (ReplicaSet, Job, StatefulSet, ...), else the pod itself when it has a name. */
export function eventTarget(pod: JsonObject, namespace: string): EventTarget | undefined {
  const meta = isObject(pod.metadata) ? pod.metadata : {};
  const owners = Array.isArray(meta.ownerReferences) ? meta.ownerReferences.filter(isObject) : [];
  const owner = owners.find(trustedOwner);
  if (owner) return { apiVersion: owner.apiVersion as string, kind: owner.kind as string, name: owner.name as string, namespace, uid: owner.uid as string };
  if (typeof meta.name === 'string' && dns1123Subdomain(meta.name) === undefined) return { apiVersion: 'v1', kind: 'Pod', name: meta.name, namespace };
  return undefined;
}

/** How the Event's note names the pod it is about (pods made by controllers have only a generateName). */
export function podLabel(pod: JsonObject): string {
  const meta = isObject(pod.metadata) ? pod.metadata : {};
  const name = typeof meta.name === 'string' && meta.name ? meta.name : typeof meta.generateName === 'string' ? `${meta.generateName}*` : '(unnamed)';
  return `pod ${name.length > 80 ? `${name.slice(0, 80)}...` : name}`;
}

/** The Event for a pod Outrigger skipped or denied, on the target above; the note names the pod. */
export function podEvent(pod: JsonObject, namespace: string, type: EventRequest['type'], reason: string, message: string): EventRequest | undefined {
  const target = eventTarget(pod, namespace);
  if (!target) return undefined;
  return { target, type, reason, note: target.kind === 'Pod' ? message : `${podLabel(pod)}: ${message}` };
}

interface Bucket {
  tokens: number;
  last: number;
}

interface NamespaceBucket extends Bucket {
  /** Until when the namespace counts as flooding: its own bucket refused it less than a window ago. */
  floodingUntil: number;
}

/** Takes a token from a bucket refilled at `rate` per second up to `burst`. */
function take(b: Bucket, now: number, rate: number, burst: number): boolean {
  b.tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.last) / 1000) * rate);
  b.last = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

/**
 * Token buckets plus a per-key quiet period; pure apart from the clock it is given. Each namespace
 * has its own bucket; the overall budget is split in two: a shared part anyone may spend, and a
 * reserve only for namespaces that stayed within their own rate for the last window. A namespace
 * refused by its own bucket is flooding and spends the shared part only, so any number of flooding
 * namespaces cannot take the reserve from the namespaces that report now and then. The total sent
 * stays within `ratePerSecond` (and `burst`).
 */
export class EventLimiter {
  readonly #shared: Bucket;
  readonly #reserve: Bucket;
  readonly #namespaces = new Map<string, NamespaceBucket>();
  readonly #order: string[] = [];
  #oldest = 0;
  readonly #recent = new Map<string, number>();
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly namespaceRatePerSecond: number;
  readonly namespaceBurst: number;
  readonly maxNamespaces: number;
  readonly perKeyMs: number;
  /** The part of the overall rate and burst kept for namespaces within their own rate. */
  readonly reserveFraction: number;
  readonly floodWindowMs: number;

  constructor(opts: {
    ratePerSecond?: number;
    burst?: number;
    namespaceRatePerSecond?: number;
    namespaceBurst?: number;
    maxNamespaces?: number;
    perKeyMs?: number;
    reserveFraction?: number;
    floodWindowMs?: number;
    now: number;
  }) {
    this.ratePerSecond = opts.ratePerSecond ?? 5;
    this.burst = opts.burst ?? 20;
    this.namespaceRatePerSecond = opts.namespaceRatePerSecond ?? 1;
    this.namespaceBurst = opts.namespaceBurst ?? 5;
    this.maxNamespaces = opts.maxNamespaces ?? 1000;
    this.perKeyMs = opts.perKeyMs ?? 5 * 60_000;
    this.reserveFraction = opts.reserveFraction ?? 0.5;
    this.floodWindowMs = opts.floodWindowMs ?? 60_000;
    this.#shared = { tokens: this.#sharedBurst, last: opts.now };
    this.#reserve = { tokens: this.#reserveBurst, last: opts.now };
  }

  /** Whole tokens, so the two parts together still allow exactly `burst`. */
  get #reserveBurst(): number {
    return Math.floor(this.burst * this.reserveFraction);
  }

  get #sharedBurst(): number {
    return this.burst - this.#reserveBurst;
  }

  /** Namespaces with a bucket being tracked (at most `maxNamespaces`). */
  get trackedNamespaces(): number {
    return this.#namespaces.size;
  }

  allow(namespace: string, key: string, now: number): boolean {
    const k = `${namespace}/${key}`;
    const seen = this.#recent.get(k);
    if (seen !== undefined && now - seen < this.perKeyMs) return false;
    const ns = this.#bucket(namespace, now);
    // The namespace's share first: a namespace over its share does not spend the overall budget.
    // Its bucket counts what it asks, sent or not, so asking faster than its rate marks it flooding.
    if (!take(ns, now, this.namespaceRatePerSecond, this.namespaceBurst)) {
      ns.floodingUntil = now + this.floodWindowMs;
      return false;
    }
    if (!this.#takeOverall(now, now < ns.floodingUntil)) return false;
    this.#recent.set(k, now);
    if (this.#recent.size > 10_000) {
      for (const [r, t] of this.#recent) if (now - t >= this.perKeyMs) this.#recent.delete(r);
    }
    return true;
  }

  /** The reserve first for a namespace within its rate (so the shared part is left to the others), else the shared part. */
  #takeOverall(now: number, flooding: boolean): boolean {
    const reserveRate = this.ratePerSecond * this.reserveFraction;
    if (!flooding && take(this.#reserve, now, reserveRate, this.#reserveBurst)) return true;
    return take(this.#shared, now, this.ratePerSecond - reserveRate, this.#sharedBurst);
  }

  /** The namespace's bucket; beyond the cap the oldest tracked namespace is forgotten (it starts again with a full bucket). */
  #bucket(namespace: string, now: number): NamespaceBucket {
    let b = this.#namespaces.get(namespace);
    if (!b) {
      // A ring of the tracked names in the order they came: the oldest is replaced in O(1).
      if (this.#order.length < this.maxNamespaces) this.#order.push(namespace);
      else {
        this.#namespaces.delete(this.#order[this.#oldest] as string);
        this.#order[this.#oldest] = namespace;
        this.#oldest = (this.#oldest + 1) % this.maxNamespaces;
      }
      b = { tokens: this.namespaceBurst, last: now, floodingUntil: 0 };
      this.#namespaces.set(namespace, b);
    }
    return b;
  }
}

export interface EventRecorderStats {
  sent: number;
  dropped: number;
  failed: number;
}

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #instance: string;
  readonly #limiter: EventLimiter;
  readonly #queue: EventRequest[] = [];
  readonly #maxQueue: number;
  #draining = false;
  readonly stats: EventRecorderStats = { sent: 0, dropped: 0, failed: 0 };
  onError?: (e: Error) => void;

  constructor(client: KubeClient, opts: { instance: string; maxQueue?: number; limiter?: EventLimiter }) {
    this.#client = client;
    this.#instance = opts.instance;
    this.#maxQueue = opts.maxQueue ?? 100;
    this.#limiter = opts.limiter ?? new EventLimiter({ now: Date.now() });
  }

  /** Never blocks and never throws: an event is best effort, the admission answer is not. */
  record(e: EventRequest): void {
    const key = `${e.target.kind}/${e.target.uid ?? e.target.name}/${e.reason}`;
    if (this.#queue.length >= this.#maxQueue || !this.#limiter.allow(e.target.namespace, key, Date.now())) {
      this.stats.dropped++;
      return;
    }
    this.#queue.push(e);
    if (!this.#draining) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    while (this.#queue.length > 0) {
      const e = this.#queue.shift() as EventRequest;
      const now = new Date().toISOString().replace('Z', '000Z');
      try {
        await this.#client.request('POST', `/apis/events.k8s.io/v1/namespaces/${e.target.namespace}/events`, {
          body: {
            apiVersion: 'events.k8s.io/v1',
            kind: 'Event',
            metadata: { generateName: `${e.target.name}.outrigger-`, namespace: e.target.namespace },
            eventTime: now,
            reportingController: REPORTING_CONTROLLER,
            reportingInstance: this.#instance,
            action: 'Inject',
            reason: e.reason,
            type: e.type,
            note: e.note.length > 1024 ? `${e.note.slice(0, 1021)}...` : e.note,
            regarding: { ...e.target },
          },
          timeoutMs: 5000,
        });
        this.stats.sent++;
      } catch (err) {
        this.stats.failed++;
        this.onError?.(err as Error);
      }
    }
    this.#draining = false;
  }

  /** Waits for queued events (used on shutdown and in tests). */
  async flush(): Promise<void> {
    while (this.#draining || this.#queue.length > 0) await new Promise((r) => setTimeout(r, 10));
  }
}
