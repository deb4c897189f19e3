/**
 * Policy mode in the cluster (`serve --admission policy`): keeps the admission policies of the
 * cluster-wide set, and of each namespace with profiles of its own (plan.ts, scope.ts), in step
 * with the profiles — applied with server-side apply, and deleted when their profile goes or stops
 * compiling. It owns every admission policy and binding labelled with its controller namespace,
 * and nothing else.
 *
 * Work is coalesced: one reconcile runs at a time, a change during it queues one more. A change of
 * a namespace's own profiles compiles and writes that namespace's set only (and the cluster-wide
 * bindings, when the namespace gets or loses a set of its own); a cluster-wide change, the first
 * pass and the periodic one go over everything, listing only the objects' metadata. Nothing
 * watches the policies themselves: every few minutes a pass puts back what was edited or deleted
 * by hand. A unit whose objects the API server refuses is removed whole and says so in its
 * profiles' status; other failures are retried with a growing delay. Only the elected replica
 * writes, and it checks that it still is before each write.
 *
 * Write order, so that no pod is ever served by two sets: a namespace's policies first (unbound,
 * they do nothing), then the bindings of namespaces leaving their own set are deleted, then the
 * cluster-wide objects are applied with bindings that leave out the namespaces served by their own
 * set, then those namespaces' bindings, then everything else no longer wanted is deleted. Between
 * the cluster-wide binding leaving a namespace out and its own binding (or the reverse), that
 * namespace's pods are served by neither: one write, for each binding kind.
 */
import { createHash } from 'node:crypto';
import type { JsonObject } from '../common/json.ts';
import { POLICY_RESOURCES, SYNCED_BY_LABEL } from '../common/labels.ts';
import type { KubeVersion, ProfileSet, SidecarProfile } from '../engine/index.ts';
import { KubeApiError, type KubeClient } from '../kube/client.ts';
import { isClusterWide, type Tenancy } from '../profiles/tenancy.ts';
import { POLICY_API_VERSION } from './objects.ts';
import { type ClusterPlan, clusterPlan, namespacePlan, type Plan, profileKey, type Served, servedAfter, type Unit } from './plan.ts';
import { excluding, namespaceOfName } from './scope.ts';

export type { Served } from './plan.ts';
export { servedCondition } from './served.ts';

export const FIELD_MANAGER = 'outrigger';
const BASE = `/apis/${POLICY_API_VERSION}`;
const RETRY_MS = { first: 1_000, max: 60_000 };
const RESYNC_MS = 5 * 60_000;
const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const POLICIES = POLICY_RESOURCES.filter((r) => !r.kind.endsWith('Binding'));
const BINDINGS = POLICY_RESOURCES.filter((r) => r.kind.endsWith('Binding'));
type Resources = readonly (typeof POLICY_RESOURCES)[number][];

