/**
 * The informer against an in-memory fake of the two client calls it makes (a paged list and a
 * watch the test feeds event by event), so each path — paging, resume, 410, errors — is driven
 * exactly. informer.test.ts runs it over HTTP against a fake API server.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JsonObject } from '../common/json.ts';
import { KubeApiError, type KubeClient, type RequestOptions, type WatchEvent } from './client.ts';
import { Informer, keyOf, type StoreChange, withoutBookkeeping } from './informer.ts';

interface OpenWatch {
  query: RequestOptions['query'];
  send(e: WatchEvent): void;
  /** Ends the watch as the server does at its timeout. */
  end(): void;
}

class FakeClient {
  items: JsonObject[] = [];
  resourceVersion = '100';
  lists: RequestOptions['query'][] = [];
  watches: OpenWatch[] = [];
  /** Called before each list page is answered; may throw to fail it. */
  beforePage: (query: RequestOptions['query']) => void = () => {};
  #waiters: (() => void)[] = [];

  readonly client = {
    request: async (method: string, path: string, opts: RequestOptions = {}): Promise<JsonObject> => {
      assert.equal(method, 'GET');
      assert.equal(path, '/api/v1/namespaces');
      this.lists.push(opts.query);
      this.beforePage(opts.query);
      const limit = Number(opts.query?.limit);
      const start = opts.query?.continue ? Number(opts.query.continue) : 0;
      const page = this.items.slice(start, start + limit);
      const next = start + limit < this.items.length ? String(start + limit) : undefined;
      this.#wake();
      return { kind: 'NamespaceList', apiVersion: 'v1', metadata: { resourceVersion: this.resourceVersion, ...(next ? { continue: next } : {}) }, items: page };
    },
    watch: (path: string, query: RequestOptions['query'], onEvent: (e: WatchEvent) => void, signal?: AbortSignal): Promise<void> => {
      assert.equal(path, '/api/v1/namespaces');
      // As the real client: an event the callback throws on ends the watch with that error.
      return new Promise<void>((resolve, reject) => {
        const end = () => resolve();
        signal?.addEventListener('abort', end, { once: true });
        const send = (e: WatchEvent) => {
          try {
            onEvent(e);
          } catch (err) {
            reject(err);
          }
        };
        this.watches.push({ query, send, end });
        this.#wake();
      });
    },
  };

  ns(name: string, extra: JsonObject = {}): JsonObject {
    return { metadata: { name, resourceVersion: this.resourceVersion, ...extra } };
  }

