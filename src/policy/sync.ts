/**
 * Policy mode in the cluster (`serve --admission policy`): keeps the admission policies that
 * `outrigger policy` would print for the cluster-wide profiles in step with them — applied with
 * server-side apply, and deleted when their profile goes or stops compiling. It owns every
 * admission policy and binding labelled with its controller namespace, and nothing else.
 *
 * Work is coalesced: one reconcile runs at a time, a change during it queues one more, and a
 * profile set already reconciled costs nothing (tenant edits do not change the cluster-wide set).
 * A failed reconcile is retried with a growing delay; only the elected replica writes.
 */
import type { JsonObject } from '../common/json.ts';
import { POLICY_RESOURCES, SYNCED_BY_LABEL } from '../common/labels.ts';
import type { KubeVersion, ProfileSet, SidecarProfile } from '../engine/index.ts';
import { KubeApiError, type KubeClient } from '../kube/client.ts';
import type { ProfileObjectState, ServedCondition } from '../kube/profiles.ts';
import { isClusterWide } from '../profiles/tenancy.ts';
import { compilePolicies } from './compile.ts';
import { POLICY_API_VERSION, policyName } from './objects.ts';
import type { Refusal } from './refusals.ts';

export const FIELD_MANAGER = 'outrigger';
const BASE = `/apis/${POLICY_API_VERSION}`;
const RETRY_MS = { first: 1_000, max: 60_000 };

/** How policy mode serves one profile: by its policies, or not at all (refused, with the field and why). */
export type Served = { policy: string } | { refused: string };

export interface PolicySyncOptions {
  controllerNamespace: string;
  kubeVersion: KubeVersion;
  /** Whether this replica writes (the elected one, or every replica when there is no election). */
  isLeader?: () => boolean;
  /** Called after a reconcile changed how some profile is served (its status then needs writing). */
  onServed?: () => void;
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

const pathOf = (o: JsonObject) => {
  const r = POLICY_RESOURCES.find((x) => x.kind === o.kind);
  if (!r) throw new Error(`policy sync: unexpected kind ${String(o.kind)}`);
  return `${BASE}/${r.plural}/${(o.metadata as JsonObject).name as string}`;
};

export class PolicySync {
  readonly #client: KubeClient;
  readonly #opts: PolicySyncOptions;
  #wanted: ProfileSet | undefined;
  /** The set the cluster holds the policies of, after a reconcile that succeeded. */
  #done: ProfileSet | undefined;
  #served = new Map<string, Served>();
  /** What was last applied to each object's path, so an unchanged object is not written again. */
  readonly #applied = new Map<string, string>();
  #running: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #retryMs = RETRY_MS.first;
  #stopped = false;

  constructor(client: KubeClient, opts: PolicySyncOptions) {
    this.#client = client;
    this.#opts = opts;
  }

  /** The cluster-wide profile set changed (or may have): reconcile to it soon. */
  update(set: ProfileSet): void {
    this.#wanted = set;
    this.#kick();
  }

  /** This replica became the writer: everything is applied once again, whatever it remembers. */
  resync(): void {
    this.#done = undefined;
    this.#applied.clear();
    this.#kick();
  }

  /** How a cluster-wide profile is served, once a reconcile has decided it. */
  served(p: SidecarProfile): Served | undefined {
    return this.#served.get(p.name);
  }

