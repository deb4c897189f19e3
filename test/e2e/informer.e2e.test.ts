/**
 * The informer against a real API server whose history is compacted under it. With the watch
 * cache off and etcd compacted every second, a watch resumed from an old resourceVersion gets
 * `410 Expired` in the watch stream, as informers meet it in large clusters. The informer must
 * re-list and keep a correct store, including a deletion it never saw as an event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../../src/kube/client.ts';
import { loadKubeconfig } from '../../src/kube/config.ts';
import { Informer } from '../../src/kube/informer.ts';
import { type ControlPlane, e2eAvailability, startControlPlane } from './harness.ts';
import { eventually } from './support-webhook.ts';

const availability = await e2eAvailability();

describe('informer on a compacted history', { skip: availability.skip }, () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await startControlPlane({ apiserverFlags: ['--watch-cache=false', '--etcd-compaction-interval=1s'] });
    await cp.createNamespace('watched');
    await cp.createNamespace('busy');
  });
  after(async () => {
    await cp?.stop();
  });

  const configMap = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
  const create = async (ns: string, name: string) =>
    assert.equal((await cp.request('POST', `/api/v1/namespaces/${ns}/configmaps`, configMap(name))).status, 201);

  test('410 Expired in the watch stream: re-listed, and the store matches the server', async () => {
    await create('watched', 'doomed');
    const errors: string[] = [];
    const informer = new Informer(new KubeClient(loadKubeconfig(cp.kubeconfigPath)), '/api/v1/namespaces/watched/configmaps', {
      onError: (e) => errors.push(e.message),
    });
    // Short server-side watches: each one resumes from the last resourceVersion it saw.
    informer.watchTimeoutSeconds = 2;
    informer.start();
    try {
      await informer.waitForSync();
      assert.deepEqual([...informer.store.keys()], ['watched/doomed']);
      assert.equal(informer.lists, 1);
      // Writes elsewhere move the revision on; compaction then passes the informer's resourceVersion.
      for (let i = 0; i < 30; i++) await create('busy', `churn-${i}`);
      await eventually('a re-list after 410 Expired', async () => informer.lists >= 2, 30_000);
      assert.equal((await cp.request('DELETE', '/api/v1/namespaces/watched/configmaps/doomed')).status, 200);
      await create('watched', 'seen');
      await eventually('the store to match the server', async () => [...informer.store.keys()].join() === 'watched/seen', 30_000);
      // A 410 is routine: re-listed without an error.
      await sleep(100);
      assert.deepEqual(errors, []);
    } finally {
      await informer.stop();
    }
  });
});
