/**
 * Policy mode in the cluster (`serve --admission policy`): keeps the admission policies that
 * `outrigger policy` would print for the cluster-wide profiles in step with them — applied with
 * server-side apply, and deleted when their profile goes or stops compiling. It owns every
 * admission policy and binding labelled with its controller namespace, and nothing else.
 *
 * Work is coalesced: one reconcile runs at a time, a change during it queues one more, and a
 * profile set already reconciled costs nothing (tenant edits do not change the cluster-wide set).
 * Nothing watches the policies themselves: every few minutes a pass lists them and puts back what
 * was edited or deleted by hand. A profile whose objects the API server refuses is removed whole
 * and says so in its status; other failures are retried with a growing delay. Only the elected
 * replica writes, and it checks that it still is before each write.
 */
import type { JsonObject } from '../common/json.ts';
import { POLICY_RESOURCES, SYNCED_BY_LABEL } from '../common/labels.ts';
import type { KubeVersion, ProfileSet, SidecarProfile } from '../engine/index.ts';
import { KubeApiError, type KubeClient } from '../kube/client.ts';
import type { ProfileObjectState, ServedCondition } from '../kube/profiles.ts';
import { isClusterWide } from '../profiles/tenancy.ts';
import { compilePolicies } from './compile.ts';
import { POLICY_API_VERSION } from './objects.ts';
import type { Refusal } from './refusals.ts';

export const FIELD_MANAGER = 'outrigger';
const BASE = `/apis/${POLICY_API_VERSION}`;
const RETRY_MS = { first: 1_000, max: 60_000 };
const RESYNC_MS = 5 * 60_000;
const PROFILE_LABEL = 'outrigger.dev/profile';

/** How policy mode serves one profile: by its policies, or not at all (refused, with the field and why; or refused by the API server). */
export type Served = { policy: string } | { refused: string } | { notApplied: string };

export interface PolicySyncOptions {
  controllerNamespace: string;
  kubeVersion: KubeVersion;
  /** Whether this replica writes (the elected one, or every replica when there is no election). */
  isLeader?: () => boolean;
  /** How often everything is checked again without a change (default 5 minutes). */
  resyncMs?: number;
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
  /** Set by resync(): the next pass reconciles whatever it remembers, even a set already done. */
  #force = false;
  #served = new Map<string, Served>();
  /** What was applied to each object's path and the resourceVersion it got, so an unchanged object is not written again. */
  readonly #applied = new Map<string, { text: string; resourceVersion: unknown }>();
  #running: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #retryMs = RETRY_MS.first;
  readonly #resync: NodeJS.Timeout;
  #stopped = false;

  constructor(client: KubeClient, opts: PolicySyncOptions) {
    this.#client = client;
    this.#opts = opts;
    // Nothing watches the policies: a periodic pass puts back what was edited or deleted by hand.
    this.#resync = setInterval(() => this.resync(), opts.resyncMs ?? RESYNC_MS);
    this.#resync.unref();
  }

  /** The cluster-wide profile set changed (or may have): reconcile to it soon. */
  update(set: ProfileSet): void {
    this.#wanted = set;
    this.#kick();
  }

