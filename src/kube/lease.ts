/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: the
 * holder renews every `renewEvery`; anyone may take the lease once `renewTime + leaseDuration` has
 * passed; every write carries the resourceVersion it read, so two replicas can never both win.
 */
import { isObject, type JsonObject } from '../common/json.ts';
import { KubeApiError, type KubeClient } from './client.ts';

export interface LeaseOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewEveryMs?: number;
  onChange?: (leader: boolean) => void;
  log?: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
  now?: () => Date;
}

/** Lease calls must end well within the lease: a hung call must not keep a replica believing it leads. */
const CALL_TIMEOUT_MS = 3000;

const micro = (d: Date) => d.toISOString().replace('Z', '000Z');

export class LeaderElection {
  readonly #client: KubeClient;
  readonly #o: Required<Omit<LeaseOptions, 'onChange' | 'log' | 'now'>> & LeaseOptions;
  #leader = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #tick: Promise<void> = Promise.resolve();
  #lastRenewed = 0;
  /** When this replica first saw the current holder's current renewTime: expiry is judged on the local clock, never the holder's. */
  #observed: { key: string; at: number } | undefined;

  constructor(client: KubeClient, opts: LeaseOptions) {
    this.#client = client;
    this.#o = { leaseDurationSeconds: 15, renewEveryMs: 5000, ...opts };
  }

  /** False as soon as the renew deadline has passed without a renewal, whatever a round in flight is doing. */
  get leader(): boolean {
    return this.#leader && Date.now() - this.#lastRenewed <= this.#renewDeadlineMs;
  }

  get #renewDeadlineMs(): number {
    return (this.#o.leaseDurationSeconds * 1000 * 2) / 3;
  }

  get #path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.#o.namespace}/leases`;
  }

  start(): void {
    const loop = () => {
      if (this.#stopped) return;
      this.#tick = this.tryAcquireOrRenew().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(loop, this.#o.renewEveryMs);
      });
    };
    loop();
  }

  /** Stops and, when leading, releases the lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#tick;
    if (!this.#leader) return;
    try {
      const lease = await this.#client.request('GET', `${this.#path}/${this.#o.name}`);
      const spec = isObject(lease.spec) ? lease.spec : {};
      if (spec.holderIdentity === this.#o.identity) {
        await this.#client.request('PUT', `${this.#path}/${this.#o.name}`, {
          body: { ...lease, spec: { ...spec, holderIdentity: '', leaseDurationSeconds: 1 } },
        });
      }
    } catch (e) {
      this.#o.log?.('warn', 'could not release the leader lease', { error: (e as Error).message });
    }
    this.#set(false);
  }

  #set(leader: boolean): void {
    if (leader === this.#leader) return;
    this.#leader = leader;
    this.#o.log?.('info', leader ? 'became leader' : 'lost leadership', { lease: `${this.#o.namespace}/${this.#o.name}`, identity: this.#o.identity });
    this.#o.onChange?.(leader);
  }

  /** One round: create, renew or take over the lease; exported for tests. */
  async tryAcquireOrRenew(): Promise<void> {
    const now = this.#o.now?.() ?? new Date();
    const mine = { holderIdentity: this.#o.identity, leaseDurationSeconds: this.#o.leaseDurationSeconds, renewTime: micro(now) };
    try {
      let lease: JsonObject;
      try {
        lease = await this.#client.request('GET', `${this.#path}/${this.#o.name}`, { timeoutMs: CALL_TIMEOUT_MS });
      } catch (e) {
        if (!(e instanceof KubeApiError && e.status === 404)) throw e;
        await this.#client.request('POST', this.#path, {
          timeoutMs: CALL_TIMEOUT_MS,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.#o.name, namespace: this.#o.namespace },
            spec: { ...mine, acquireTime: micro(now), leaseTransitions: 0 },
          },
        });
        this.#lastRenewed = now.getTime();
        this.#set(true);
        return;
      }
      const spec = isObject(lease.spec) ? lease.spec : {};
      const holder = typeof spec.holderIdentity === 'string' ? spec.holderIdentity : '';
      const duration = typeof spec.leaseDurationSeconds === 'number' ? spec.leaseDurationSeconds : this.#o.leaseDurationSeconds;
      const key = `${holder}@${String(spec.renewTime)}`;
      if (this.#observed?.key !== key) this.#observed = { key, at: now.getTime() };
      const expired = !holder || this.#observed.at + duration * 1000 < now.getTime();
      if (holder !== this.#o.identity && !expired) {
        this.#set(false);
        return;
      }
      const transitions = typeof spec.leaseTransitions === 'number' ? spec.leaseTransitions : 0;
      const next = holder === this.#o.identity ? { ...spec, ...mine } : { ...spec, ...mine, acquireTime: micro(now), leaseTransitions: transitions + 1 };
      // PUT with the resourceVersion we read: a concurrent writer makes this fail with 409.
      await this.#client.request('PUT', `${this.#path}/${this.#o.name}`, { body: { ...lease, spec: next }, timeoutMs: CALL_TIMEOUT_MS });
      this.#lastRenewed = now.getTime();
      this.#set(true);
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 409) {
        this.#set(false);
        return;
      }
      // Cannot reach the API server: keep leading until the renew deadline (two thirds of the lease),
      // then assume the lease is lost, before anyone else may take it.
      this.#o.log?.('warn', 'leader election round failed', { error: (e as Error).message });
      if (now.getTime() - this.#lastRenewed > this.#renewDeadlineMs) this.#set(false);
    }
  }
}
