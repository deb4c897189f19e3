// Cluster size: 10,000 namespaces and 3,000 SidecarProfiles, served by the test API server (a real
// one cannot create that many objects within a test's budget). One watch event must cost the same
// whatever the cluster holds, and admission must stay fast while a tenant edits a profile in a loop.
// Before the caches were made incremental, each profile event re-validated and re-compiled every
// profile (about 190 ms at 3,000) and each namespace event copied the whole store.
import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JsonObject } from '../../src/common/json.ts';
import { NamespaceCache } from '../../src/kube/namespaces.ts';
import { ClusterProfiles } from '../../src/kube/profiles.ts';
import { FakeApiServer } from '../support/fake-apiserver.ts';
import { pod, review, send, tempDir } from '../support/webhook.ts';
import { assertWithinBudget, startTarget, type Target, underAttack } from './support.ts';

const SYSTEM = 'outrigger-system';
const BIG = { namespaces: 10_000, profiles: 3_000 };
const SMALL = { namespaces: 1_000, profiles: 100 };

const nsName = (i: number) => `tenant-${i}`;
/** What a real API server adds to every object: who wrote which fields. */
const managedFields = (manager: string) => [
  {
    manager,
    operation: 'Apply',
    apiVersion: 'v1',
    time: '2026-01-01T00:00:00Z',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:metadata': { 'f:labels': { 'f:team': {} } }, 'f:spec': {} },
  },
];
/** A profile of the size platform teams write: one sidecar with env, resources and a volume. */
const profile = (i: number, version: string): JsonObject => ({
  apiVersion: 'outrigger.dev/v1alpha1',
  kind: 'SidecarProfile',
  metadata: { name: `agent-${i}`, namespace: nsName(i), managedFields: managedFields('kubectl') },
  spec: {
    version,
    sidecarMode: 'classic',
    containers: [
      {
        name: `agent-${i}`,
        image: `registry.example.com/agent:${version}`,
        env: [
          { name: 'TEAM', value: `team-${i}` },
          { name: 'MODE', value: 'ship' },
        ],
        resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } },
        volumeMounts: [{ name: `agent-${i}-data`, mountPath: '/data' }],
      },
    ],
    volumes: [{ name: `agent-${i}-data`, emptyDir: {} }],
  },
});
const namespace = (i: number, labels: Record<string, string> = {}): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: nsName(i), labels: { 'outrigger.dev/injection': 'enabled', team: `team-${i}`, ...labels }, managedFields: managedFields('kubectl') },
});

function populate(api: FakeApiServer, size: { namespaces: number; profiles: number }): void {
  api.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SYSTEM } });
  api.put('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'outrigger.dev/injection': 'enabled' } } });
  for (let i = 0; i < size.namespaces; i++) api.put('namespaces', namespace(i));
  for (let i = 0; i < size.profiles; i++) api.put('sidecarprofiles', profile(i, '1'));
}

