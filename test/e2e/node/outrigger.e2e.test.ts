// Outrigger as a real workload: the bundle from `outrigger manifests` (cert mode self) runs the
// Outrigger image as pods on kubelet-backed nodes, and injected pods really run.
//
// What this environment needs beyond the bundle (patched in bundleForNodes() only):
//  - No kube-proxy and an API server on loopback only: Outrigger runs with hostNetwork and is
//    pointed at the API server's loopback address (KUBERNETES_SERVICE_HOST/PORT).
//  - hostNetwork pods share the host's network namespace, so each replica listens on its node's
//    own loopback address (--host=$(HOST_IP), and the admin listener --admin-address=$(HOST_IP):9443;
//    nodes are 127.0.0.1, 127.0.0.2, 127.0.0.3) and gets its Lease identity from the downward API (POD_NAME; the host name is the same for all).
//  - The image comes from a local archive: imagePullPolicy Never.
//  - Pod Security "restricted" (the namespace's enforce label) forbids hostNetwork: the namespace
//    enforces "privileged" and only warns at "restricted"; test 7 checks on the node that the
//    restricted settings hold all the same.
// Three nodes, because with hostNetwork a replica's port is a host port: the rolling update's
// surge pod (maxSurge 1, maxUnavailable 0) needs a third node.
// The API server reaches the webhook Service through cp.setServiceEndpoint; EndpointFollower
// plays the endpoints controller and kube-proxy: it routes the Service to a Ready replica.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { JsonObject } from '../../../src/common/json.ts';
import { LEADER_LEASE, NAME, TLS_SECRET } from '../../../src/common/labels.ts';
import { bundle, DEFAULTS } from '../../../src/deploy/manifests.ts';
import { chartDir } from '../../helm/chart.ts';
import { helmAvailability } from '../../tools/helm.ts';
import { type ControlPlane, e2eAvailability, sleep, startControlPlane } from '../harness.ts';
import { hostSnapshot, nodeAvailability, snapshotDiff } from './host.ts';
import { applyAll, busyboxPod, collectionPath, create, type Pod, podLog, podReady, podsOf, until, waitForPod } from './kube.ts';
import { type KubeNode, startNode } from './node.ts';
import { BUSYBOX_REF } from './oci.ts';
import { type BuiltImage, buildOutriggerImage } from './outrigger-image.ts';

const e2e = await e2eAvailability();
const skip = e2e.skip || nodeAvailability();
// Built from its Go module like the API server (test/tools/helm.ts); test 9 needs it.
const helmAvail = skip ? { helm: undefined, skip } : await helmAvailability();
const NS = DEFAULTS.namespace;
const SELECTOR = 'app.kubernetes.io/name=outrigger';
const PORT = 8443;

/** The bundle, patched only as far as these nodes need (see the file comment). */
function bundleForNodes(image: string, apiPort: number): JsonObject[] {
  return bundle({ ...DEFAULTS, image }).map((obj) => {
    if (obj.kind === 'Namespace') {
      const labels = (obj.metadata as JsonObject).labels as JsonObject;
      labels['pod-security.kubernetes.io/enforce'] = 'privileged';
      labels['pod-security.kubernetes.io/warn'] = 'restricted';
    }
    if (obj.kind !== 'Deployment') return obj;
    const spec = (obj.spec as JsonObject).template as JsonObject;
    const pod = spec.spec as JsonObject;
    pod.hostNetwork = true;
    const c = (pod.containers as JsonObject[])[0] as JsonObject;
    c.imagePullPolicy = 'Never';
    c.args = [...(c.args as string[]), '--host=$(HOST_IP)', '--admin-address=$(HOST_IP):9443'];
    c.env = [
      ...((c.env as JsonObject[] | undefined) ?? []),
      { name: 'KUBERNETES_SERVICE_HOST', value: '127.0.0.1' },
      { name: 'KUBERNETES_SERVICE_PORT', value: String(apiPort) },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
    ];
    return obj;
  });
}