  /** Reconcile again even if nothing changed here (this replica became the writer, or the periodic pass). */
  resync(): void {
    this.#force = true;
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
    clearInterval(this.#resync);
    await this.idle();
  }

  #leader = () => !this.#stopped && (this.#opts.isLeader?.() ?? true);

  #kick(): void {
    if (this.#stopped || this.#running || this.#retry) return;
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
    });
  }

  async #loop(): Promise<void> {
    while (this.#wanted && (this.#force || this.#wanted !== this.#done) && this.#leader()) {
      const set = this.#wanted;
      this.#force = false;
      let failed: string | undefined;
      try {
        failed = await this.#reconcile(set);
      } catch (e) {
        failed = (e as Error).message;
      }
      if (failed === undefined) {
        this.#done = set;
        this.#retryMs = RETRY_MS.first;
        continue;
      }
      this.#done = undefined;
      this.#opts.log?.('warn', 'could not keep the admission policies in step; retrying', { error: failed, retryInMs: this.#retryMs });
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.#kick();
      }, this.#retryMs);
      this.#retry.unref();
      this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MS.max);
      return;
    }
  }

  /**
   * One pass: list what the cluster holds, apply each profile's objects as a unit (a profile whose
   * objects the API server refuses is taken away whole, never left half-applied), delete the rest.
   * Returns why it must be retried, or undefined.
   */
  async #reconcile(set: ProfileSet): Promise<string | undefined> {
    const out = compilePolicies(set, this.#opts.kubeVersion);
    const owner = this.#opts.controllerNamespace;
    const held = new Map<string, unknown>();
    for (const r of POLICY_RESOURCES) {
      const list = await this.#client.request<{ items?: JsonObject[] }>('GET', `${BASE}/${r.plural}`, {
        query: { labelSelector: `${SYNCED_BY_LABEL}=${owner}` },
      });
      for (const o of list.items ?? [])
        held.set(`${BASE}/${r.plural}/${(o.metadata as JsonObject).name as string}`, (o.metadata as JsonObject).resourceVersion);
    }
    const units = new Map<string, JsonObject[]>();
    for (const o of out.objects.map((x) => withLabel(x, owner))) {
      const unit = unitOf(o);
      units.set(unit, [...(units.get(unit) ?? []), o]);
    }
    const keep = new Set<string>();
    const notApplied = new Map<string, string>();
    let retry: string | undefined;
    for (const [unit, objects] of units) {
      try {
        for (const r of POLICY_RESOURCES) for (const o of objects.filter((x) => x.kind === r.kind)) await this.#apply(o, held);
        for (const o of objects) keep.add(pathOf(o));
      } catch (e) {
        if (!this.#leader()) return 'no longer the elected replica';
        // The unit is removed below with everything else not kept: a profile is served whole or not at all.
        notApplied.set(unit, (e as Error).message);
        if (!(e instanceof KubeApiError && (e.status === 400 || e.status === 422))) retry ??= (e as Error).message;
      }
    }
    for (const r of [...POLICY_RESOURCES].reverse()) {
      for (const path of held.keys()) {
        if (keep.has(path) || !path.startsWith(`${BASE}/${r.plural}/`)) continue;
        if (!this.#leader()) return 'no longer the elected replica';
        await this.#client.request('DELETE', path).catch((e) => {
          if (!(e instanceof KubeApiError && e.status === 404)) throw e;
        });
        this.#applied.delete(path);
        this.#opts.log?.('info', 'deleted an admission policy no profile needs', { path });
      }
    }
    this.#setServed(set, out.policies, out.refusals, notApplied);
    return retry;
  }

  async #apply(o: JsonObject, held: ReadonlyMap<string, unknown>): Promise<void> {
    const path = pathOf(o);
    const text = JSON.stringify(o);
    const last = this.#applied.get(path);
    // Unchanged since this replica applied it, and still there as it left it: nothing to write.
    if (last && last.text === text && held.has(path) && held.get(path) === last.resourceVersion) return;
    if (!this.#leader()) throw new Error('no longer the elected replica');
    // Server-side apply, forced: these objects are Outrigger's own, whoever edited them since.
    const r = await this.#client.request('PATCH', path, {
      query: { fieldManager: FIELD_MANAGER, force: true },
      body: o,
      contentType: 'application/apply-patch+yaml',
    });
    this.#applied.set(path, { text, resourceVersion: (r.metadata as JsonObject | undefined)?.resourceVersion });
    this.#opts.log?.('info', 'applied an admission policy', { path });
  }

  /** `policies`: per compiled profile, its MutatingAdmissionPolicy (the set's, for several: one unit with the set's other objects). */
  #setServed(set: ProfileSet, policies: Readonly<Record<string, string>>, refusals: readonly Refusal[], notApplied: ReadonlyMap<string, string>): void {
    const next = new Map<string, Served>();
    for (const [name, policy] of Object.entries(policies)) {
      const failed = notApplied.get(name) ?? notApplied.get(SET_UNIT);
      if (set.byName.has(name)) next.set(name, failed ? { notApplied: failed } : { policy });
    }
    for (const r of refusals) if (!next.has(r.profile)) next.set(r.profile, { refused: `${r.path}: ${r.why}` });
    const same = next.size === this.#served.size && [...next].every(([k, v]) => JSON.stringify(this.#served.get(k)) === JSON.stringify(v));
    this.#served = next;
    if (!same) this.#opts.onServed?.();
  }
}

/** Objects of the set as a whole (the unknown-profiles policy) rather than of one profile. */
const SET_UNIT = '';
/** The profile an object belongs to (its `outrigger.dev/profile` label), or the set. */
const unitOf = (o: JsonObject): string => {
  const labels = ((o.metadata as JsonObject).labels ?? {}) as JsonObject;
  return typeof labels[PROFILE_LABEL] === 'string' ? labels[PROFILE_LABEL] : SET_UNIT;
};

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
  if ('policy' in served) return { status: 'True', reason: 'Policy', message: `Injected by the API server: MutatingAdmissionPolicy ${served.policy}.` };
  if ('refused' in served)
    return { status: 'False', reason: 'PolicyRefused', message: `Not injected: it cannot be compiled to an admission policy: ${served.refused}.` };
  return { status: 'False', reason: 'PolicyNotApplied', message: `Not injected: the API server refused its admission policies: ${served.notApplied}` };
}