  /** Resolves when no reconcile is running or queued (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    await this.idle();
  }

  #kick(): void {
    if (this.#stopped || this.#running || this.#retry) return;
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
    });
  }

  async #loop(): Promise<void> {
    while (!this.#stopped && this.#wanted && this.#wanted !== this.#done && (this.#opts.isLeader?.() ?? true)) {
      const set = this.#wanted;
      try {
        await this.#reconcile(set);
        this.#done = set;
        this.#retryMs = RETRY_MS.first;
      } catch (e) {
        this.#opts.log?.('warn', 'could not keep the admission policies in step; retrying', { error: (e as Error).message, retryInMs: this.#retryMs });
        this.#retry = setTimeout(() => {
          this.#retry = undefined;
          this.#kick();
        }, this.#retryMs);
        this.#retry.unref();
        this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MS.max);
        return;
      }
    }
  }

  async #reconcile(set: ProfileSet): Promise<void> {
    const out = compilePolicies(set, this.#opts.kubeVersion);
    const owner = this.#opts.controllerNamespace;
    const desired = out.objects.map((o) => withLabel(o, owner));
    const keep = new Set(desired.map(pathOf));
    for (const r of POLICY_RESOURCES) for (const o of desired.filter((x) => x.kind === r.kind)) await this.#apply(o);
    for (const r of [...POLICY_RESOURCES].reverse()) {
      const list = await this.#client.request<{ items?: JsonObject[] }>('GET', `${BASE}/${r.plural}`, {
        query: { labelSelector: `${SYNCED_BY_LABEL}=${owner}` },
      });
      for (const o of list.items ?? []) {
        const path = `${BASE}/${r.plural}/${(o.metadata as JsonObject).name as string}`;
        if (keep.has(path)) continue;
        await this.#client.request('DELETE', path).catch((e) => {
          if (!(e instanceof KubeApiError && e.status === 404)) throw e;
        });
        this.#applied.delete(path);
        this.#opts.log?.('info', 'deleted an admission policy no profile needs', { path });
      }
    }
    this.#setServed(set, out.compiled, out.refusals);
  }

  async #apply(o: JsonObject): Promise<void> {
    const path = pathOf(o);
    const text = JSON.stringify(o);
    if (this.#applied.get(path) === text) return;
    // Server-side apply, forced: these objects are Outrigger's own, whoever edited them since.
    await this.#client.request('PATCH', path, { query: { fieldManager: FIELD_MANAGER, force: true }, body: o, contentType: 'application/apply-patch+yaml' });
    this.#applied.set(path, text);
    this.#opts.log?.('info', 'applied an admission policy', { path });
  }

  #setServed(set: ProfileSet, compiled: readonly string[], refusals: readonly Refusal[]): void {
    const next = new Map<string, Served>();
    for (const name of compiled) {
      const p = set.byName.get(name);
      if (p) next.set(name, { policy: policyName(p) });
    }
    for (const r of refusals) if (!next.has(r.profile)) next.set(r.profile, { refused: `${r.path}: ${r.why}` });
    const same = next.size === this.#served.size && [...next].every(([k, v]) => JSON.stringify(this.#served.get(k)) === JSON.stringify(v));
    this.#served = next;
    if (!same) this.#opts.onServed?.();
  }
}

function withLabel(o: JsonObject, owner: string): JsonObject {
  const meta = o.metadata as JsonObject;
  return { ...o, metadata: { ...meta, labels: { ...(meta.labels as JsonObject), [SYNCED_BY_LABEL]: owner } } };
}

/** The `Served` condition of a profile in policy mode. */
export function servedCondition(s: ProfileObjectState, sync: PolicySync, controllerNamespace: string): ServedCondition | undefined {
  if (!s.active) return undefined;
  if (!isClusterWide(s.active, controllerNamespace)) {
    return {
      status: 'False',
      reason: 'PolicyRefused',
      message: `Not injected: policy mode serves only cluster-wide profiles (from files or namespace ${controllerNamespace}); tenant profiles are not compiled to admission policies.`,
    };
  }
  const served = sync.served(s.active);
  if (!served) return undefined;
  return 'policy' in served
    ? { status: 'True', reason: 'Policy', message: `Injected by the API server: MutatingAdmissionPolicy ${served.policy}.` }
    : { status: 'False', reason: 'PolicyRefused', message: `Not injected: it cannot be compiled to an admission policy: ${served.refused}.` };
}
