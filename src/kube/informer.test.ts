import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FakeApiServer } from '../../test/support/fake-apiserver.ts';
import { Informer, type StoreChange } from './informer.ts';

let api: FakeApiServer;
before(async () => {
  api = await FakeApiServer.start();
  for (let i = 0; i < 1234; i++) api.put('namespaces', { metadata: { name: `ns-${String(i).padStart(4, '0')}`, labels: { i: String(i) } } });
});
after(() => api.stop());

const until = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 2000 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(ok(), `timed out waiting for ${what}`);
};

async function withInformer(pageSize: number, fn: (i: Informer, changes: StoreChange[], errors: string[]) => Promise<void>): Promise<void> {
  const client = api.client();
  const changes: StoreChange[] = [];
  const errors: string[] = [];
  const informer = new Informer(client, '/api/v1/namespaces', { onChange: (c) => changes.push(c), onError: (e) => errors.push(e.message) });
  informer.pageSize = pageSize;
  informer.backoff = { initialMs: 10, maxMs: 50 };
  informer.start();
  try {
    await informer.waitForSync();
    await fn(informer, changes, errors);
  } finally {
    await informer.stop();
    client.close();
  }
}

test('a list larger than one page is read page by page and assembled whole', async () => {
  api.onListPage = undefined;
  const pagesBefore = api.requests.listPages;
  await withInformer(100, async (informer, changes, errors) => {
    assert.equal(api.requests.listPages - pagesBefore, 13, '1,234 objects in pages of 100');
    assert.equal(informer.store.size, 1234);
    assert.deepEqual(informer.store.get('/ns-0777')?.metadata, api.get('namespaces', '/ns-0777')?.metadata);
    assert.equal(informer.store.get('/ns-0777')?.kind, 'Namespace', 'list items get the kind of the list');
    assert.equal(changes.length, 1);
    assert.equal(changes[0]?.type, 'replaced');
    assert.deepEqual(errors, []);
  });
});

test('watch events arrive as one change each: set with the previous object, deleted', async () => {
  await withInformer(500, async (informer, changes) => {
    api.put('namespaces', { metadata: { name: 'ns-0001', labels: { i: 'changed' } } });
    api.put('namespaces', { metadata: { name: 'fresh' } });
    api.delete('namespaces', '/fresh');
    await until('three events', () => changes.length === 4);
    const [, set, added, deleted] = changes;
    const labels = set?.type === 'set' ? (set.previous?.metadata as { labels?: { i?: string } } | undefined)?.labels : undefined;
    assert.equal(set?.type === 'set' && set.key, '/ns-0001');
    assert.equal(labels?.i, '1', 'the previous object comes with the change');
    assert.equal(added?.type === 'set' && added.previous, undefined);
    assert.equal(deleted?.type, 'deleted');
    assert.equal(informer.store.has('/fresh'), false);
    assert.equal(informer.store.size, 1234);
  });
});

test('a continue token that expires part-way restarts the list from the first page, without an error', async () => {
  const start = api.requests.listPages;
  let expired = false;
  api.onListPage = (n) => {
    if (!expired && n - start === 4) {
      expired = true;
      api.expireContinueTokens();
    }
  };
  try {
    await withInformer(100, async (informer, changes, errors) => {
      assert.equal(api.requests.expiredContinues, 1);
      assert.equal(informer.expiredLists, 1);
      assert.equal(informer.lists, 1, 'one completed list');
      assert.equal(api.requests.listPages - start, 4 + 13, 'three good pages, the expired one, then all thirteen again');
      assert.equal(informer.store.size, 1234);
      assert.equal(changes.length, 1, 'the half-read list never reached the consumer');
      assert.deepEqual(errors, []);
    });
  } finally {
    api.onListPage = undefined;
  }
});

test('a watch that cannot resume (410: history compacted) re-lists, and a deletion it missed is gone', async () => {
  await withInformer(500, async (informer, changes, errors) => {
    api.endWatches();
    api.delete('namespaces', '/ns-0002');
    api.compact();
    await until('a re-list', () => informer.lists === 2);
    assert.equal(informer.store.has('/ns-0002'), false);
    assert.equal(changes.at(-1)?.type, 'replaced');
    assert.deepEqual(errors, []);
  });
});

test('managedFields and the last-applied copy are not kept, from a list or a watch', async () => {
  const bulky = (name: string) => ({
    metadata: {
      name,
      labels: { keep: 'yes' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"huge":true}', other: 'kept' },
      managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:metadata': {} } }],
    },
  });
  api.put('namespaces', bulky('bulky-listed'));
  await withInformer(500, async (informer, changes) => {
    api.put('namespaces', bulky('bulky-watched'));
    await until('the watched one', () => informer.store.has('/bulky-watched'));
    for (const key of ['/bulky-listed', '/bulky-watched']) {
      const meta = informer.store.get(key)?.metadata as Record<string, unknown>;
      assert.equal(meta.managedFields, undefined, key);
      assert.deepEqual(meta.annotations, { other: 'kept' }, key);
      assert.deepEqual(meta.labels, { keep: 'yes' }, key);
    }
    const last = changes.at(-1);
    assert.equal(last?.type === 'set' ? last.object : undefined, informer.store.get('/bulky-watched'), 'consumers get what the store keeps');
  });
  api.delete('namespaces', '/bulky-listed');
  api.delete('namespaces', '/bulky-watched');
});