export interface PolicySyncOptions {
  controllerNamespace: string;
  kubeVersion: KubeVersion;
  /** Whether this replica writes (the elected one, or every replica when there is no election). */
  isLeader?: () => boolean;
  /** How often everything is checked again without a change (default 5 minutes). */
  resyncMs?: number;
  /** Called after a reconcile changed how some profiles are served (their status then needs writing), with their keys (`namespace/name`). */
  onServed?: (keys: string[]) => void;
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

/** The profiles to serve: the cluster-wide set and every namespace's own (a bare set: no namespace has profiles of its own). */
export type Wanted = Pick<Tenancy, 'global' | 'forNamespace' | 'tenantNamespaces'>;
const bare = (set: ProfileSet): Wanted => ({ global: set, forNamespace: () => set, tenantNamespaces: () => [] });

/** One pass: everything (`full`), or the namespaces whose own set changed or went. */
interface Work {
  full: boolean;
  global: ProfileSet;
  namespaces: Map<string, ProfileSet>;
  gone: string[];
}

/** What one pass has found out: what the cluster holds, and the units the API server refused. */
interface Pass {
  held: Map<string, unknown>;
  failed: Map<string, string>;
  retry?: string;
  inScope: (path: string) => boolean;
}

class NotLeader extends Error {}

const nameOf = (o: JsonObject) => (o.metadata as JsonObject).name as string;
const pathOf = (o: JsonObject) => {
  const r = POLICY_RESOURCES.find((x) => x.kind === o.kind);
  if (!r) throw new Error(`policy sync: unexpected kind ${String(o.kind)}`);
  return `${BASE}/${r.plural}/${nameOf(o)}`;
};
const namespaceOfPath = (path: string) => namespaceOfName(path.slice(path.lastIndexOf('/') + 1));
const isBindingPath = (path: string) => BINDINGS.some((r) => path.startsWith(`${BASE}/${r.plural}/`));
const digest = (text: string) => createHash('sha256').update(text).digest('base64');
const turn = () => new Promise((r) => setImmediate(r));

export class PolicySync {
  readonly #client: KubeClient;
  readonly #opts: PolicySyncOptions;
  #wanted: Wanted | undefined;
  /** The cluster-wide set the cluster holds the policies of, after a pass that succeeded (undefined: the next pass is full). */
  #doneGlobal: ProfileSet | undefined;
  /** Per namespace with profiles of its own, the set reconciled. */
  #doneSets = new Map<string, ProfileSet>();
  /** Set by resync(): the next pass goes over everything, even sets already done. */
  #force = false;
  #cluster: { set: ProfileSet; plan: ClusterPlan } | undefined;
  /** Cluster-wide units the API server refused in the last full pass: left out until the next. */
  #clusterFailed = new Map<string, string>();
  /** The namespaces served by their own set: the cluster-wide bindings leave them out. */
  readonly #own = new Set<string>();
  /** How each profile is served, by scope (the controller namespace for cluster-wide profiles, else the profile's namespace), then profile key. */
  readonly #served = new Map<string, Map<string, Served>>();
  /** A digest of what was applied to each object's path and the resourceVersion it got, so an unchanged object is not written again. */
  readonly #applied = new Map<string, { digest: string; resourceVersion: unknown }>();
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

  /** The profiles changed (or may have): reconcile to them soon. */
  update(wanted: Wanted | ProfileSet): void {
    this.#wanted = 'forNamespace' in wanted ? wanted : bare(wanted);
    this.#kick();
  }

  /** Reconcile again even if nothing changed here (this replica became the writer, or the periodic pass). */
  resync(): void {
    this.#force = true;
    this.#kick();
  }

