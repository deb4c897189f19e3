/**
 * Leader election against an in-memory Lease store that behaves as the API server does for these
 * calls (404 when absent, resourceVersion checked on PUT: 409 on a stale write), with a clock the
 * test moves. No timers: each round is run by hand.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JsonObject } from '../common/json.ts';
import { KubeApiError, type KubeClient, type RequestOptions } from './client.ts';
import { LeaderElection, type LeaseOptions } from './lease.ts';

const PATH = '/apis/coordination.k8s.io/v1/namespaces/outrigger-system/leases';

class FakeLeases {
  lease: JsonObject | undefined;
  calls: { method: string; path: string; body?: JsonObject }[] = [];
  /** Makes the next calls fail as the API server being down would. */
  failing = false;
  #rv = 0;

  readonly client = {
    request: async (method: string, path: string, opts: RequestOptions = {}): Promise<JsonObject> => {
      const body = opts.body as JsonObject | undefined;
      this.calls.push({ method, path, ...(body ? { body: structuredClone(body) } : {}) });
      if (this.failing) throw new Error('connect ECONNREFUSED');
      if (method === 'GET') {
        if (!this.lease) throw new KubeApiError(method, path, 404, { reason: 'NotFound' });
        return structuredClone(this.lease);
      }
      if (method === 'POST') {
        if (this.lease) throw new KubeApiError(method, path, 409, { reason: 'AlreadyExists' });
        return this.#store(body ?? {});
      }
      if (method === 'PUT') {
        const rv = (body?.metadata as JsonObject | undefined)?.resourceVersion;
        if (!this.lease || rv !== (this.lease.metadata as JsonObject).resourceVersion) throw new KubeApiError(method, path, 409, { reason: 'Conflict' });
        return this.#store(body ?? {});
      }
      throw new Error(`unexpected ${method}`);
    },
  };

  #store(obj: JsonObject): JsonObject {
    this.lease = { ...obj, metadata: { ...(obj.metadata as JsonObject), resourceVersion: String(++this.#rv) } };
    return structuredClone(this.lease);
  }

  /** Another replica's lease, as stored. */
  held(holder: string, renewTime: string, extra: JsonObject = {}): void {
    this.#store({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'outrigger', namespace: 'outrigger-system' },
      spec: { holderIdentity: holder, leaseDurationSeconds: 15, renewTime, acquireTime: renewTime, leaseTransitions: 3, ...extra },
    });
  }

  get spec(): JsonObject {
    return (this.lease?.spec ?? {}) as JsonObject;
  }
  writes(): string[] {
    return this.calls.filter((c) => c.method !== 'GET').map((c) => c.method);
  }
}

function setup(opts: Partial<LeaseOptions> = {}) {
  const api = new FakeLeases();
  const changes: boolean[] = [];
  const logs: string[] = [];
  let clock = Date.now();
  const election = new LeaderElection(api.client as unknown as KubeClient, {
    namespace: 'outrigger-system',
    name: 'outrigger',
    identity: 'pod-a',
    onChange: (l) => changes.push(l),
    log: (_level, msg) => logs.push(msg),
    now: () => new Date(clock),
    ...opts,
  });
  return { api, election, changes, logs, advance: (ms: number) => (clock += ms), at: () => clock };
}
const micro = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

