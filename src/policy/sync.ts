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
 * Write order, so that no pod is ever served by no set: a namespace's policies first (unbound,
 * they do nothing), then its bindings, then the cluster-wide objects with bindings that leave out
 * the namespaces served by their own set (so the cluster-wide bindings take back a namespace
 * leaving its own set before its bindings go), then everything no longer wanted is deleted,
 * bindings first. For the few writes in between, a namespace's new pods are served by both sets:
 * the API server cannot change two objects at once, and both sets inject every cluster-wide
 * profile (whichever runs first writes the status record, and the other then skips the pod),
 * where served by neither the pods would get no sidecar at all.
 */
import type { JsonObject } from '../common/json.ts';
import { POLICY_RESOURCES } from '../common/labels.ts';
import type { KubeVersion, ProfileSet, SidecarProfile } from '../engine/index.ts';
import type { KubeClient } from '../kube/client.ts';
import { isClusterWide, type Tenancy } from '../profiles/tenancy.ts';
import { type ClusterPlan, clusterPlan, namespacePlan, namespaceUnit, type Plan, profileKey, type Served, servedAfter } from './plan.ts';
import { excluding, namespaceOfName } from './scope.ts';
import { BINDINGS, type Log, NotLeader, type Pass, POLICIES, PolicyWriter, pathOf, type Resources } from './writer.ts';

export type { Served } from './plan.ts';
export { servedCondition } from './served.ts';
export { FIELD_MANAGER } from './writer.ts';

const RETRY_MS = { first: 1_000, max: 60_000 };
const RESYNC_MS = 5 * 60_000;

export interface PolicySyncOptions {
  controllerNamespace: string;
  kubeVersion: KubeVersion;
  /** Whether this replica writes (the elected one, or every replica when there is no election). */
  isLeader?: () => boolean;
  /** How often everything is checked again without a change (default 5 minutes). */
  resyncMs?: number;
  /** Called after a reconcile changed how some profiles are served (their status then needs writing), with their keys (`namespace/name`). */
  onServed?: (keys: string[]) => void;
  log?: Log;
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

/** A namespace's own set during a pass: its paths, and the bindings still to apply (its policies are applied, and not kept in memory). */
interface Own {
  key: string;
  paths: string[];
  bindings: JsonObject[];
}

const namespaceOfPath = (path: string) => namespaceOfName(path.slice(path.lastIndexOf('/') + 1));
const turn = () => new Promise((r) => setImmediate(r));

export class PolicySync {
  readonly #opts: PolicySyncOptions;
  #wanted: Wanted | undefined;
  /** The cluster-wide set the cluster holds the policies of, after a pass that succeeded (undefined: the next pass is full). */
  #doneGlobal: ProfileSet | undefined;
  /** Per namespace with profiles of its own, the set reconciled. */
  #doneSets = new Map<string, ProfileSet>();
  /** Set by resync(): the next pass goes over everything, even sets already done. */
  #force = false;
  /** Set by update() and resync(): something may have changed since the loop last looked. */
  #pending = false;
  #cluster: { set: ProfileSet; plan: ClusterPlan } | undefined;
  /** Cluster-wide units the API server refused in the last full pass: left out until the next. */
  #clusterFailed = new Map<string, string>();
  /** The namespaces served by their own set: the cluster-wide bindings leave them out. */
  readonly #own = new Set<string>();
  /** How each profile is served, by scope (the controller namespace for cluster-wide profiles, else the profile's namespace), then profile key. */
  readonly #served = new Map<string, Map<string, Served>>();
  /** The paths of each namespace's own set as last applied, or null when its plan has none (absent: compile it again). */
  readonly #ownPaths = new Map<string, string[] | null>();
  readonly #writer: PolicyWriter;
  #running: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #retryMs = RETRY_MS.first;
  readonly #resync: NodeJS.Timeout;
  #stopped = false;

  constructor(client: KubeClient, opts: PolicySyncOptions) {
    this.#opts = opts;
    this.#writer = new PolicyWriter(client, opts.controllerNamespace, () => this.#leader(), opts.log);
    // Nothing watches the policies: a periodic pass puts back what was edited or deleted by hand.
    this.#resync = setInterval(() => this.resync(), opts.resyncMs ?? RESYNC_MS);
    this.#resync.unref();
  }

  /** The profiles changed (or may have): reconcile to them soon. */
  update(wanted: Wanted | ProfileSet): void {
    this.#wanted = 'forNamespace' in wanted ? wanted : bare(wanted);
    this.#pending = true;
    this.#kick();
  }