const until = async (what: string, ok: () => boolean, ms = 60_000) => {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ok(), `timed out waiting for ${what}`);
};
/** Yields to I/O until `ok` holds: each check runs right after the event loop has handled what arrived. */
const soon = async (ok: () => boolean) => {
  for (let i = 0; !ok(); i++) {
    if (i > 1_000_000) throw new Error('the change never arrived');
    await new Promise((r) => setImmediate(r));
  }
};
/** Waits (at most 30 s) until five /healthz probes in a row are answered within 50 ms. */
async function quiet(t: Target): Promise<void> {
  const agent = new Agent({ keepAlive: true, ca: t.caPem, maxSockets: 1 });
  try {
    for (let fast = 0, end = Date.now() + 30_000; fast < 5 && Date.now() < end; ) {
      const start = performance.now();
      await send(t.port, { method: 'GET', path: '/healthz', agent });
      fast = performance.now() - start < 50 ? fast + 1 : 0;
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    agent.destroy();
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Median time from the server sending one event to the cache reflecting it. */
async function timePerEvent(apply: (n: number) => void, seen: (n: number) => boolean, samples = 40): Promise<number> {
  const times: number[] = [];
  for (let n = 0; n < samples + 5; n++) {
    const start = performance.now();
    apply(n);
    await soon(() => seen(n));
    if (n >= 5) times.push(performance.now() - start); // the first few warm the code up
  }
  return median(times);
}

interface Costs {
  profileEventMs: number;
  namespaceEventMs: number;
}

/** The caches of `outrigger serve`, in this process, against a cluster of the given size. */
async function measure(size: { namespaces: number; profiles: number }): Promise<Costs> {
  const api = await FakeApiServer.start();
  populate(api, size);
  // Status writes are left out here (the serve test below has them): this measures the cache alone.
  const profiles = new ClusterProfiles(api.client(), { controllerNamespace: SYSTEM, writeStatus: () => false });
  const namespaces = new NamespaceCache(api.client());
  profiles.start();
  namespaces.informer.start();
  try {
    await Promise.all([profiles.informer.waitForSync(), namespaces.informer.waitForSync()]);
    const edited = 7;
    const tenant = nsName(edited);
    const profileEventMs = await timePerEvent(
      (n) => api.put('sidecarprofiles', profile(edited, `2.${n}`)),
      (n) => profiles.tenancy.forNamespace(tenant).byName.get(`agent-${edited}`)?.version === `2.${n}`,
    );
    const namespaceEventMs = await timePerEvent(
      (n) => api.put('namespaces', namespace(edited, { rev: String(n) })),
      (n) => namespaces.labels(tenant)?.rev === String(n),
    );
    assert.equal(profiles.tenancy.forNamespace(nsName(edited + 1)).byName.get(`agent-${edited + 1}`)?.version, '1', 'other tenants untouched');
    return { profileEventMs, namespaceEventMs };
  } finally {
    await profiles.stop();
    await namespaces.informer.stop();
    await api.stop();
  }
}

// First, while this process holds nothing else: its own pauses would show in the probes.
describe('outrigger serve in a cluster of 10,000 namespaces and 3,000 profiles', { timeout: 120_000 }, () => {
  let api: FakeApiServer;
  let t: Target;
  const { dir, cleanup } = tempDir('outrigger-scale-');
  before(async () => {
    api = await FakeApiServer.start();
    populate(api, BIG);
    t = await startTarget({ args: ['--kubeconfig', api.writeKubeconfig(join(dir, 'kubeconfig')), '--profiles-from-cluster', '--no-events'] });
    await until('every profile status written', () => api.requests.statusPatches >= BIG.profiles);
    // Startup (two lists, 3,000 compiles and status writes) leaves garbage that the next major
    // collection sweeps; that is not the churn this test measures, so wait until it has passed.
    await quiet(t);
  });
  after(async () => {
    await t?.stop();
    await api?.stop();
    cleanup();
  });

  test('/readyz?verbose on the admin listener stays small: counts and a few problems, not every profile', async () => {
    const r = await send(t.adminPort, { method: 'GET', path: '/readyz?verbose', ca: t.caPem });
    assert.equal(r.status, 200);
    const detail = (r.json().cluster as { clusterProfiles?: { count?: number; notInUseCount?: number } }).clusterProfiles;
    assert.equal(detail?.count, BIG.profiles);
    assert.equal(detail?.notInUseCount, 0);
    assert.ok(r.text.length < 4096, `${r.text.length} bytes`);
  });

  test('a tenant editing a profile in a loop: every review answered within 100 ms, the last edit served, status writes for that profile only', async (ctx) => {
    const edited = 42;
    const key = `${nsName(edited)}/agent-${edited}`;
    const patchesBefore = api.requests.statusPatches;
    const editedBefore = api.statusPatchesByKey.get(key) ?? 0;
    const edits = 300;
    await quiet(t);
    const { watch } = await underAttack(t, async () => {
      for (let n = 0; n < edits; n++) {
        api.put('sidecarprofiles', profile(edited, `3.${n}`));
        await new Promise((r) => setTimeout(r, 5));
      }
      // The server has processed every edit once the status it writes reports the last generation.
      const generation = (api.get('sidecarprofiles', key)?.metadata as { generation?: number } | undefined)?.generation;
      await until(
        'the last edit in status',
        () => (api.get('sidecarprofiles', key)?.status as { observedGeneration?: number })?.observedGeneration === generation,
      );
    });
    ctx.diagnostic(
      `${edits} edits: ${watch.probes} probes, longest /healthz ${watch.maxHealthzMs.toFixed(1)} ms, longest review ${watch.maxReviewMs.toFixed(1)} ms, peak RSS ${(watch.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
    );
    assertWithinBudget(watch);
    const writes = api.requests.statusPatches - patchesBefore;
    const forEdited = (api.statusPatchesByKey.get(key) ?? 0) - editedBefore;
    assert.equal(writes, forEdited, `${writes} status writes, ${forEdited} of them for the edited profile: no other profile's status is touched`);
    // About one per edit; a write can be repeated when an edit lands while the previous write is in flight.
    assert.ok(writes >= 1 && writes <= 2 * edits, `${writes} status writes for ${edits} edits`);
    // No wrong answer: a pod of that tenant gets the last version.
    const res = await send(t.port, {
      body: JSON.stringify(review(pod({ 'outrigger.dev/inject': `agent-${edited}` }), { namespace: nsName(edited) })),
      ca: t.caPem,
    });
    const answer = res.json().response as { allowed?: boolean; patch?: string } | undefined;
    assert.equal(answer?.allowed, true);
    const patch = Buffer.from(answer?.patch ?? '', 'base64').toString('utf8');
    assert.ok(patch.includes(`"registry.example.com/agent:3.${edits - 1}"`), `the last version injected: ${patch.slice(0, 300)}`);
  });

  test('a re-list of everything (the watch history compacted away): reviews answered within 500 ms, and it sees what changed', async (ctx) => {
    const watchesBefore = api.requests.watches;
    await quiet(t);
    const { watch } = await underAttack(t, async () => {
      api.endWatches();
      api.put('sidecarprofiles', profile(99, 'relisted'));
      api.compact();
      const key = `${nsName(99)}/agent-99`;
      await until(
        'the change seen through the re-list',
        () => (api.get('sidecarprofiles', key)?.status as { activeVersion?: string })?.activeVersion === 'relisted',
      );
      await until('both watches open again', () => api.requests.watches >= watchesBefore + 4);
    });
    ctx.diagnostic(
      `re-list: ${watch.probes} probes, longest /healthz ${watch.maxHealthzMs.toFixed(1)} ms, longest review ${watch.maxReviewMs.toFixed(1)} ms, peak RSS ${(watch.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
    );
    // A re-list reads every object again (the old and the new store are held for a moment), so
    // its bound is wider than an event's: what must not happen is compiling or writing it all again.
    assertWithinBudget(watch, { probeMs: 500 });
  });
});

test('one watch event costs the same at 100 profiles and 1,000 namespaces as at 3,000 and 10,000', { timeout: 120_000 }, async (ctx) => {
  const small = await measure(SMALL);
  const big = await measure(BIG);
  const report = `profile event: ${small.profileEventMs.toFixed(2)} ms → ${big.profileEventMs.toFixed(2)} ms; namespace event: ${small.namespaceEventMs.toFixed(2)} ms → ${big.namespaceEventMs.toFixed(2)} ms`;
  ctx.diagnostic(report);
  // Generous bounds (a shared machine): flat within 5×, and a few milliseconds at most.
  assert.ok(big.profileEventMs < 5, `a profile event took ${big.profileEventMs.toFixed(2)} ms at 3,000 profiles (${report})`);
  assert.ok(big.profileEventMs < 5 * Math.max(small.profileEventMs, 0.2), `a profile event grows with the cluster (${report})`);
  assert.ok(big.namespaceEventMs < 5, `a namespace event took ${big.namespaceEventMs.toFixed(2)} ms at 10,000 namespaces (${report})`);
  assert.ok(big.namespaceEventMs < 5 * Math.max(small.namespaceEventMs, 0.2), `a namespace event grows with the cluster (${report})`);
});