/** Routes the webhook Service to a Ready replica, as the endpoints controller and kube-proxy would. */
class EndpointFollower {
  target: string | undefined;
  /** When the Service was routed where, for failure messages. */
  readonly switches: string[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly cp: ControlPlane;
  constructor(cp: ControlPlane) {
    this.cp = cp;
  }
  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        await this.follow().catch(() => undefined);
        await sleep(100);
      }
    })();
  }
  /** Prefer `preferPod` while it is Ready (to aim an attack at one replica). */
  preferPod: string | undefined;
  private async follow(): Promise<void> {
    const pods = (await podsOf(this.cp, NS, SELECTOR)).filter((p) => podReady(p) && !(p.metadata as JsonObject).deletionTimestamp);
    const preferred = pods.find((p) => p.metadata.name === this.preferPod);
    const current = pods.find((p) => `${p.status?.hostIP}:${PORT}` === this.target);
    const next = preferred ?? current ?? pods[0];
    if (!next?.status?.hostIP) return;
    const target = `${next.status.hostIP}:${PORT}`;
    if (target !== this.target) {
      this.cp.setServiceEndpoint(NS, NAME, 443, target);
      this.target = target;
      this.switches.push(`${new Date().toISOString()} -> ${target} (${next.metadata.name})`);
    }
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

describe('e2e node: Outrigger as a real workload', { skip, timeout: 30 * 60_000 }, () => {
  let cp: ControlPlane;
  const nodes: KubeNode[] = [];
  let image: BuiltImage;
  let endpoints: EndpointFollower;
  const k = async <T = JsonObject>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> => {
    const r = await cp.request<T>(method, path, body, contentType ? { contentType } : {});
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    return r.body;
  };
  const deployment = () => k<JsonObject>('GET', `/apis/apps/v1/namespaces/${NS}/deployments/${NAME}`);
  const outriggerPods = async () => (await podsOf(cp, NS, SELECTOR)).filter((p) => !(p.metadata as JsonObject).deletionTimestamp);
  const rolledOut = async (replicas: number) => {
    const d = await deployment();
    const st = d.status as JsonObject;
    const gen = (d.metadata as JsonObject).generation;
    const pods = await outriggerPods();
    return st.observedGeneration === gen &&
      st.updatedReplicas === replicas &&
      st.readyReplicas === replicas &&
      (st.replicas ?? 0) === replicas &&
      pods.length === replicas &&
      pods.every(podReady)
      ? true
      : undefined;
  };
  const apiPort = () => Number(new URL(cp.url).port);
  const helmHome = mkdtempSync(join(tmpdir(), 'outrigger-node-helm-'));
  /** helm against this control plane, asynchronously (creates go on meanwhile); rejects on a non-zero exit. */
  const helm = (args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(String(helmAvail.helm), args, {
        cwd: chartDir,
        env: {
          ...process.env,
          KUBECONFIG: cp.kubeconfigPath,
          HELM_CONFIG_HOME: join(helmHome, 'config'),
          HELM_CACHE_HOME: join(helmHome, 'cache'),
          HELM_DATA_HOME: join(helmHome, 'data'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`helm ${args.join(' ')} exited ${code}:\n${out}`))));
    });
  const nodeOf = (p: Pod) => {
    const n = nodes.find((x) => x.name === p.spec.nodeName);
    if (!n) throw new Error(`pod ${p.metadata.name} is on unknown node ${p.spec.nodeName}`);
    return n;
  };

  before(async () => {
    cp = await startControlPlane({ serviceAccountAdmission: true, kubeletClient: true });
    for (let i = 0; i < 3; i++) nodes.push(await startNode(cp, { index: i, controllers: i === 0 }));
    const t0 = Date.now();
    image = buildOutriggerImage(`${nodes[0]?.dir}/image`);
    for (const n of nodes) n.importImage(image.archive);
    process.stderr.write(`e2e node: Outrigger image ${image.ref} built and imported in ${((Date.now() - t0) / 1000).toFixed(1)}s\n`);
    await applyAll(cp, bundleForNodes(image.ref, apiPort()));
    endpoints = new EndpointFollower(cp);
    endpoints.start();
    await until(
      'both Outrigger replicas Ready',
      180_000,
      () => rolledOut(2),
      async () =>
        JSON.stringify(
          (await outriggerPods()).map((p) => p.status),
          null,
          1,
        ),
    );
    await cp.createNamespace('shop', { 'outrigger.dev/injection': 'enabled' });
    await cp.createNamespace('plain');
    await k('POST', `/apis/outrigger.dev/v1alpha1/namespaces/${NS}/sidecarprofiles`, agentProfile());
    // The profile reaches both replicas through their informers.
    await until('the profile injected', 60_000, async () => {
      const r = await cp.request<Pod>('POST', '/api/v1/namespaces/shop/pods', probePod(), { query: { dryRun: 'All' } });
      return r.status === 201 && (r.body.spec.initContainers ?? []).some((c) => c.name === 'agent') ? true : undefined;
    });
  });
  after(async () => {
    await endpoints?.stop();
    // The node running the controllers first: nothing recreates the pods the others then stop.
    for (const n of nodes) await n.stop();
    await cp?.stop();
    rmSync(helmHome, { recursive: true, force: true });
  });

  it('1: the bundle runs the image as two Ready pods; caBundle written; build_info reports the image version', async () => {
    const pods = await outriggerPods();
    assert.equal(pods.length, 2);
    assert.ok(pods.every(podReady));
    assert.equal(new Set(pods.map((p) => p.spec.nodeName)).size, 2, 'spread over two nodes');
    assert.ok(pods.every((p) => p.spec.containers[0]?.image === image.ref));
    const ca = Buffer.from(
      String(((await k<JsonObject>('GET', `/api/v1/namespaces/${NS}/secrets/${TLS_SECRET}`)).data as JsonObject)['ca.crt']),
      'base64',
    ).toString();
    const bundleCa = await caBundle();
    assert.match(bundleCa, /BEGIN CERTIFICATE/);
    assert.ok(bundleCa.includes(ca.trim()), 'the caBundle carries the CA in the Secret');
    for (const p of pods) {
      const metrics = await replicaGet(String(p.status?.hostIP), bundleCa, '/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.text, new RegExp(`^outrigger_build_info\\{[^}]*version="${image.version.replaceAll('.', '\\.')}"[^}]*\\} 1$`, 'm'));
    }
  });

  it('2: a Deployment in an opted-in namespace gets its sidecar; the native sidecar starts first; mounts and env are in the running containers', async () => {
    await k('POST', '/apis/apps/v1/namespaces/shop/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' }, annotations: { 'outrigger.dev/inject': 'agent' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                name: 'app',
                image: BUSYBOX_REF,
                imagePullPolicy: 'Never',
                command: ['sh', '-c', 'echo "AGENT=$AGENT"; cat /shared/agent-was-here; sleep 3600'],
              },
            ],
          },
        },
      },
    });
    const [pod] = await until('a running pod of Deployment web', 120_000, async () => {
      const ps = (await podsOf(cp, 'shop', 'app=web')).filter((p) => p.status?.phase === 'Running' && podReady(p));
      return ps.length === 1 ? ps : undefined;
    });
    assert.ok(pod);
    const sidecar = pod.status?.initContainerStatuses?.find((s) => s.name === 'agent');
    const app = pod.status?.containerStatuses?.find((s) => s.name === 'app');
    assert.ok(sidecar?.state?.running && app?.state?.running, JSON.stringify(pod.status));
    assert.ok(Date.parse(sidecar.state.running.startedAt) <= Date.parse(app.state.running.startedAt), 'sidecar started first');
    const appLog = await until('the app output', 30_000, async () => {
      const out = await podLog(cp, 'shop', pod.metadata.name, 'app');
      return /agent-was-here/.test(out) ? out : undefined;
    });
    // The env from the profile (templated from the pod's namespace) and the file the sidecar wrote
    // into the shared volume before the app started (its startup probe waits for it).
    assert.equal(appLog, 'AGENT=shop\nagent-was-here\n');
    assert.match(await podLog(cp, 'shop', pod.metadata.name, 'agent'), /^agent started\n/);
  });

  it('3: a Job whose pod gets a native sidecar completes; the sidecar stops after the Job container', async () => {
    await k('POST', '/apis/batch/v1/namespaces/shop/jobs', {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'once' },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { annotations: { 'outrigger.dev/inject': 'agent' } },
          spec: {
            restartPolicy: 'Never',
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'work', image: BUSYBOX_REF, imagePullPolicy: 'Never', command: ['sh', '-c', 'cat /shared/agent-was-here; sleep 2'] }],
          },
        },
      },
    });
    await until('Job once to complete', 120_000, async () => {
      const j = await k<JsonObject>('GET', '/apis/batch/v1/namespaces/shop/jobs/once');
      const st = j.status as JsonObject;
      assert.ok(!st.failed, `the Job failed: ${JSON.stringify(st)}`);
      return st.succeeded === 1 ? true : undefined;
    });
    const [pod] = await podsOf(cp, 'shop', 'job-name=once');
    assert.ok(pod);
    const p = await waitForPod(
      cp,
      'shop',
      pod.metadata.name,
      'sidecar terminated',
      (x) => !!x.status?.initContainerStatuses?.find((s) => s.name === 'agent')?.state?.terminated,
    );
    const work = p.status?.containerStatuses?.find((s) => s.name === 'work')?.state?.terminated;
    const agent = p.status?.initContainerStatuses?.find((s) => s.name === 'agent')?.state?.terminated;
    assert.equal(work?.exitCode, 0);
    assert.ok(work && agent);
    assert.ok(Date.parse(agent.finishedAt) >= Date.parse(work.finishedAt), `sidecar finished ${agent.finishedAt}, job container ${work.finishedAt}`);
    assert.ok(Date.parse(agent.startedAt) <= Date.parse(work.startedAt));
  });

  it('4: a pod in a namespace that is not opted in, and one that opts out, run unchanged', async () => {
    const plain = await create(cp, '/api/v1/namespaces/plain/pods', busyboxPodFor('untouched', { 'outrigger.dev/inject': 'agent' }));
    const optedOut = await create(cp, '/api/v1/namespaces/shop/pods', busyboxPodFor('opted-out', { 'outrigger.dev/inject': 'false' }, { tier: 'web' }));
    // The control: the same pod without the opt-out is injected (the selector profile matches it).
    const selected = await create(cp, '/api/v1/namespaces/shop/pods', busyboxPodFor('selected', {}, { tier: 'web' }));
    assert.deepEqual(
      (selected.spec.initContainers ?? []).map((c) => c.name),
      ['agent'],
    );
    for (const [ns, p] of [
      ['plain', plain],
      ['shop', optedOut],
    ] as const) {
      assert.equal(p.metadata.annotations?.['outrigger.dev/status'], undefined);
      assert.deepEqual(p.spec.initContainers ?? [], []);
      assert.deepEqual(
        p.spec.containers.map((c) => [c.name, c.env, c.volumeMounts?.filter((m) => !m.mountPath.startsWith('/var/run/secrets/'))]),
        [['app', undefined, []]],
      );
      const running = await waitForPod(cp, ns, p.metadata.name, 'Running', (x) => x.status?.phase === 'Running');
      assert.deepEqual(
        running.status?.containerStatuses?.map((s) => s.name),
        ['app'],
      );
    }
  });

  it('5: a rolling restart of Outrigger while pods are being created: zero failed creates', async () => {
    const before = new Set((await outriggerPods()).map((p) => p.metadata.name));
    await k(
      'PATCH',
      `/apis/apps/v1/namespaces/${NS}/deployments/${NAME}`,
      { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } },
      'application/strategic-merge-patch+json',
    );
    const results = await createWhile('roll', async () => {
      const pods = await outriggerPods();
      return pods.length === 2 && pods.every((p) => !before.has(p.metadata.name)) && (await rolledOut(2)) === true;
    });
    assert.ok(results.created >= 10, `only ${results.created} creates during the rollout`);
    assert.deepEqual(results.failures, []);
  });

  it('6: scaled to zero, creates in opted-in namespaces fail with the webhook error; others work; scaled back, creates work', async () => {
    await scale(0);
    await until('no Outrigger pods', 120_000, async () => ((await podsOf(cp, NS, SELECTOR)).length === 0 ? true : undefined));
    const denied = await cp.request<JsonObject>('POST', '/api/v1/namespaces/shop/pods', busyboxPodFor('while-down', { 'outrigger.dev/inject': 'agent' }));
    assert.equal(denied.status, 500, denied.text);
    assert.match(String(denied.body.message), /failed calling webhook "pods\.outrigger\.dev"/);
    assert.match(String(denied.body.message), /connection refused/);
    const other = await cp.request('POST', '/api/v1/namespaces/plain/pods', busyboxPodFor('while-down'));
    assert.equal(other.status, 201, other.text);
    await scale(2);
    await until('two Ready replicas again', 180_000, () => rolledOut(2));
    await until('creates injected again', 60_000, async () => {
      const r = await cp.request<Pod>('POST', '/api/v1/namespaces/shop/pods', probePod(), { query: { dryRun: 'All' } });
      return r.status === 201 ? true : undefined;
    });
    const back = await create(cp, '/api/v1/namespaces/shop/pods', busyboxPodFor('after-scale-up', { 'outrigger.dev/inject': 'agent' }));
    assert.deepEqual(
      (back.spec.initContainers ?? []).map((c) => c.name),
      ['agent'],
    );
  });

  it("7: the restricted security context holds on the node: read-only root, user 65532, no capabilities, no_new_privs, seccomp, the bundle's memory limit", async () => {
    for (const p of await outriggerPods()) {
      const id = p.status?.containerStatuses?.[0]?.containerID ?? '';
      const pid = nodeOf(p).containerPid(id);
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim();
      assert.equal(field('Uid'), '65532\t65532\t65532\t65532');
      assert.equal(field('Gid'), '65532\t65532\t65532\t65532');
      for (const cap of ['CapEff', 'CapPrm', 'CapBnd', 'CapAmb']) assert.equal(field(cap), '0000000000000000', cap);
      assert.equal(field('NoNewPrivs'), '1');
      assert.equal(field('Seccomp'), '2'); // filter mode: RuntimeDefault
      const root = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
        .split('\n')
        .map((l) => l.split(' '))
        .find((f) => f[4] === '/');
      assert.ok(root?.[5]?.split(',').includes('ro'), `root mount options ${root?.[5]}`);
      const memory = /^\d+:memory:(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1];
      assert.ok(memory, 'memory cgroup');
      assert.equal(readFileSync(`/sys/fs/cgroup/memory${memory}/memory.limit_in_bytes`, 'utf8').trim(), String(256 * 1024 * 1024));
    }
  });

  it("8: the leader replica's container killed: it restarts, the Lease is held again, no failed creates meanwhile or after", async () => {
    const lease = async () => (await k<JsonObject>('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEADER_LEASE}`)).spec as JsonObject;
    const leaderName = String((await lease()).holderIdentity);
    const pods = await outriggerPods();
    const leader = pods.find((p) => p.metadata.name === leaderName);
    const other = pods.find((p) => p.metadata.name !== leaderName);
    assert.ok(leader && other, `the Lease holder ${leaderName} is one of the two replicas`);
    const caBefore = await caBundle();
    // The Service sends traffic to Ready endpoints only: route to the surviving replica while the
    // leader is down. A request already on a connection to the replica at the instant of SIGKILL
    // fails (connection reset; the API server does not retry webhook calls) whatever the webhook
    // does, so the creates start once the kubelet has seen the container die.
    await routeTo(other);
    const restartsBefore = leader.status?.containerStatuses?.[0]?.restartCount ?? 0;
    const killedAt = Date.now();
    process.kill(nodeOf(leader).containerPid(leader.status?.containerStatuses?.[0]?.containerID ?? ''), 'SIGKILL');
    await waitForPod(cp, NS, leaderName, 'seen restarting by the kubelet', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) > restartsBefore);
    const during = await createWhile(
      'kill',
      async () => {
        const p = (await podsOf(cp, NS, SELECTOR)).find((x) => x.metadata.name === leaderName);
        const cs = p?.status?.containerStatuses?.[0];
        if (!p || !cs || cs.restartCount <= restartsBefore || !podReady(p)) return false;
        return Date.parse(String((await lease()).renewTime)) > killedAt;
      },
      5,
    ); // at least five creates, the first while the restart is under way (it can finish within one)
    assert.deepEqual(during.failures, [], `Service routing: ${endpoints.switches.join('; ')}`);
    assert.ok(during.created >= 5, `only ${during.created} creates during the restart`);
    const l = await lease();
    assert.ok([leaderName, other.metadata.name].includes(String(l.holderIdentity)), `Lease held by ${l.holderIdentity}`);
    // The restarted replica serves with a certificate the unchanged caBundle trusts.
    assert.equal(await caBundle(), caBefore, 'the restart did not replace the CA');
    const restarted = (await outriggerPods()).find((p) => p.metadata.name === leaderName);
    assert.ok(restarted);
    await routeTo(restarted);
    const after = await createWhile('restarted', async () => true);
    for (let i = 0; i < 4; i++) {
      const more = await createWhile(`restarted-${i}`, async () => true);
      after.created += more.created;
      after.failures.push(...more.failures);
    }
    endpoints.preferPod = undefined;
    assert.deepEqual(after.failures, []);
    assert.equal(after.created, 5);
  });

  it('9: the Helm chart takes over from the bundle: helm install runs it on the nodes, helm upgrade rolls it with zero failed creates, helm uninstall removes the webhook first', async (t) => {
    if (helmAvail.skip) return t.skip(String(helmAvail.skip));
    // The bundle's objects go, the webhook configurations first (the order docs/operations.md gives);
    // the namespace stays (its Pod Security labels are this environment's, see bundleForNodes).
    const objects = bundleForNodes(image.ref, apiPort()).filter((o) => o.kind !== 'Namespace');
    const webhooksFirst = [
      ...objects.filter((o) => /WebhookConfiguration$/.test(String(o.kind))),
      ...objects.filter((o) => !/WebhookConfiguration$/.test(String(o.kind))),
    ];
    for (const o of webhooksFirst) await k('DELETE', `${collectionPath(o as Parameters<typeof collectionPath>[0])}/${(o.metadata as JsonObject).name}`);
    await until('the bundle gone: no Outrigger pods, no SidecarProfile CRD', 180_000, async () => {
      const crd = await cp.request('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/sidecarprofiles.outrigger.dev');
      return crd.status === 404 && (await podsOf(cp, NS, SELECTOR)).length === 0 ? true : undefined;
    });

    // The same environment patches as the bundle's, as chart values.
    const values = join(String(nodes[0]?.dir), 'values.json');
    writeFileSync(
      values,
      JSON.stringify({
        image: { pullPolicy: 'Never' },
        hostNetwork: true,
        extraArgs: ['--host=$(HOST_IP)', '--admin-address=$(HOST_IP):9443'],
        extraEnv: [
          { name: 'KUBERNETES_SERVICE_HOST', value: '127.0.0.1' },
          { name: 'KUBERNETES_SERVICE_PORT', value: String(apiPort()) },
          { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
        ],
      }),
    );
    await helm(['install', 'outrigger', chartDir, '--namespace', NS, '-f', values, '--wait', '--timeout', '5m']);
    await until('two Ready replicas of the chart', 180_000, () => rolledOut(2));
    const dep = await deployment();
    assert.equal(((dep.metadata as JsonObject).labels as JsonObject)['app.kubernetes.io/managed-by'], 'Helm');
    await k('POST', `/apis/outrigger.dev/v1alpha1/namespaces/${NS}/sidecarprofiles`, agentProfile());
    await until('the profile injected through the chart', 90_000, async () => {
      const r = await cp.request<Pod>('POST', '/api/v1/namespaces/shop/pods', probePod(), { query: { dryRun: 'All' } });
      return r.status === 201 && (r.body.spec.initContainers ?? []).some((c) => c.name === 'agent') ? true : undefined;
    });
    // An injected pod really runs: its sidecar started and wrote the file the app reads.
    await create(cp, '/api/v1/namespaces/shop/pods', busyboxPodFor('under-helm', { 'outrigger.dev/inject': 'agent' }));
    const running = await waitForPod(cp, 'shop', 'under-helm', 'running with its sidecar', (p) => p.status?.phase === 'Running' && podReady(p), 120_000);
    assert.deepEqual(
      (running.spec.initContainers ?? []).map((c) => c.name),
      ['agent'],
    );

    // helm upgrade changes the pod template (log level): a rolling update while pods are created.
    const before = new Set((await outriggerPods()).map((p) => p.metadata.name));
    const upgrade = helm(['upgrade', 'outrigger', chartDir, '--namespace', NS, '-f', values, '--set', 'logLevel=debug', '--wait', '--timeout', '5m']);
    let upgraded = false;
    void upgrade.then(
      () => (upgraded = true),
      () => (upgraded = true),
    );
    const rolled = await createWhile('helm-roll', async () => {
      const pods = await outriggerPods();
      return upgraded && pods.length === 2 && pods.every((p) => !before.has(p.metadata.name)) && (await rolledOut(2)) === true;
    });
    await upgrade;
    assert.ok(rolled.created >= 10, `only ${rolled.created} creates during the upgrade`);
    assert.deepEqual(rolled.failures, []);
    assert.ok(
      ((await deployment()).spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]?.args.includes(
        '--log-level=debug',
      ),
    );

    // helm uninstall: creates go on throughout and none fails. Helm deletes the webhook
    // configurations before the Deployment, so no create meets a configuration without a replica.
    let uninstalled = false;
    const uninstall = helm(['uninstall', 'outrigger', '--namespace', NS, '--wait', '--timeout', '5m']).finally(() => (uninstalled = true));
    const failures: string[] = [];
    let injected = 0;
    let plain = 0;
    // Until the release is gone and five creates have met no webhook at all.
    const deadline = Date.now() + 240_000;
    for (let i = 0; !uninstalled || plain < 5; i++) {
      if (Date.now() > deadline)
        throw new Error(`helm uninstall: not done within 240 s (${injected} injected, ${plain} plain, failures: ${failures.join('; ')})`);
      const r = await cp.request<Pod>('POST', '/api/v1/namespaces/shop/pods', probePod(`helm-gone-${i}`), { timeoutMs: 30_000 });
      if (r.status !== 201) failures.push(`${new Date().toISOString()} helm-gone-${i}: ${r.status} ${r.text.slice(0, 300)}`);
      else if ((r.body.spec.initContainers ?? []).some((c) => c.name === 'agent')) injected++;
      else plain++;
      await sleep(50);
    }
    await uninstall;
    assert.deepEqual(failures, []);
    for (const path of [
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${NAME}`,
      `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${NAME}`,
      `/apis/apps/v1/namespaces/${NS}/deployments/${NAME}`,
      `/apis/rbac.authorization.k8s.io/v1/clusterroles/${NAME}`,
    ])
      assert.equal((await cp.request('GET', path)).status, 404, `${path} is still there`);
    await until('no Outrigger pods after helm uninstall', 120_000, async () => ((await podsOf(cp, NS, SELECTOR)).length === 0 ? true : undefined));
  });

  it('leaves the host as found after the nodes stop', async () => {
    await endpoints.stop();
    for (const n of nodes) await n.stop();
    assert.deepEqual(snapshotDiff(nodes[0]?.before ?? hostSnapshot(), hostSnapshot()), []);
  });

  async function routeTo(p: Pod): Promise<void> {
    endpoints.preferPod = p.metadata.name;
    await until(`the Service routed to ${p.metadata.name}`, 10_000, async () => (endpoints.target === `${p.status?.hostIP}:${PORT}` ? true : undefined));
  }

  /** Creates pods in the opted-in namespace one after another until `done` (and at least `min` of them); every one must be injected. */
  async function createWhile(prefix: string, done: () => Promise<boolean>, min = 1): Promise<{ created: number; failures: string[] }> {
    const failures: string[] = [];
    let created = 0;
    const deadline = Date.now() + 240_000;
    for (let i = 0; ; i++) {
      const r = await cp.request<Pod>('POST', '/api/v1/namespaces/shop/pods', probePod(`${prefix}-${i}`), { timeoutMs: 30_000 });
      if (r.status !== 201) failures.push(`${new Date().toISOString()} ${prefix}-${i}: ${r.status} ${r.text.slice(0, 300)}`);
      else if (!(r.body.spec.initContainers ?? []).some((c) => c.name === 'agent')) failures.push(`${prefix}-${i}: created without the sidecar`);
      else created++;
      if (i + 1 >= min && (await done())) break;
      if (Date.now() > deadline) throw new Error(`${prefix}: did not finish within 240 s (${created} created, failures: ${failures.join('; ')})`);
      await sleep(50);
    }
    return { created, failures };
  }

  async function scale(replicas: number): Promise<void> {
    await k('PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/${NAME}/scale`, { spec: { replicas } }, 'application/merge-patch+json');
  }

  async function caBundle(): Promise<string> {
    const w = await k<JsonObject>('GET', `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${NAME}`);
    const cc = ((w.webhooks as JsonObject[])[0] as JsonObject).clientConfig as JsonObject;
    return typeof cc.caBundle === 'string' ? Buffer.from(cc.caBundle, 'base64').toString('utf8') : '';
  }
});

/** The profile the tests use: a native sidecar that writes a file into a shared volume before it
 *  reports started, an env var templated from the namespace, and a pod selector for test 4. */
function agentProfile(): JsonObject {
  return {
    apiVersion: 'outrigger.dev/v1alpha1',
    kind: 'SidecarProfile',
    metadata: { name: 'agent' },
    spec: {
      version: '1',
      sidecarMode: 'native',
      selector: { podSelector: { matchLabels: { tier: 'web' } } },
      containers: [
        {
          name: 'agent',
          image: BUSYBOX_REF,
          imagePullPolicy: 'Never',
          command: ['sh', '-c', 'echo agent started; echo agent-was-here > /shared/agent-was-here; exec sleep 3600'],
          startupProbe: { exec: { command: ['test', '-f', '/shared/agent-was-here'] }, periodSeconds: 1, failureThreshold: 30 },
          volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
        },
      ],
      volumes: [{ name: 'shared', emptyDir: {} }],
      volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
      env: [{ name: 'AGENT', value: '{{ namespace.name }}' }],
    },
  };
}

/** A busybox pod that stays up; labels and annotations as given. */
function busyboxPodFor(name: string, annotations: Record<string, string> = {}, labels: Record<string, string> = {}): JsonObject {
  return busyboxPod(name, 'echo up; exec sleep 3600', { annotations, labels }) as JsonObject;
}

/** A pod that asks for the profile and is never scheduled (no node has the label): a long
 *  create loop stores real pods without running them. */
function probePod(name = 'probe'): JsonObject {
  const p = busyboxPodFor(name, { 'outrigger.dev/inject': 'agent' });
  (p.spec as JsonObject).nodeSelector = { 'outrigger.dev/e2e': 'nowhere' };
  return p;
}

/** HTTPS GET to a replica as the API server reaches it (server name <svc>.<ns>.svc, caBundle as CA). */
function replicaGet(host: string, ca: string, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host, port: PORT, path, servername: `${NAME}.${NS}.svc`, ca, agent: false, timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on ${host}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}