  /** Resolves once `ok()` holds, checked after every call the informer makes. */
  async until(what: string, ok: () => boolean): Promise<void> {
    for (let i = 0; i < 1000 && !ok(); i++) await new Promise<void>((r) => this.#waiters.push(r));
    assert.ok(ok(), what);
  }
  #wake(): void {
    // After the informer has had its turn with the answer.
    setImmediate(() => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }
  get lastWatch(): OpenWatch {
    const w = this.watches.at(-1);
    assert.ok(w, 'a watch is open');
    return w;
  }
}

async function withInformer(fake: FakeClient, fn: (i: Informer, changes: StoreChange[], errors: string[]) => Promise<void>, pageSize = 2) {
  const changes: StoreChange[] = [];
  const errors: string[] = [];
  const informer = new Informer(fake.client as unknown as KubeClient, '/api/v1/namespaces', {
    onChange: (c) => changes.push(c),
    onError: (e) => errors.push(e.message),
  });
  informer.pageSize = pageSize;
  informer.backoff = { initialMs: 1, maxMs: 2 };
  informer.watchTimeoutSeconds = 7;
  informer.start();
  try {
    await fn(informer, changes, errors);
  } finally {
    await informer.stop();
  }
}

describe('informer with a fake client', () => {
  test('lists page by page with limit and continue, fills in kind and apiVersion, then watches from the list’s resourceVersion', async () => {
    const fake = new FakeClient();
    fake.items = ['a', 'b', 'c', 'd', 'e'].map((n) => fake.ns(n));
    let synced = 0;
    await withInformer(fake, async (informer, changes) => {
      informer.waitForSync().then(() => synced++);
      await fake.until('a watch', () => fake.watches.length === 1);
      assert.deepEqual(fake.lists, [{ limit: 2 }, { limit: 2, continue: '2' }, { limit: 2, continue: '4' }]);
      assert.equal(informer.synced, true);
      assert.equal(informer.lists, 1);
      assert.deepEqual([...informer.store.keys()], ['/a', '/b', '/c', '/d', '/e']);
      assert.deepEqual(informer.store.get('/c'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'c', resourceVersion: '100' } });
      assert.equal(changes.length, 1);
      assert.equal(changes[0]?.type, 'replaced');
      assert.deepEqual(fake.lastWatch.query, { resourceVersion: '100', allowWatchBookmarks: true, timeoutSeconds: 7 });
    });
    assert.equal(synced, 1);
  });

  test('each watch event is one change; a bookmark moves the resourceVersion the next watch resumes from', async () => {
    const fake = new FakeClient();
    fake.items = [fake.ns('a')];
    await withInformer(fake, async (informer, changes) => {
      await fake.until('a watch', () => fake.watches.length === 1);
      const w = fake.lastWatch;
      w.send({ type: 'ADDED', object: { metadata: { name: 'b', resourceVersion: '101' } } });
      w.send({ type: 'MODIFIED', object: { metadata: { name: 'a', resourceVersion: '102', labels: { x: 'y' } } } });
      w.send({ type: 'DELETED', object: { metadata: { name: 'b', resourceVersion: '103' } } });
      w.send({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '150' } } });
      assert.deepEqual(
        changes.slice(1).map((c) => [c.type, c.type === 'replaced' ? '' : c.key, c.type === 'replaced' ? undefined : c.previous?.metadata]),
        [
          ['set', '/b', undefined],
          ['set', '/a', { name: 'a', resourceVersion: '100' }],
          ['deleted', '/b', { name: 'b', resourceVersion: '101' }],
        ],
      );
      assert.deepEqual([...informer.store.keys()], ['/a']);
      w.end();
      await fake.until('a second watch', () => fake.watches.length === 2);
      assert.equal(fake.lastWatch.query?.resourceVersion, '150');
      assert.equal(informer.lists, 1, 'a watch that ends is resumed, not re-listed');
    });
  });

  test('namespaced objects are keyed namespace/name', () => {
    assert.equal(keyOf({ metadata: { namespace: 'shop', name: 'p' } }), 'shop/p');
    assert.equal(keyOf({ metadata: { name: 'cluster-wide' } }), '/cluster-wide');
  });

  test('a 410 in the watch stream re-lists, and the store is replaced by the new list', async () => {
    const fake = new FakeClient();
    fake.items = [fake.ns('a'), fake.ns('b')];
    await withInformer(fake, async (informer, changes, errors) => {
      await fake.until('a watch', () => fake.watches.length === 1);
      fake.items = [fake.ns('a')];
      fake.resourceVersion = '200';
      fake.lastWatch.send({ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version' } });
      // Events after the 410 in the same stream are not applied.
      fake.watches[0]?.send({ type: 'ADDED', object: { metadata: { name: 'late', resourceVersion: '201' } } });
      await fake.until('a second watch', () => fake.watches.length === 2);
      assert.equal(informer.lists, 2);
      assert.deepEqual([...informer.store.keys()], ['/a']);
      const last = changes.at(-1);
      assert.equal(last?.type, 'replaced');
      assert.deepEqual(last?.type === 'replaced' ? [...last.previous.keys()] : [], ['/a', '/b']);
      assert.equal(fake.lastWatch.query?.resourceVersion, '200');
      assert.deepEqual(errors, []);
    });
  });

  test('another error event ends the watch with an error, and the watch is opened again after a backoff', async () => {
    const fake = new FakeClient();
    await withInformer(fake, async (informer, _changes, errors) => {
      await fake.until('a watch', () => fake.watches.length === 1);
      fake.lastWatch.send({ type: 'ERROR', object: { kind: 'Status', code: 500, message: 'etcd is sad' } });
      await fake.until('a second watch', () => fake.watches.length === 2);
      assert.deepEqual(errors, ['watch /api/v1/namespaces: etcd is sad']);
      assert.equal(informer.lists, 1);
    });
  });

  test('a failed list is retried after a backoff, reported with the delay, and the store waits for it', async () => {
    const fake = new FakeClient();
    fake.items = [fake.ns('a')];
    let failures = 2;
    fake.beforePage = () => {
      if (failures-- > 0) throw new KubeApiError('GET', '/api/v1/namespaces', 503, { reason: 'ServiceUnavailable' });
    };
    await withInformer(fake, async (informer, changes, errors) => {
      await informer.waitForSync();
      assert.deepEqual(errors, ['GET /api/v1/namespaces: 503 ServiceUnavailable', 'GET /api/v1/namespaces: 503 ServiceUnavailable']);
      assert.equal(changes.length, 1);
      assert.equal(informer.store.size, 1);
    });
  });

  test('an expired continue token restarts the list from the first page; five in a row give up to the backoff', async () => {
    const fake = new FakeClient();
    fake.items = ['a', 'b', 'c'].map((n) => fake.ns(n));
    let expire = 1;
    fake.beforePage = (q) => {
      if (q?.continue && expire-- > 0) throw new KubeApiError('GET', '/api/v1/namespaces', 410, { reason: 'Expired' });
    };
    await withInformer(fake, async (informer, _changes, errors) => {
      await informer.waitForSync();
      assert.deepEqual(fake.lists, [{ limit: 2 }, { limit: 2, continue: '2' }, { limit: 2 }, { limit: 2, continue: '2' }]);
      assert.equal(informer.expiredLists, 1);
      assert.equal(informer.store.size, 3);
      assert.deepEqual(errors, []);
    });

    const stubborn = new FakeClient();
    stubborn.items = ['a', 'b', 'c'].map((n) => stubborn.ns(n));
    let always = 5;
    stubborn.beforePage = (q) => {
      if (q?.continue && always-- > 0) throw new KubeApiError('GET', '/api/v1/namespaces', 410, { reason: 'Expired' });
    };
    await withInformer(stubborn, async (informer, _changes, errors) => {
      await informer.waitForSync();
      assert.equal(informer.expiredLists, 4, 'the fifth start is not retried at once');
      assert.deepEqual(errors, ['GET /api/v1/namespaces: 410 Expired']);
      assert.equal(informer.store.size, 3);
    });
  });

  test('a 410 on the list itself (no continue token) goes to the backoff and lists again', async () => {
    const fake = new FakeClient();
    let gone = 1;
    fake.beforePage = () => {
      if (gone-- > 0) throw new KubeApiError('GET', '/api/v1/namespaces', 410, { reason: 'Gone' });
    };
    await withInformer(fake, async (informer, _changes, errors) => {
      await informer.waitForSync();
      assert.equal(informer.expiredLists, 0);
      assert.deepEqual(errors, ['GET /api/v1/namespaces: 410 Gone']);
    });
  });

  test('the transform decides what is kept, from a list and from a watch', async () => {
    const fake = new FakeClient();
    fake.items = [fake.ns('a', { labels: { keep: 'x' }, annotations: { drop: 'y' } })];
    const informer = new Informer(fake.client as unknown as KubeClient, '/api/v1/namespaces', {
      transform: (o): JsonObject => {
        const meta = o.metadata as JsonObject;
        return { metadata: { name: meta.name ?? null, labels: meta.labels ?? {} } };
      },
    });
    informer.start();
    try {
      await fake.until('a watch', () => fake.watches.length === 1);
      fake.lastWatch.send({ type: 'ADDED', object: { metadata: { name: 'b', resourceVersion: '101', annotations: { drop: 'z' } } } });
      assert.deepEqual(informer.store.get('/a'), { metadata: { name: 'a', labels: { keep: 'x' } } });
      assert.deepEqual(informer.store.get('/b'), { metadata: { name: 'b', labels: {} } });
    } finally {
      await informer.stop();
    }
  });

  test('stop ends an open watch and no further calls are made', async () => {
    const fake = new FakeClient();
    await withInformer(fake, async () => {
      await fake.until('a watch', () => fake.watches.length === 1);
    });
    const calls = fake.lists.length + fake.watches.length;
    await new Promise((r) => setImmediate(r));
    assert.equal(fake.lists.length + fake.watches.length, calls);
  });
});

describe('withoutBookkeeping', () => {
  test('drops managedFields and the last-applied annotation, keeps the rest, and leaves clean objects as they are', () => {
    const clean = { metadata: { name: 'a', annotations: { other: 'x' } } };
    assert.equal(withoutBookkeeping(clean), clean);
    assert.deepEqual(
      withoutBookkeeping({
        kind: 'Namespace',
        metadata: { name: 'a', managedFields: [{}], annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', other: 'x' } },
      }),
      { kind: 'Namespace', metadata: { name: 'a', annotations: { other: 'x' } } },
    );
    assert.deepEqual(withoutBookkeeping({ metadata: { name: 'a', managedFields: [] } }), { metadata: { name: 'a' } });
    const noMeta = { kind: 'X' };
    assert.equal(withoutBookkeeping(noMeta), noMeta);
  });
});
