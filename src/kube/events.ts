/**
 * Kubernetes Events on the workload that owns a pod Outrigger skipped or denied, so `kubectl
 * describe deployment` shows why its pods have no sidecar. Sent after the admission response, from
 * a bounded queue, rate-limited per owner and reason and overall: a crash-looping ReplicaSet
 * re-creating pods cannot turn into an event storm against the API server.
 */
import { isObject, type JsonObject } from '../engine/json.ts';
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

/** The pod's controlling owner (ReplicaSet, Job, StatefulSet, ...), else the pod itself when it has a name. */
export function eventTarget(pod: JsonObject, namespace: string): EventTarget | undefined {
  const meta = isObject(pod.metadata) ? pod.metadata : {};
  const owners = Array.isArray(meta.ownerReferences) ? meta.ownerReferences.filter(isObject) : [];
  const owner = owners.find((o) => o.controller === true) ?? owners[0];
  if (owner && typeof owner.kind === 'string' && typeof owner.name === 'string' && typeof owner.apiVersion === 'string') {
    return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, namespace, ...(typeof owner.uid === 'string' ? { uid: owner.uid } : {}) };
  }
  if (typeof meta.name === 'string' && meta.name) return { apiVersion: 'v1', kind: 'Pod', name: meta.name, namespace };
  return undefined;
}

/** Token bucket plus a per-key quiet period; pure apart from the clock it is given. */
export class EventLimiter {
  #tokens: number;
  #last: number;
  readonly #recent = new Map<string, number>();
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly perKeyMs: number;

  constructor(opts: { ratePerSecond?: number; burst?: number; perKeyMs?: number; now: number }) {
    this.ratePerSecond = opts.ratePerSecond ?? 5;
    this.burst = opts.burst ?? 20;
    this.perKeyMs = opts.perKeyMs ?? 5 * 60_000;
    this.#tokens = this.burst;
    this.#last = opts.now;
  }

  allow(key: string, now: number): boolean {
    const seen = this.#recent.get(key);
    if (seen !== undefined && now - seen < this.perKeyMs) return false;
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.ratePerSecond);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    this.#recent.set(key, now);
    if (this.#recent.size > 10_000) {
      for (const [k, t] of this.#recent) if (now - t >= this.perKeyMs) this.#recent.delete(k);
    }
    return true;
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
    const key = `${e.target.namespace}/${e.target.kind}/${e.target.uid ?? e.target.name}/${e.reason}`;
    if (this.#queue.length >= this.#maxQueue || !this.#limiter.allow(key, Date.now())) {
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
            reportingController: 'outrigger.dev/webhook',
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
