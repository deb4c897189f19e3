import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { FakeApiServer } from '../../test/support/fake-apiserver.ts';
import { tempDir } from '../../test/support/webhook.ts';
import type { JsonObject } from '../common/json.ts';
import { startCluster } from './cluster.ts';
import { clusterMetricsHooks } from './cluster-metrics.ts';
import { createLogger } from './log.ts';
import { createWebhookMetrics } from './metrics.ts';

const line = (text: string, series: string) => text.split('\n').find((l) => l.startsWith(`${series} `));

test('an invalid SidecarProfile in the cluster shows in outrigger_cluster_profiles_not_in_use, and fixing it clears it', async () => {
  const api = await FakeApiServer.start();
  const { dir, cleanup } = tempDir('outrigger-cluster-metrics-');
  const metrics = createWebhookMetrics();
  const cluster = await startCluster(
    {
      kubeconfig: api.writeKubeconfig(join(dir, 'kubeconfig')),
      profilesFromCluster: true,
      controllerNamespace: 'outrigger-system',
      events: false,
      ...clusterMetricsHooks(metrics),
    },
    createLogger(new PassThrough().resume(), { level: 'error' }),
    { major: 1, minor: 33 },
  );
  const series = 'outrigger_cluster_profiles_not_in_use{reason="Invalid"}';
  const until = async (want: string) => {
    for (let i = 0; i < 2000 && line(metrics.registry.render(), series) !== `${series} ${want}`; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(line(metrics.registry.render(), series), `${series} ${want}`);
  };
  try {
    await until('0');
    const profile = (image: string | number): JsonObject => ({
      apiVersion: 'outrigger.dev/v1alpha1',
      kind: 'SidecarProfile',
      metadata: { name: 'agent', namespace: 'shop' },
      spec: { version: '1', containers: [{ name: 'agent', image }] },
    });
    api.put('sidecarprofiles', profile(42));
    await until('1');
    api.put('sidecarprofiles', profile('example.com/agent:1'));
    await until('0');
  } finally {
    await cluster.stop();
    metrics.stop();
    await api.stop();
    cleanup();
  }
});