  /** How a profile is served, once a reconcile has decided it. */
  served(p: SidecarProfile): Served | undefined {
    const owner = this.#opts.controllerNamespace;
    return this.#served.get(isClusterWide(p, owner) ? owner : (p.namespace as string))?.get(profileKey(p, owner));
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

  /** What the next pass must do, or undefined when the cluster holds what is wanted. */
  #work(wanted: Wanted): Work | undefined {
    const global = wanted.global;
    const full = this.#force || global !== this.#doneGlobal;
    const namespaces = new Map<string, ProfileSet>();
    const current = new Set(wanted.tenantNamespaces());
    for (const ns of current) {
      const set = wanted.forNamespace(ns);
      if (full || set !== this.#doneSets.get(ns)) namespaces.set(ns, set);
    }
    const gone = [...this.#doneSets.keys()].filter((ns) => !current.has(ns));
    if (!full && namespaces.size === 0 && gone.length === 0) return undefined;
    return { full, global, namespaces, gone };
  }

  async #loop(): Promise<void> {
    while (this.#wanted && this.#leader()) {
      const work = this.#work(this.#wanted);
      if (!work) return;
      this.#force = false;
      let failed: string | undefined;
      try {
        failed = await this.#reconcile(work);
      } catch (e) {
        failed = e instanceof NotLeader ? 'no longer the elected replica' : (e as Error).message;
      }
      if (failed === undefined) {
        this.#doneGlobal = work.global;
        if (work.full) this.#doneSets = new Map(work.namespaces);
        else for (const [ns, set] of work.namespaces) this.#doneSets.set(ns, set);
        for (const ns of work.gone) this.#doneSets.delete(ns);
        this.#retryMs = RETRY_MS.first;
        continue;
      }
      this.#doneGlobal = undefined;
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

  #clusterPlan(set: ProfileSet): ClusterPlan {
    if (this.#cluster?.set !== set) this.#cluster = { set, plan: clusterPlan(set, this.#opts.kubeVersion, this.#opts.controllerNamespace) };
    return this.#cluster.plan;
  }

  /** One pass in the write order above. Returns why it must be retried, or undefined. */
  async #reconcile(w: Work): Promise<string | undefined> {
    const owner = this.#opts.controllerNamespace;
    const cluster = this.#clusterPlan(w.global);
    const plans = new Map<string, Plan>();
    for (const [ns, set] of w.namespaces) {
      plans.set(ns, namespacePlan(ns, set, cluster, this.#opts.kubeVersion, owner));
      // A cluster-wide change compiles every namespace's set: the webhook keeps answering meanwhile.
      await turn();
    }
    const touched = new Set([...w.namespaces.keys(), ...w.gone]);
    const inScope = (path: string) => w.full || touched.has(namespaceOfPath(path) ?? '');
    // A pass over some namespaces lists nothing: this replica's own writes tell it what they hold.
    const held = w.full ? await this.#list() : new Map([...this.#applied].map(([path, a]) => [path, a.resourceVersion]));
    const pass: Pass = { held, failed: new Map(), inScope };
    if (w.full) this.#clusterFailed.clear();
    const clusterUnits = cluster.units.filter((u) => !this.#clusterFailed.has(u.key));
    const ownUnits = [...plans.values()].flatMap((p) => p.units);
    if (w.full) this.#own.clear();
    for (const ns of touched) this.#own.delete(ns);

    for (const u of ownUnits) await this.#applyUnit(pass, u, POLICIES);
    const live = () => [...clusterUnits, ...ownUnits].filter((u) => !pass.failed.has(u.key));
    const bound = () => {
      for (const u of ownUnits) {
        const ns = u.key.slice(0, -1);
        if (pass.failed.has(u.key)) this.#own.delete(ns);
        else this.#own.add(ns);
      }
      return [...this.#own].sort();
    };
    // Bindings of namespaces leaving their own set go before the cluster-wide bindings take them back.
    await this.#deleteUnwanted(pass, live(), true);
    const applyCluster = async (resources: Resources) => {
      const own = bound();
      for (const u of clusterUnits) await this.#applyUnit(pass, u, resources, (o) => excluding(o, own));
    };
    await applyCluster(w.full ? POLICY_RESOURCES : BINDINGS);
    let refused = false;
    for (const u of ownUnits) if (!pass.failed.has(u.key)) refused = !(await this.#applyUnit(pass, u, BINDINGS)) || refused;
    if (refused) {
      // A namespace whose binding was refused goes back to the cluster-wide set, its own bindings first.
      await this.#deleteUnwanted(pass, live(), true, ownUnits);
      await applyCluster(BINDINGS);
    }
    await this.#deleteUnwanted(pass, live(), false, [...clusterUnits, ...ownUnits]);
    for (const u of clusterUnits) {
      const why = pass.failed.get(u.key);
      if (why !== undefined) this.#clusterFailed.set(u.key, why);
    }
    this.#setServed(w, cluster, plans, pass.failed);
    return pass.retry;
  }

  /** The metadata of every object this installation owns. */
  async #list(): Promise<Map<string, unknown>> {
    const held = new Map<string, unknown>();
    for (const r of POLICY_RESOURCES) {
      const list = await this.#client.request<{ items?: JsonObject[] }>('GET', `${BASE}/${r.plural}`, {
        query: { labelSelector: `${SYNCED_BY_LABEL}=${this.#opts.controllerNamespace}` },
        accept: METADATA_LIST,
      });
      for (const o of list.items ?? []) held.set(`${BASE}/${r.plural}/${nameOf(o)}`, (o.metadata as JsonObject).resourceVersion);
    }
    return held;
  }

  /** Applies a unit's objects of these kinds, in that order; false (and the unit failed) when the API server refuses one. */
  async #applyUnit(pass: Pass, u: Unit, resources: Resources, shape: (o: JsonObject) => JsonObject = (o) => o): Promise<boolean> {
    if (pass.failed.has(u.key)) return false;
    try {
      for (const r of resources) for (const o of u.objects.filter((x) => x.kind === r.kind)) await this.#apply(shape(o), pass.held);
      return true;
    } catch (e) {
      if (e instanceof NotLeader || !this.#leader()) throw new NotLeader();
      // The unit is removed with everything else not wanted: a profile is served whole or not at all.
      pass.failed.set(u.key, (e as Error).message);
      if (!(e instanceof KubeApiError && (e.status === 400 || e.status === 422))) pass.retry ??= (e as Error).message;
      return false;
    }
  }

  async #apply(o: JsonObject, held: Map<string, unknown>): Promise<void> {
    const path = pathOf(o);
    const text = JSON.stringify(o);
    const sum = digest(text);
    const last = this.#applied.get(path);
    // Unchanged since this replica applied it, and still there as it left it: nothing to write.
    if (last && last.digest === sum && held.has(path) && held.get(path) === last.resourceVersion) return;
    if (!this.#leader()) throw new NotLeader();
    // Server-side apply, forced: these objects are Outrigger's own, whoever edited them since.
    const r = await this.#client.request('PATCH', path, {
      query: { fieldManager: FIELD_MANAGER, force: true },
      body: o,
      contentType: 'application/apply-patch+yaml',
    });
    const resourceVersion = (r.metadata as JsonObject | undefined)?.resourceVersion;
    this.#applied.set(path, { digest: sum, resourceVersion });
    held.set(path, resourceVersion);
    this.#opts.log?.('info', 'applied an admission policy', { path });
  }

  /** Deletes what the pass covers and no live unit wants (bindings only, or everything, bindings first); also what failed units left. */
  async #deleteUnwanted(pass: Pass, live: readonly Unit[], bindingsOnly: boolean, all: readonly Unit[] = []): Promise<void> {
    const keep = new Set(live.flatMap((u) => u.objects.map(pathOf)));
    const candidates = new Set([...pass.held.keys()].filter(pass.inScope));
    for (const u of all) if (pass.failed.has(u.key)) for (const o of u.objects) if (pass.held.has(pathOf(o))) candidates.add(pathOf(o));
    for (const path of [...candidates].filter((p) => isBindingPath(p) || !bindingsOnly).sort((a, b) => Number(isBindingPath(b)) - Number(isBindingPath(a)))) {
      if (keep.has(path)) continue;
      if (!this.#leader()) throw new NotLeader();
      await this.#client.request('DELETE', path).catch((e) => {
        if (!(e instanceof KubeApiError && e.status === 404)) throw e;
      });
      this.#applied.delete(path);
      pass.held.delete(path);
      this.#opts.log?.('info', 'deleted an admission policy no profile needs', { path });
    }
  }

  /** How each profile of the pass is served now: the cluster-wide set's and those of the namespaces it went over; reports the keys that changed. */
  #setServed(w: Work, cluster: ClusterPlan, plans: ReadonlyMap<string, Plan>, failed: ReadonlyMap<string, string>): void {
    const changed: string[] = [];
    const put = (scope: string, next: Map<string, Served> | undefined) => {
      const before = this.#served.get(scope) ?? new Map<string, Served>();
      for (const k of new Set([...before.keys(), ...(next?.keys() ?? [])])) if (JSON.stringify(before.get(k)) !== JSON.stringify(next?.get(k))) changed.push(k);
      if (next && next.size > 0) this.#served.set(scope, next);
      else this.#served.delete(scope);
    };
    const owner = this.#opts.controllerNamespace;
    put(owner, servedAfter(cluster, new Map([...this.#clusterFailed, ...failed])));
    if (w.full) for (const scope of [...this.#served.keys()]) if (scope !== owner && !plans.has(scope)) put(scope, undefined);
    for (const ns of w.gone) put(ns, undefined);
    for (const [ns, plan] of plans) put(ns, servedAfter(plan, failed));
    if (changed.length > 0) this.#opts.onServed?.(changed);
  }
}