  /** Reconcile again even if nothing changed here (this replica became the writer, or the periodic pass). */
  resync(): void {
    this.#force = true;
    this.#pending = true;
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
      // Asked for after the loop last looked, while it was still finishing: not lost.
      if (this.#pending && this.#wanted && this.#leader()) this.#kick();
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
      this.#pending = false;
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
    const cluster = this.#clusterPlan(w.global);
    const touched = new Set([...w.namespaces.keys(), ...w.gone]);
    const inScope = (path: string) => w.full || touched.has(namespaceOfPath(path) ?? '');
    // A pass over some namespaces lists nothing: this replica's own writes tell it what they hold.
    const pass: Pass = { held: w.full ? await this.#writer.list() : this.#writer.known(), failed: new Map(), inScope };
    if (w.full) this.#clusterFailed.clear();
    const clusterUnits = cluster.units.filter((u) => !this.#clusterFailed.has(u.key));
    const { own, plans, unchanged } = await this.#namespacePolicies(w, cluster, pass);
    const live = () =>
      new Set([
        ...clusterUnits.flatMap((u) => (pass.failed.has(u.key) ? [] : u.objects.map(pathOf))),
        ...own.flatMap((u) => (pass.failed.has(u.key) ? [] : u.paths)),
      ]);
    const failedPaths = () => own.flatMap((u) => (pass.failed.has(u.key) ? u.paths : []));
    const bound = () => {
      if (w.full) this.#own.clear();
      for (const ns of touched) this.#own.delete(ns);
      for (const u of own) if (!pass.failed.has(u.key)) this.#own.add(u.key.slice(0, -1));
      return [...this.#own].sort();
    };
    const applyCluster = async (resources: Resources) => {
      const left = bound();
      for (const u of clusterUnits) await this.#writer.applyUnit(pass, u.key, u.objects, resources, (o) => excluding(o, left));
    };
    // A namespace's own bindings before the cluster-wide ones leave it out; the cluster-wide ones
    // take back a namespace leaving its own set (or whose binding was refused) before its own go.
    for (const u of own) await this.#writer.applyUnit(pass, u.key, u.bindings, BINDINGS);
    await applyCluster(w.full ? POLICY_RESOURCES : BINDINGS);
    // A cluster-wide unit that failed for a moment still serves what it served: nothing is taken
    // away (neither it, nor a namespace's set its bindings were to take back) until the retry.
    const passing = clusterUnits.find((u) => pass.passing?.has(u.key));
    if (passing) return pass.failed.get(passing.key);
    await this.#writer.deleteUnwanted(pass, live(), false, [
      ...failedPaths(),
      ...clusterUnits.flatMap((u) => (pass.failed.has(u.key) ? u.objects.map(pathOf) : [])),
    ]);
    for (const u of clusterUnits) {
      const why = pass.failed.get(u.key);
      if (why !== undefined) this.#clusterFailed.set(u.key, why);
    }
    for (const ns of touched) if (!unchanged.has(ns)) this.#ownPaths.delete(ns);
    for (const [ns, plan] of plans) if (plan.units.length === 0) this.#ownPaths.set(ns, null);
    for (const u of own) if (!pass.failed.has(u.key)) this.#ownPaths.set(u.key.slice(0, -1), u.paths);
    this.#setServed(w, cluster, plans, unchanged, pass.failed);
    return pass.retry;
  }

  /**
   * Each namespace's set of the pass, compiled and its policies applied (unbound, they do nothing
   * yet), one namespace at a time so that only their bindings stay in memory. A set already
   * applied that the cluster still holds as it was left is not compiled again (the periodic pass).
   */
  async #namespacePolicies(w: Work, cluster: ClusterPlan, pass: Pass): Promise<{ own: Own[]; plans: Map<string, Plan>; unchanged: Set<string> }> {
    const own: Own[] = [];
    const plans = new Map<string, Plan>();
    const unchanged = new Set<string>();
    for (const [ns, set] of w.namespaces) {
      const paths = this.#ownPaths.get(ns);
      if (set === this.#doneSets.get(ns) && paths !== undefined && (paths === null || this.#writer.intact(paths, pass.held))) {
        unchanged.add(ns);
        if (paths) own.push({ key: namespaceUnit(ns), paths, bindings: [] });
        continue;
      }
      const plan = namespacePlan(ns, set, cluster, this.#opts.kubeVersion, this.#opts.controllerNamespace);
      // Kept for the profiles' status, without the objects: their policies are written below.
      plans.set(ns, { ...plan, units: plan.units.map((u) => ({ key: u.key, objects: [] })) });
      for (const u of plan.units) {
        await this.#writer.applyUnit(pass, u.key, u.objects, POLICIES);
        own.push({ key: u.key, paths: u.objects.map(pathOf), bindings: u.objects.filter((o) => String(o.kind).endsWith('Binding')) });
      }
      // A cluster-wide change compiles every namespace's set: the webhook keeps answering meanwhile.
      await turn();
    }
    return { own, plans, unchanged };
  }

  /** How each profile of the pass is served now: the cluster-wide set's and those of the namespaces it went over; reports the keys that changed. */
  #setServed(w: Work, cluster: ClusterPlan, plans: ReadonlyMap<string, Plan>, unchanged: ReadonlySet<string>, failed: ReadonlyMap<string, string>): void {
    const changed: string[] = [];
    const put = (scope: string, next: Map<string, Served> | undefined) => {
      const before = this.#served.get(scope) ?? new Map<string, Served>();
      for (const k of new Set([...before.keys(), ...(next?.keys() ?? [])])) if (JSON.stringify(before.get(k)) !== JSON.stringify(next?.get(k))) changed.push(k);
      if (next && next.size > 0) this.#served.set(scope, next);
      else this.#served.delete(scope);
    };
    const owner = this.#opts.controllerNamespace;
    put(owner, servedAfter(cluster, new Map([...this.#clusterFailed, ...failed])));
    if (w.full) for (const scope of [...this.#served.keys()]) if (scope !== owner && !plans.has(scope) && !unchanged.has(scope)) put(scope, undefined);
    for (const ns of w.gone) put(ns, undefined);
    for (const [ns, plan] of plans) put(ns, servedAfter(plan, failed));
    if (changed.length > 0) this.#opts.onServed?.(changed);
  }
}