describe('leader election', () => {
  test('no lease: it is created, held by this replica, and this replica leads', async () => {
    const { api, election, changes, logs, at } = setup();
    await election.tryAcquireOrRenew();
    assert.deepEqual(api.writes(), ['POST']);
    assert.equal(api.calls[1]?.path, PATH);
    assert.deepEqual(api.spec, { holderIdentity: 'pod-a', leaseDurationSeconds: 15, renewTime: micro(at()), acquireTime: micro(at()), leaseTransitions: 0 });
    assert.match(String(api.spec.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'MicroTime, as the API server wants it');
    assert.deepEqual(changes, [true]);
    assert.equal(election.leader, true);
    assert.deepEqual(logs, ['became leader']);
  });

  test('its own lease is renewed with the resourceVersion it read, keeping acquireTime and transitions', async () => {
    const { api, election, changes, advance, at } = setup();
    await election.tryAcquireOrRenew();
    const acquired = api.spec.acquireTime;
    advance(5000);
    await election.tryAcquireOrRenew();
    assert.deepEqual(api.writes(), ['POST', 'PUT']);
    assert.equal((api.calls.at(-1)?.body?.metadata as JsonObject | undefined)?.resourceVersion, '1');
    assert.deepEqual([api.spec.acquireTime, api.spec.leaseTransitions, api.spec.renewTime], [acquired, 0, micro(at())]);
    assert.deepEqual(changes, [true], 'still the leader: no second change');
  });

  test('a lease another replica renews is left alone', async () => {
    const { api, election, changes, advance } = setup();
    api.held('pod-b', micro(Date.now()));
    await election.tryAcquireOrRenew();
    for (let i = 1; i <= 5; i++) {
      advance(5000);
      api.held('pod-b', micro(Date.now() + i * 5000));
      await election.tryAcquireOrRenew();
    }
    assert.deepEqual(api.writes(), []);
    assert.deepEqual(changes, []);
    assert.equal(election.leader, false);
  });

  test('expiry is judged on the local clock from when the renewTime was first seen, not by the holder’s clock', async () => {
    const { api, election, changes, advance, at } = setup();
    // Written an hour ago by the holder's clock: not yet expired for a replica that just saw it.
    api.held('pod-b', micro(Date.now() - 3_600_000));
    await election.tryAcquireOrRenew();
    assert.deepEqual(api.writes(), []);
    advance(15_000);
    await election.tryAcquireOrRenew();
    assert.deepEqual(api.writes(), [], 'exactly the lease duration: not yet expired');
    advance(1);
    await election.tryAcquireOrRenew();
    assert.deepEqual(api.writes(), ['PUT']);
    assert.deepEqual([api.spec.holderIdentity, api.spec.leaseTransitions, api.spec.acquireTime, api.spec.renewTime], ['pod-a', 4, micro(at()), micro(at())]);
    assert.deepEqual(changes, [true]);
  });

  test('the lease’s own leaseDurationSeconds decides expiry', async () => {
    const { api, election, advance } = setup();
    api.held('pod-b', micro(0), { leaseDurationSeconds: 60 });
    await election.tryAcquireOrRenew();
    advance(30_000);
    await election.tryAcquireOrRenew();
    assert.deepEqual(api.writes(), [], 'our default of 15 s would have taken it');
    advance(30_001);
    await election.tryAcquireOrRenew();
    assert.deepEqual(api.writes(), ['PUT']);
  });

  test('a released lease (no holder) is taken at once', async () => {
    const { api, election, changes } = setup();
    api.held('', micro(Date.now()));
    await election.tryAcquireOrRenew();
    assert.deepEqual(api.writes(), ['PUT']);
    assert.equal(api.spec.holderIdentity, 'pod-a');
    assert.equal(api.spec.leaseTransitions, 4);
    assert.deepEqual(changes, [true]);
  });

  test('losing a race (409 on the write) means not leading', async () => {
    const { api, election, changes } = setup();
    await election.tryAcquireOrRenew();
    const put = api.client.request;
    api.client.request = async (method, path, opts) => {
      if (method === 'PUT') {
        api.held('pod-b', micro(Date.now()));
        return put('PUT', path, opts); // written with the resourceVersion read before pod-b's write
      }
      return put(method, path, opts);
    };
    await election.tryAcquireOrRenew();
    assert.deepEqual(changes, [true, false]);
    assert.equal(election.leader, false);
    assert.equal(api.spec.holderIdentity, 'pod-b');
  });

  test('with the API server unreachable it keeps leading until two thirds of the lease, then steps down', async () => {
    const { api, election, changes, logs, advance } = setup();
    await election.tryAcquireOrRenew();
    api.failing = true;
    advance(10_000);
    await election.tryAcquireOrRenew();
    assert.deepEqual(changes, [true], 'exactly the renew deadline: still leading');
    advance(1);
    await election.tryAcquireOrRenew();
    assert.deepEqual(changes, [true, false]);
    assert.ok(logs.includes('leader election round failed'));
    assert.equal(logs.at(-1), 'lost leadership');
  });

  test('an unreachable API server never makes a follower a leader', async () => {
    const { api, election, changes } = setup();
    api.failing = true;
    await election.tryAcquireOrRenew();
    assert.deepEqual(changes, []);
    assert.equal(election.leader, false);
  });
});

describe('stopping', () => {
  test('the leader releases its lease so another replica takes over at once', async () => {
    const { api, election, changes } = setup();
    await election.tryAcquireOrRenew();
    await election.stop();
    assert.deepEqual(api.writes(), ['POST', 'PUT']);
    assert.deepEqual([api.spec.holderIdentity, api.spec.leaseDurationSeconds], ['', 1]);
    assert.deepEqual(changes, [true, false]);
  });

  test('a lease someone else holds by then is not touched', async () => {
    const { api, election, changes } = setup();
    await election.tryAcquireOrRenew();
    api.held('pod-b', micro(Date.now()));
    await election.stop();
    assert.deepEqual(api.writes(), ['POST']);
    assert.equal(api.spec.holderIdentity, 'pod-b');
    assert.deepEqual(changes, [true, false]);
  });

  test('a follower stops without a call; a failed release is logged, and it stops leading anyway', async () => {
    const follower = setup();
    await follower.election.stop();
    assert.deepEqual(follower.api.calls, []);

    const leader = setup();
    await leader.election.tryAcquireOrRenew();
    leader.api.failing = true;
    await leader.election.stop();
    assert.ok(leader.logs.includes('could not release the leader lease'));
    assert.deepEqual(leader.changes, [true, false]);
  });

  test('start runs a round at once, and stop waits for it', async () => {
    const { api, election, changes } = setup({ renewEveryMs: 3_600_000 });
    election.start();
    await election.stop();
    assert.deepEqual(api.writes(), ['POST', 'PUT'], 'acquired, then released');
    assert.deepEqual(changes, [true, false]);
  });
});
