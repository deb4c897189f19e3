/**
 * Policy mode in the cluster: the real `outrigger serve --profiles-from-cluster --admission policy`
 * against a real kube-apiserver (1.36 or newer) keeps the admission policies in step with the
 * SidecarProfiles in its namespace — created, updated, deleted — and with a tenant's, compiled into
 * its namespace's own set, and says in each profile's `Served` condition how it is served. Pods are injected by the API server alone, as the engine
 * injects them (the differential of policy.e2e.test.ts), with no webhook configured. The server
 * runs with the RBAC of `outrigger manifests --admission policy` and nothing more.
 *
 *   E2E_KUBE=1.37 ./node_modules/.bin/node --test --test-reporter=spec test/e2e/policy-cluster.e2e.test.ts
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { INJECTION_LABEL, NAME, POLICY_RESOURCES, SYNCED_BY_LABEL } from '../../src/common/labels.ts';
import { bundle, DEFAULTS } from '../../src/deploy/manifests.ts';
import { type JsonObject, type ProfileSet, profileSet } from '../../src/engine/index.ts';
import { compileProfile } from '../../src/profiles/compile.ts';
import { sidecarProfileCrd } from '../../src/profiles/crd.ts';
import { parseProfiles } from '../../src/profiles/parse.ts';
import { tenancy } from '../../src/profiles/tenancy.ts';
import { generateCA, generateServingCert } from '../../src/tls/certs.ts';
import { runCli } from '../support/run-cli.ts';
import { type ControlPlane, e2eAvailability, kubernetesVersion, startControlPlane, writeServiceAccountKubeconfig } from './harness.ts';
import { AGENT, REFUSED } from './policy-fixtures.ts';
import { type Differential, differential, type Pod } from './policy-support.ts';
import { eventually, type ServeProcess, type Summary, startServeProcess, summarize } from './support-webhook.ts';

const MINOR = Number(kubernetesVersion().replace(/^v1\.(\d+)\..*$/, '$1'));
const tooOld = `policy mode needs Kubernetes 1.36 (MutatingAdmissionPolicy v1); this server is ${kubernetesVersion()}: E2E_KUBE=1.37 runs it`;
const skip = MINOR < 36 ? tooOld : (await e2eAvailability()).skip;

const SYSTEM = 'outrigger-system';
const NS = { baseline: 'pc-baseline', served: 'pc-served', tenant: 'pc-tenant', webhook: 'pc-webhook' };
/** Served by the webhook instead (a configuration of its own, by URL): labelled for the agent's selector, not for the policies' binding. */
const WEBHOOK_LABELS = { 'e2e.outrigger.dev/webhook': 'on', 'e2e.outrigger.dev/tier': 'apps' };
const SERVED_LABELS = { [INJECTION_LABEL]: 'enabled', 'e2e.outrigger.dev/tier': 'apps' };
const PROFILES = `/apis/outrigger.dev/v1alpha1`;
const BASE = '/apis/admissionregistration.k8s.io/v1';
/** A tenant's profile in its own namespace: a classic sidecar and a volume, templated from the namespace. */
const TENANT = JSON.stringify({
  apiVersion: 'outrigger.dev/v1alpha1',
  kind: 'SidecarProfile',
  metadata: { name: 'tenant-agent' },
  spec: {
    version: '1.0.0',
    sidecarMode: 'classic',
    containers: [
      {
        name: 'tenant-sidecar',
        image: 'example.com/tenant:1',
        args: ['--at={{ namespace.name }}'],
        volumeMounts: [{ name: 'tenant-cache', mountPath: '/cache' }],
      },
    ],
    volumes: [{ name: 'tenant-cache', emptyDir: {} }],
    metadata: { labels: { 'tenant.example.com/injected': 'true' } },
  },
});

