/**
 * SidecarProfiles from a real API server: the generated CRD is accepted, profiles are watched into
 * memory, status conditions are written back, an invalid edit keeps the last valid version, a
 * tenant profile stays in its namespace, the drift report sees old pods, and a restarted API
 * server (same etcd data) is recovered from without restarting Outrigger.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isObject, type JsonObject } from '../../src/common/json.ts';
import { inject } from '../../src/engine/inject.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { loadKubeconfig } from '../../src/kube/config.ts';
import { serverVersion } from '../../src/kube/connect.ts';
import { NamespaceCache } from '../../src/kube/namespaces.ts';
import { ClusterProfiles } from '../../src/kube/profiles.ts';
import { sidecarProfileCrd } from '../../src/profiles/crd.ts';
import { driftReport } from '../../src/report/drift.ts';
import { BYPASS_MESSAGE } from '../../src/server/mandatory-bypass.ts';
import { runCli } from '../support/run-cli.ts';
import { type ControlPlane, e2eAvailability, startControlPlane } from './harness.ts';
import { eventually } from './support-webhook.ts';

const availability = await e2eAvailability();
const SYSTEM = 'outrigger-system';

const profile = (name: string, namespace: string, spec: JsonObject): JsonObject => ({
  apiVersion: 'outrigger.dev/v1alpha1',
  kind: 'SidecarProfile',
  metadata: { name, namespace },
  spec,
});
const agentSpec = (version: string, image = `example.com/agent:${version}`): JsonObject => ({ version, containers: [{ name: 'agent', image }] });

describe('SidecarProfiles from the cluster', { skip: availability.skip }, () => {
  let cp: ControlPlane;
  let client: KubeClient;
  let profiles: ClusterProfiles;
  let namespaces: NamespaceCache;
  const etcdDir = mkdtempSync(join(tmpdir(), 'outrigger-etcd-'));

  const cond = async (ns: string, name: string, type: string) => {
    const obj = await client.request('GET', `/apis/outrigger.dev/v1alpha1/namespaces/${ns}/sidecarprofiles/${name}`);
    const conds = isObject(obj.status) && Array.isArray(obj.status.conditions) ? obj.status.conditions.filter(isObject) : [];
    return { obj, c: conds.find((c) => c.type === type) };
  };

  // A merge patch of the spec: Outrigger writes status concurrently, so a GET-then-PUT would race it.
  const setSpec = (name: string, spec: JsonObject) =>
    client.request('PATCH', `/apis/outrigger.dev/v1alpha1/namespaces/${SYSTEM}/sidecarprofiles/${name}`, {
      body: { spec },
      contentType: 'application/merge-patch+json',
    });

  before(async () => {
    cp = await startControlPlane({ etcdDataDir: etcdDir });
    client = new KubeClient(loadKubeconfig(cp.kubeconfigPath));
    const crd = await cp.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', sidecarProfileCrd());
    assert.equal(crd.status, 201, crd.text);
    await eventually('the CRD to be established', async () => {
      const r = await client.request('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/sidecarprofiles.outrigger.dev');
      return (
        isObject(r.status) &&
        Array.isArray(r.status.conditions) &&
        r.status.conditions.some((c) => isObject(c) && c.type === 'Established' && c.status === 'True')
      );
    });
    for (const [ns, labels] of [
      [SYSTEM, {}],
      ['team-a', { 'outrigger.dev/injection': 'enabled', team: 'a' }],
      ['team-b', { 'outrigger.dev/injection': 'enabled', team: 'b' }],
    ] as const) {
      await cp.createNamespace(ns, labels);
    }
    profiles = new ClusterProfiles(client, {
      controllerNamespace: SYSTEM,
      log: (level, msg, f) => process.env.E2E_DEBUG && console.error(level, msg, f),
      // As `outrigger serve` runs behind the bundle's default webhook configuration (opt-out matchCondition).
      mandatoryBypass: BYPASS_MESSAGE,
    });
    namespaces = new NamespaceCache(client);
    profiles.informer.backoff = { initialMs: 100, maxMs: 1000 };
    namespaces.informer.backoff = { initialMs: 100, maxMs: 1000 };
    profiles.start();
    namespaces.informer.start();
    await Promise.all([profiles.informer.waitForSync(), namespaces.informer.waitForSync()]);
  });

  after(async () => {
    await profiles?.stop();
    await namespaces?.informer.stop();
    client?.close();
    await cp?.stop();
    rmSync(etcdDir, { recursive: true, force: true });
  });

  test('the example profiles are accepted by the generated CRD as they are', async () => {
    const r = await runCli(['validate', '--profiles', 'examples/profiles']);
    assert.equal(r.code, 0);
    for (const f of ['envoy', 'log-shipper', 'secrets-agent']) {
      const { readFileSync } = await import('node:fs');
      const { parse } = await import('yaml');
      const doc = parse(readFileSync(`examples/profiles/${f}.yaml`, 'utf8'), { version: '1.1' });
      const res = await cp.request('POST', `/apis/outrigger.dev/v1alpha1/namespaces/${SYSTEM}/sidecarprofiles`, {
        ...doc,
        metadata: { ...doc.metadata, namespace: SYSTEM },
      });
      assert.equal(res.status, 201, res.text);
    }
    await eventually(
      'three example profiles in the cache',
      () => profiles.tenancy.global.byName.has('secrets-agent') && profiles.tenancy.global.byName.has('envoy'),
    );
  });

  test('the CRD refuses what the loader refuses: long globs, too many targets, an unknown template rule', async () => {
    const create = (name: string, spec: object) =>
      cp.request('POST', `/apis/outrigger.dev/v1alpha1/namespaces/team-a/sidecarprofiles`, {
        apiVersion: 'outrigger.dev/v1alpha1',
        kind: 'SidecarProfile',
        metadata: { name, namespace: 'team-a' },
        spec: { version: '1', ...spec },
      });
    const refused: [string, object, RegExp][] = [
      ['long-glob', { targets: ['*'.repeat(64)] }, /spec\.targets\[0\]: Too long/],
      ['many-globs', { initContainerTargets: Array(65).fill('a*') }, /spec\.initContainerTargets: Too many/],
      ['bad-rule', { templateValues: { rule: 'shell' } }, /spec\.templateValues\.rule: Unsupported value/],
    ];
    for (const [name, spec, message] of refused) {
      const r = await create(name, spec);
      assert.equal(r.status, 422, `${name}: ${r.text}`);
      assert.match(r.text, message);
    }
    const ok = await create('ruled', { targets: ['*'.repeat(63)], templateValues: { rule: 'dns-label' } });
    assert.equal(ok.status, 201, ok.text);
    assert.equal((await cp.request('DELETE', '/apis/outrigger.dev/v1alpha1/namespaces/team-a/sidecarprofiles/ruled')).status, 200);
  });

  test('a profile gets a Ready condition, and the engine injects it from the cache into a pod the API server accepts', async () => {
    await client.request('POST', `/apis/outrigger.dev/v1alpha1/namespaces/${SYSTEM}/sidecarprofiles`, { body: profile('agent', SYSTEM, agentSpec('1')) });
    const { c } = await eventually('Ready=True', async () => {
      const r = await cond(SYSTEM, 'agent', 'Ready');
      return r.c?.status === 'True' ? r : undefined;
    });
    assert.equal(c?.reason, 'Valid');
    const set = await eventually('agent in cache', () =>
      profiles.tenancy.forNamespace('team-a').byName.has('agent') ? profiles.tenancy.forNamespace('team-a') : undefined,
    );
    const pod = { metadata: { name: 'p1', annotations: { 'outrigger.dev/inject': 'agent' } }, spec: { containers: [{ name: 'app', image: 'app' }] } };
    const d = inject(pod, set, {
      namespace: 'team-a',
      kubeVersion: await serverVersion(client),
      ...(namespaces.labels('team-a') ? { namespaceLabels: namespaces.labels('team-a') } : {}),
    });
    assert.equal(d.outcome, 'injected');
    const created = await client.request('POST', '/api/v1/namespaces/team-a/pods', { body: { apiVersion: 'v1', kind: 'Pod', ...d.pod } as JsonObject });
    assert.equal((created.metadata as JsonObject).name, 'p1');
  });

  test('a mandatory profile that the opt-out matchCondition lets pods skip says so in its status; others have no such condition', async () => {
    await client.request('POST', `/apis/outrigger.dev/v1alpha1/namespaces/${SYSTEM}/sidecarprofiles`, {
      body: profile('policy', SYSTEM, { ...agentSpec('1', 'example.com/policy:1'), mandatory: true }),
    });
    const { c } = await eventually('MandatoryBypassable=True', async () => {
      const r = await cond(SYSTEM, 'policy', 'MandatoryBypassable');
      return r.c?.status === 'True' ? r : undefined;
    });
    assert.equal(c?.reason, 'OptOutMatchCondition');
    assert.match(String(c?.message), /--no-opt-out-condition/);
    assert.equal((await cond(SYSTEM, 'policy', 'Ready')).c?.status, 'True', 'the profile is still valid and in use');
    assert.equal((await cond(SYSTEM, 'agent', 'MandatoryBypassable')).c, undefined);
    await client.request('DELETE', `/apis/outrigger.dev/v1alpha1/namespaces/${SYSTEM}/sidecarprofiles/policy`);
  });

  test('an update gives new pods the new version, and status reports the old pod as drifted', async () => {
    await setSpec('agent', agentSpec('2'));
    await eventually('version 2 active', () => profiles.tenancy.global.byName.get('agent')?.version === '2');
    const pods = await client.request('GET', '/api/v1/namespaces/team-a/pods');
    const rows = driftReport({
      pods: (pods.items as JsonObject[]) ?? [],
      namespaceLabels: (n) => namespaces.labels(n),
      tenancy: profiles.tenancy,
      kubeVersion: { major: 1, minor: 35 },
    });
    assert.deepEqual(
      rows.map((r) => [r.pod, r.state, r.profiles]),
      [['p1', 'drifted', [{ profile: 'agent', injected: '1', current: '2' }]]],
    );
    // The CLI reads the same from the cluster; exit 5 means "some pods are behind".
    const cli = await runCli(['status', '--kubeconfig', cp.kubeconfigPath, '-o', 'json']);
    assert.equal(cli.code, 5, cli.stderr);
    assert.equal(JSON.parse(cli.stdout).pods[0].state, 'drifted');
  });

  test('pods created without injection in an opted-in namespace are reported', async () => {
    await client.request('POST', '/api/v1/namespaces/team-b/pods', {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'missed', annotations: { 'outrigger.dev/inject': 'agent' } },
        spec: { containers: [{ name: 'app', image: 'app' }] },
      },
    });
    const cli = await runCli(['status', '--kubeconfig', cp.kubeconfigPath, '-n', 'team-b']);
    assert.equal(cli.code, 5);
    assert.match(cli.stdout, /team-b\s+missed\s+not-injected\s+agent@-→2/);
  });

  test('an invalid edit gives Invalid with the field path, and the last valid version stays in use', async () => {
    // Valid for the CRD, invalid for Outrigger: a template variable that does not exist.
    const res = await setSpec('agent', agentSpec('3', 'example.com/agent:{{ pod.nmae }}'));
    assert.ok(res.metadata);
    const { c } = await eventually('Invalid=True', async () => {
      const r = await cond(SYSTEM, 'agent', 'Invalid');
      return r.c?.status === 'True' ? r : undefined;
    });
    assert.match(String(c?.message), /^spec\.containers\[0\]\.image: \{\{ pod\.nmae \}\}: unknown variable "pod\.nmae"/);
    const ready = (await cond(SYSTEM, 'agent', 'Ready')).c;
    assert.equal(ready?.status, 'False');
    assert.match(String(ready?.message), /Still injecting the last valid version 2\./);
    assert.equal(profiles.tenancy.global.byName.get('agent')?.version, '2');
    // The CRD itself refuses what its schema can see, with the field path.
    const bad = await cp.request(
      'POST',
      `/apis/outrigger.dev/v1alpha1/namespaces/${SYSTEM}/sidecarprofiles`,
      profile('bad', SYSTEM, { version: '1', sidecarMode: 'sometimes' }),
    );
    assert.equal(bad.status, 422);
    assert.match((bad.body as { message: string }).message, /spec\.sidecarMode: Unsupported value: "sometimes"/);
  });

  test('a tenant profile reaches only its own namespace and cannot shadow a cluster-wide one', async () => {
    await client.request('POST', '/apis/outrigger.dev/v1alpha1/namespaces/team-a/sidecarprofiles', {
      body: profile('team-tool', 'team-a', agentSpec('1', 'example.com/tool:1')),
    });
    await client.request('POST', '/apis/outrigger.dev/v1alpha1/namespaces/team-a/sidecarprofiles', {
      body: profile('agent', 'team-a', agentSpec('666', 'evil.example.com/agent')),
    });
    await eventually('team-tool in team-a', () => profiles.tenancy.forNamespace('team-a').byName.has('team-tool'));
    assert.equal(profiles.tenancy.forNamespace('team-b').byName.has('team-tool'), false);
    assert.equal(profiles.tenancy.forNamespace('team-a').byName.get('agent')?.namespace, SYSTEM);
    const { c } = await eventually('NameTaken', async () => {
      const r = await cond('team-a', 'agent', 'Ready');
      return r.c?.reason === 'NameTaken' ? r : undefined;
    });
    assert.match(String(c?.message), /taken by the cluster-wide profile/);
  });

  test('a restarted API server is recovered from without restarting Outrigger', async () => {
    // The informer's open watch makes the old server take its full shutdown grace period to stop.
    await cp.stop();
    cp = await startControlPlane({ etcdDataDir: etcdDir });
    // Same data, new port and certificates: point the existing client at the new server.
    const fresh = loadKubeconfig(cp.kubeconfigPath);
    Object.assign(client.config, fresh);
    client.resetConnections();
    await client.request('POST', `/apis/outrigger.dev/v1alpha1/namespaces/${SYSTEM}/sidecarprofiles`, {
      body: profile('after-restart', SYSTEM, agentSpec('1', 'example.com/later:1')),
    });
    await eventually('a profile created after the restart', () => profiles.tenancy.global.byName.has('after-restart'), 60_000);
  });
});