/** A profile document of the fixtures, as an object in `namespace`. */
function clusterProfile(doc: string, namespace: string): JsonObject {
  const o = parseYaml(doc) as JsonObject;
  return { ...o, metadata: { ...(o.metadata as JsonObject), namespace } };
}

describe('serve --admission policy keeps admission policies in step with the cluster profiles', { skip }, () => {
  let cp: ControlPlane;
  let dir: string;
  let server: ServeProcess | undefined;
  let servedLabels: Record<string, string>;
  let tenantLabels: Record<string, string>;
  let caPem: string;

  const profilePath = (ns: string, name = '') => `${PROFILES}/namespaces/${ns}/sidecarprofiles${name ? `/${name}` : ''}`;
  /** The policy objects the server keeps, by kind: their names. */
  const kept = async () => {
    const out: Record<string, string[]> = {};
    for (const r of POLICY_RESOURCES) {
      const list = await cp.request<{ items: JsonObject[] }>('GET', `${BASE}/${r.plural}`, undefined, {
        query: { labelSelector: `${SYNCED_BY_LABEL}=${SYSTEM}` },
      });
      out[r.kind] = list.body.items.map((o) => (o.metadata as JsonObject).name as string).sort();
    }
    return out;
  };
  const condition = async (ns: string, name: string, type: string) => {
    const r = await cp.request<JsonObject>('GET', profilePath(ns, name));
    const conds = ((r.body.status as JsonObject | undefined)?.conditions ?? []) as JsonObject[];
    return conds.find((c) => c.type === type);
  };
  const served = (ns: string, name: string, reason: string) =>
    eventually(`${ns}/${name} Served: ${reason}`, async () => {
      const c = await condition(ns, name, 'Served');
      return c?.reason === reason ? c : undefined;
    });
  /** The engine's profile set for one stored cluster-wide profile, read back from the API server. */
  const storedSet = async (name: string) => {
    const o = (await cp.request<JsonObject>('GET', profilePath(SYSTEM, name))).body;
    const r = parseProfiles(JSON.stringify({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name }, spec: o.spec }), name);
    assert.deepEqual(r.errors, []);
    return profileSet(r.profiles);
  };
  const agentPod: Pod = { metadata: { name: 'app' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } };
  /** Polls the differential until the API server injects the pod as the engine does (a policy takes effect a moment after it is written); the pod it made. */
  const injected = async (d: Differential, pod: Pod, what: string): Promise<Pod> => {
    let last: string | undefined;
    return eventually(what, async () => {
      const v = await differential(d, pod);
      last = v.problem;
      return v.outcome === 'injected' && v.problem === undefined ? v.made : undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}: ${last}`);
    });
  };
  /** A pod that asks for the tenant's profile (an unknown one outside its namespace). */
  const asking: Pod = { ...agentPod, metadata: { name: 'asking', annotations: { 'outrigger.dev/inject': 'tenant-agent' } } };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outrigger-policy-cluster-e2e-'));
    const ca = generateCA({ commonName: 'outrigger-e2e-ca' });
    const leaf = generateServingCert({ ca, commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    writeFileSync(join(dir, 'tls.crt'), leaf.certPem);
    writeFileSync(join(dir, 'tls.key'), leaf.keyPem);
    cp = await startControlPlane();
    const crd = await cp.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', sidecarProfileCrd());
    assert.equal(crd.status, 201, crd.text);
    await cp.createNamespace(SYSTEM);
    await cp.createNamespace(NS.baseline);
    await cp.createNamespace(NS.tenant, SERVED_LABELS);
    await cp.createNamespace(NS.served, SERVED_LABELS);
    await cp.createNamespace(NS.webhook, WEBHOOK_LABELS);
    const labelsOf = async (ns: string) =>
      (await cp.request<{ metadata: { labels: Record<string, string> } }>('GET', `/api/v1/namespaces/${ns}`)).body.metadata.labels;
    servedLabels = await labelsOf(NS.served);
    tenantLabels = await labelsOf(NS.tenant);
    await eventually('the SidecarProfile API', async () => (await cp.request('GET', profilePath(SYSTEM))).status === 200 || undefined);
    // The server runs as the ServiceAccount of `outrigger manifests --admission policy`, with exactly
    // the permissions of its ClusterRole and Role (the Lease electing the writer): what policy mode
    // needs is what the bundle grants.
    const rbac = bundle({ ...DEFAULTS, admission: 'policy', certMode: 'files', caBundle: ca.certPem }).filter((o) =>
      ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind as string),
    );
    assert.equal(rbac.length, 5);
    const RBAC = '/apis/rbac.authorization.k8s.io/v1';
    const paths: Record<string, string> = {
      ServiceAccount: `/api/v1/namespaces/${SYSTEM}/serviceaccounts`,
      ClusterRole: `${RBAC}/clusterroles`,
      ClusterRoleBinding: `${RBAC}/clusterrolebindings`,
      Role: `${RBAC}/namespaces/${SYSTEM}/roles`,
      RoleBinding: `${RBAC}/namespaces/${SYSTEM}/rolebindings`,
    };
    for (const o of rbac) {
      const path = paths[o.kind as string] as string;
      const created = await cp.request('POST', path, o);
      assert.equal(created.status, 201, created.text);
    }
    const kubeconfig = join(dir, 'kubeconfig');
    await writeServiceAccountKubeconfig(cp, SYSTEM, NAME, kubeconfig);
    server = await startServeProcess(
      [
        '--profiles-from-cluster',
        '--admission',
        'policy',
        '--kubeconfig',
        kubeconfig,
        '--controller-namespace',
        SYSTEM,
        '--no-events',
        '--tls-cert',
        join(dir, 'tls.crt'),
        '--tls-key',
        join(dir, 'tls.key'),
        '--port',
        '0',
        '--host',
        '127.0.0.1',
      ],
      ca.certPem,
      60_000,
    );
    caPem = ca.certPem;
  });
  after(async () => {
    await server?.stop(5_000);
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("compiles a cluster-wide profile into its objects and the set's, and pods get from the API server what the engine gives them", async () => {
    const r = await cp.request('POST', profilePath(SYSTEM), clusterProfile(AGENT, SYSTEM));
    assert.equal(r.status, 201, r.text);
    await eventually('the agent policies', async () => ((await kept()).ValidatingAdmissionPolicyBinding?.length === 2 ? true : undefined));
    assert.deepEqual(await kept(), {
      MutatingAdmissionPolicy: ['outrigger-agent'],
      ValidatingAdmissionPolicy: ['outrigger-agent-deny', 'outrigger-unknown-profiles'],
      MutatingAdmissionPolicyBinding: ['outrigger-agent'],
      ValidatingAdmissionPolicyBinding: ['outrigger-agent-deny', 'outrigger-unknown-profiles'],
    });
    const c = await served(SYSTEM, 'agent', 'Policy');
    assert.equal(c.status, 'True');
    assert.match(String(c.message), /MutatingAdmissionPolicy outrigger-agent/);

    // The engine's side runs on the profile as the API server stores it (maps come back with their
    // keys sorted), as the webhook would in cluster mode.
    const d = { cp, baseline: NS.baseline, served: NS.served, servedLabels, set: await storedSet('agent'), kubeMinor: MINOR };
    // A policy takes effect a moment after it is created: the first pods are retried until injected.
    let last: string | undefined;
    await eventually('the agent to be injected by the API server', async () => {
      const v = await differential(d, agentPod);
      last = v.problem;
      return v.outcome === 'injected' && v.problem === undefined ? true : undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}: ${last}`);
    });
    for (const pod of [
      agentPod,
      {
        metadata: { name: 'two' },
        spec: {
          containers: [
            { name: 'web', image: 'nginx' },
            { name: 'log', image: 'busybox' },
          ],
        },
      },
    ]) {
      const v = await differential(d, pod);
      assert.equal(v.problem, undefined, v.problem);
      assert.equal(v.outcome, 'injected');
    }
    // No webhook takes part: the API server has none configured for pods.
    const hooks = await cp.request<{ items: unknown[] }>('GET', `${BASE}/mutatingwebhookconfigurations`);
    assert.deepEqual(hooks.body.items, []);
  });

  it('measures the latency a pod create gets from each mode, in the same run (printed, not asserted)', async () => {
    assert.ok(server);
    // The same server as a webhook for one namespace, so both modes inject the same profile side by side.
    const hook = await cp.request('POST', `${BASE}/mutatingwebhookconfigurations`, {
      metadata: { name: 'pc-latency-webhook' },
      webhooks: [
        {
          name: 'pods.latency.outrigger.dev',
          clientConfig: { url: `https://127.0.0.1:${server.port}/mutate`, caBundle: Buffer.from(caPem).toString('base64') },
          rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
          namespaceSelector: { matchLabels: { 'e2e.outrigger.dev/webhook': 'on' } },
          admissionReviewVersions: ['v1'],
          sideEffects: 'NoneOnDryRun',
          failurePolicy: 'Fail',
          timeoutSeconds: 5,
        },
      ],
    });
    assert.equal(hook.status, 201, hook.text);
    const timed = async (ns: string, name: string) => {
      const t = performance.now();
      const r = await cp.request<Pod>('POST', `/api/v1/namespaces/${ns}/pods`, { metadata: { name }, spec: agentPod.spec }, { query: { dryRun: 'All' } });
      const ms = performance.now() - t;
      assert.equal(r.status, 201, r.text);
      return { ms, containers: ((r.body.spec.initContainers ?? []) as JsonObject[]).map((c) => c.name) };
    };
    await eventually('the webhook to be called', async () => ((await timed(NS.webhook, 'warm')).containers.includes('agent') ? true : undefined));
    const N = 60;
    const samples: Record<'none' | 'webhook' | 'policy', number[]> = { none: [], webhook: [], policy: [] };
    for (let i = 0; i < N + 5; i++) {
      // Interleaved, so drift in the machine's load falls on every mode alike; the first 5 warm up.
      const none = await timed(NS.baseline, `p-${i}`);
      const webhook = await timed(NS.webhook, `p-${i}`);
      const policy = await timed(NS.served, `p-${i}`);
      assert.deepEqual([none.containers.includes('agent'), webhook.containers.includes('agent'), policy.containers.includes('agent')], [false, true, true]);
      if (i < 5) continue;
      samples.none.push(none.ms);
      samples.webhook.push(webhook.ms);
      samples.policy.push(policy.ms);
    }
    assert.equal((await cp.request('DELETE', `${BASE}/mutatingwebhookconfigurations/pc-latency-webhook`)).status, 200);
    const [none, webhook, policy] = [summarize(samples.none), summarize(samples.webhook), summarize(samples.policy)];
    const fmt = (x: Summary) => `median ${x.median.toFixed(2)} ms, p95 ${x.p95.toFixed(2)} ms (n=${x.n})`;
    const added = (x: Summary) => `median +${(x.median - none.median).toFixed(2)} ms, p95 +${(x.p95 - none.p95).toFixed(2)} ms`;
    console.log(
      [
        `pod create latency (dry run), ${N} sequential creates per mode, interleaved, Kubernetes ${kubernetesVersion()}:`,
        `  no injection:        ${fmt(none)}`,
        `  webhook (HTTPS):     ${fmt(webhook)}; added ${added(webhook)}`,
        `  admission policies:  ${fmt(policy)}; added ${added(policy)}`,
      ].join('\n'),
    );
  });

  it('a profile that cannot be compiled is reported in its status and nothing of it is applied', async () => {
    const r = await cp.request('POST', profilePath(SYSTEM), clusterProfile(REFUSED, SYSTEM));
    assert.equal(r.status, 201, r.text);
    const c = await served(SYSTEM, 'refused', 'PolicyRefused');
    assert.equal(c.status, 'False');
    assert.match(String(c.message), /cannot be compiled to an admission policy: spec\.containers\[0\]\.env\[0\]\.value: /);
    assert.deepEqual((await kept()).MutatingAdmissionPolicy, ['outrigger-agent']);
  });

  it("a tenant profile is compiled with the cluster-wide ones into its namespace's own set; other namespaces keep the cluster-wide set; deleting it gives the namespace back", async () => {
    const names = (p: Pod | undefined) =>
      [...((p?.spec.initContainers ?? []) as JsonObject[]), ...((p?.spec.containers ?? []) as JsonObject[])].map((x) => x.name);
    const inTenant = (set: ProfileSet): Differential => ({ cp, baseline: NS.baseline, served: NS.tenant, servedLabels: tenantLabels, set, kubeMinor: MINOR });
    const created = await cp.request('POST', profilePath(NS.tenant), clusterProfile(TENANT, NS.tenant));
    assert.equal(created.status, 201, created.text);
    try {
      const c = await served(NS.tenant, 'tenant-agent', 'Policy');
      assert.equal(c.status, 'True');
      assert.match(String(c.message), /MutatingAdmissionPolicy outrigger\.ns\.pc-tenant\.profiles/);
      assert.deepEqual(await kept(), {
        MutatingAdmissionPolicy: ['outrigger-agent', 'outrigger.ns.pc-tenant.profiles'],
        ValidatingAdmissionPolicy: [
          'outrigger-agent-deny',
          'outrigger-unknown-profiles',
          'outrigger.ns.pc-tenant.profiles-deny',
          'outrigger.ns.pc-tenant.unknown-profiles',
        ],
        MutatingAdmissionPolicyBinding: ['outrigger-agent', 'outrigger.ns.pc-tenant.profiles'],
        ValidatingAdmissionPolicyBinding: [
          'outrigger-agent-deny',
          'outrigger-unknown-profiles',
          'outrigger.ns.pc-tenant.profiles-deny',
          'outrigger.ns.pc-tenant.unknown-profiles',
        ],
      });
      // The engine's side: the set the webhook builds for a pod of the namespace, from the profiles as stored.
      const stored = async (ns: string, name: string) =>
        compileProfile((await cp.request<JsonObject>('GET', profilePath(ns, name))).body, `SidecarProfile ${ns}/${name}`);
      const webhookSet = tenancy([await stored(SYSTEM, 'agent'), await stored(NS.tenant, 'tenant-agent')], SYSTEM).forNamespace(NS.tenant);
      assert.deepEqual(
        webhookSet.profiles.map((p) => p.name),
        ['agent', 'tenant-agent'],
      );
      const both = await injected(inTenant(webhookSet), asking, 'pods of the tenant namespace to get both profiles');
      assert.deepEqual(names(both), ['agent-init', 'agent', 'app', 'tenant-sidecar']);
      assert.match(both.metadata.annotations?.['outrigger.dev/status'] ?? '', /"profiles":\[{"name":"agent",.*},{"name":"tenant-agent",/);
      assert.deepEqual(names(await injected(inTenant(webhookSet), agentPod, 'the agent alone where the tenant profile is not asked for')), [
        'agent-init',
        'agent',
        'app',
      ]);
      // Another namespace: the cluster-wide set alone, where the tenant's profile is an unknown one.
      const inServed = { cp, baseline: NS.baseline, served: NS.served, servedLabels, set: await storedSet('agent'), kubeMinor: MINOR };
      assert.deepEqual(names(await injected(inServed, asking, 'the cluster-wide set in another namespace')), ['agent-init', 'agent', 'app']);
    } finally {
      // Gone even when an assertion failed, so the tests after this one see the cluster-wide set alone.
      await cp.request('DELETE', profilePath(NS.tenant, 'tenant-agent'));
    }
    await eventually('the namespace set to go', async () => ((await kept()).ValidatingAdmissionPolicyBinding?.length === 2 ? true : undefined));
    assert.deepEqual((await kept()).MutatingAdmissionPolicy, ['outrigger-agent']);
    const back = await injected(inTenant(await storedSet('agent')), asking, 'pods of the tenant namespace to get the cluster-wide set again');
    assert.deepEqual(names(back), ['agent-init', 'agent', 'app']);
  });

  it('an edited profile updates its policies; outrigger status sees the pods injected before; a deleted one takes them away', async () => {
    // A pod stored with the policies' injection: its status record is the webhook's, so drift is read the same way.
    const stored = await cp.request<Pod>('POST', `/api/v1/namespaces/${NS.served}/pods`, { metadata: { name: 'stored' }, spec: agentPod.spec });
    assert.equal(stored.status, 201, stored.text);
    assert.ok(stored.body.metadata.annotations?.['outrigger.dev/status']?.includes('"version":"1.0.0"'));
    const current = await runCli(['status', '--kubeconfig', cp.kubeconfigPath, '-n', NS.served, '-o', 'json']);
    assert.equal(current.code, 0, current.stdout + current.stderr);

    const object = await cp.request<JsonObject>('GET', profilePath(SYSTEM, 'agent'));
    const edited = structuredClone(object.body);
    const spec = edited.spec as JsonObject;
    spec.version = '1.1.0';
    ((spec.containers as JsonObject[])[0] as JsonObject).image = 'example.com/agent:1.1.0';
    const put = await cp.request('PUT', profilePath(SYSTEM, 'agent'), edited);
    assert.equal(put.status, 200, put.text);
    await eventually('the policy at version 1.1.0', async () => {
      const p = await cp.request<JsonObject>('GET', `${BASE}/mutatingadmissionpolicies/outrigger-agent`);
      return ((p.body.metadata as JsonObject).annotations as JsonObject)['outrigger.dev/profile-version'] === '1.1.0' || undefined;
    });
    const d = { cp, baseline: NS.baseline, served: NS.served, servedLabels, set: await storedSet('agent'), kubeMinor: MINOR };
    await eventually('pods to get version 1.1.0', async () => ((await differential(d, agentPod)).problem === undefined ? true : undefined));
    const behind = await runCli(['status', '--kubeconfig', cp.kubeconfigPath, '-n', NS.served, '-o', 'json']);
    assert.equal(behind.code, 5, behind.stderr);
    const rows = (JSON.parse(behind.stdout) as { pods: { pod: string; state: string; profiles: unknown }[] }).pods;
    assert.deepEqual(
      rows.map((r) => [r.pod, r.state, r.profiles]),
      [['stored', 'drifted', [{ profile: 'agent', injected: '1.0.0', current: '1.1.0' }]]],
    );

    // Deleting it takes its policies away, and the set's with them (no profile compiles: the
    // templated one stays refused): the API server injects nothing.
    assert.equal((await cp.request('DELETE', profilePath(SYSTEM, 'agent'))).status, 200);
    await eventually('no policy left', async () => (Object.values(await kept()).every((names) => names.length === 0) ? true : undefined));
    await eventually('pods to be created as they are', async () => {
      const plain = await cp.request<Pod>(
        'POST',
        `/api/v1/namespaces/${NS.served}/pods`,
        { metadata: { name: 'plain' }, spec: agentPod.spec },
        { query: { dryRun: 'All' } },
      );
      assert.equal(plain.status, 201, plain.text);
      const names = (plain.body.spec.containers as JsonObject[]).map((c) => c.name);
      return names.length === 1 && names[0] === 'app' ? true : undefined;
    });
  });
});
