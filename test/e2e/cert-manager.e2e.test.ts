/**
 * Cert mode cert-manager against the real cert-manager: its controllers and CA injector
 * (test/e2e/cert-manager, built from cert-manager's Go module) issue the bundle's chain on a real
 * API server, and Outrigger, run as a local `outrigger serve` behind the Service-referenced
 * webhook, serves the issued certificate from files written from the Secret the way the kubelet
 * writes a Secret volume. Then both certificates are renewed while pods are created.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import type { JsonObject } from '../../src/common/json.ts';
import { NAME, TLS_SECRET } from '../../src/common/labels.ts';
import { type BundleOptions, bundle, CA_CERTIFICATE, DEFAULTS } from '../../src/deploy/manifests.ts';
import { type CertManager, certManagerAvailability, certManagerVersion, startCertManager } from './cert-manager.ts';
import { type ControlPlane, e2eAvailability, startControlPlane, writeServiceAccountKubeconfig } from './harness.ts';
import { applyAll } from './node/kube.ts';
import { writeSecretVolume } from './secret-volume.ts';
import { eventually, type ServeProcess, sleep, startServeProcess } from './support-webhook.ts';

const e2e = await e2eAvailability();
const tool = e2e.skip ? { bin: undefined, skip: e2e.skip } : await certManagerAvailability();
const NS = DEFAULTS.namespace;
const SVC_HOST = `${NAME}.${NS}.svc`;
const OPTS: BundleOptions = { ...DEFAULTS, certMode: 'cert-manager' };
const CM = '/apis/cert-manager.io/v1';

const pemCerts = (pem: string): X509Certificate[] =>
  (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((c) => new X509Certificate(c));

/** The certificate served on port for the Service's name, checked against ca (throws if untrusted). */
function served(port: number, ca: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: SVC_HOST, ca, ALPNProtocols: ['http/1.1'] }, () => {
      const raw = s.getPeerCertificate().raw;
      s.end();
      resolve(new X509Certificate(raw));
    });
    s.on('error', reject);
  });
}

/** The bundle's Deployment arguments, with this machine's paths and ports. */
function serveArgs(tlsDir: string, kubeconfig: string): string[] {
  const deploy = bundle(OPTS).find((o) => o.kind === 'Deployment') as JsonObject;
  const pod = ((deploy.spec as JsonObject).template as JsonObject).spec as JsonObject;
  const args = ((pod.containers as JsonObject[])[0] as JsonObject).args as string[];
  const local = args
    .filter((a) => a !== 'serve')
    .map((a) => {
      if (a.startsWith('--port=')) return '--port=0';
      if (a.startsWith('--admin-address=')) return '--admin-address=127.0.0.1:0';
      if (a.startsWith('--shutdown-delay=')) return '--shutdown-delay=0s';
      if (a.startsWith('--drain-timeout=')) return '--drain-timeout=5s';
      return a.replace(/=\/etc\/outrigger\/tls\//, `=${tlsDir}/`);
    });
  assert.ok(local.includes(`--tls-cert=${tlsDir}/tls.crt`) && local.includes(`--tls-key=${tlsDir}/tls.key`), local.join(' '));
  return [...local, '--kubeconfig', kubeconfig, '--host', '127.0.0.1'];
}

describe(`cert mode cert-manager against cert-manager ${certManagerVersion()}`, { skip: tool.skip }, () => {
  let cp: ControlPlane;
  let certManager: CertManager;
  let server: ServeProcess | undefined;
  let dir: string;
  let volumeTimer: NodeJS.Timeout | undefined;
  let volumeVersion = '';
  let volumeWrites = 0;

  const k = async <T = JsonObject>(method: string, path: string, body?: unknown): Promise<T> => {
    const r = await cp.request<T>(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    return r.body;
  };
  const secret = async (name: string) => {
    const data = (await k<JsonObject>('GET', `/api/v1/namespaces/${NS}/secrets/${name}`)).data as Record<string, string>;
    return Object.fromEntries(Object.entries(data).map(([key, v]) => [key, Buffer.from(v, 'base64').toString('utf8')]));
  };
  const certificate = (name: string) => k<JsonObject>('GET', `${CM}/namespaces/${NS}/certificates/${name}`);
  const condition = (c: JsonObject, type: string) =>
    ((c.status as JsonObject | undefined)?.conditions as JsonObject[] | undefined)?.find((x) => x.type === type);
  const revision = async (name: string) => Number(((await certificate(name)).status as JsonObject | undefined)?.revision ?? 0);
  const ready = async (name: string) => {
    const c = await certificate(name);
    return condition(c, 'Ready')?.status === 'True' && condition(c, 'Ready')?.observedGeneration === (c.metadata as JsonObject).generation;
  };
  const caBundle = async (kind: string) => {
    const w = await k<JsonObject>('GET', `/apis/admissionregistration.k8s.io/v1/${kind}/${NAME}`);
    const cc = ((w.webhooks as JsonObject[])[0] as JsonObject).clientConfig as JsonObject;
    return typeof cc.caBundle === 'string' ? Buffer.from(cc.caBundle, 'base64').toString('utf8') : '';
  };
  const bundleHas = async (kind: string, ca: X509Certificate) => pemCerts(await caBundle(kind)).some((c) => c.fingerprint256 === ca.fingerprint256);

  /** As `cmctl renew`: the Issuing condition set through the status subresource; waits for the next revision. */
  const renew = async (name: string) => {
    const from = await revision(name);
    await eventually(`the Issuing condition on ${name}`, async () => {
      const c = await certificate(name);
      const status = (c.status ?? {}) as JsonObject;
      const conditions = ((status.conditions as JsonObject[] | undefined) ?? []).filter((x) => x.type !== 'Issuing');
      conditions.push({
        type: 'Issuing',
        status: 'True',
        reason: 'ManuallyTriggered',
        message: 'Certificate re-issuance manually triggered',
        lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        observedGeneration: (c.metadata as JsonObject).generation as number,
      });
      // A controller may write the status in between: a 409 Conflict is retried with the new version.
      const r = await cp.request('PUT', `${CM}/namespaces/${NS}/certificates/${name}/status`, { ...c, status: { ...status, conditions } });
      if (r.status !== 200 && r.status !== 409) throw new Error(`renew ${name}: ${r.status} ${r.text}`);
      return r.status === 200;
    });
    await eventually(`${name} to be re-issued`, async () => (await revision(name)) > from && (await ready(name)), 60_000);
  };

  /** Plays the kubelet: the serving Secret into the volume directory whenever it changes. */
  const syncVolume = async (tlsDir: string) => {
    const s = await k<JsonObject>('GET', `/api/v1/namespaces/${NS}/secrets/${TLS_SECRET}`);
    const rv = String((s.metadata as JsonObject).resourceVersion);
    if (rv === volumeVersion) return;
    const data = s.data as Record<string, string>;
    writeSecretVolume(tlsDir, Object.fromEntries(Object.entries(data).map(([key, v]) => [key, Buffer.from(v, 'base64')])));
    volumeVersion = rv;
    volumeWrites++;
  };

  before(async () => {
    cp = await startControlPlane();
    dir = mkdtempSync(join(tmpdir(), 'outrigger-cert-manager-'));
    const t0 = Date.now();
    certManager = await startCertManager(cp, tool.bin as string);
    console.error(`e2e: cert-manager ${certManagerVersion()} (pid ${certManager.pid}) ready in ${Date.now() - t0} ms`);
    await applyAll(cp, bundle(OPTS));
  });

  after(async () => {
    clearInterval(volumeTimer);
    await server?.stop();
    await certManager?.stop();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('cert-manager issues the chain: the CA and serving Certificates are Ready, the serving Secret is signed by the CA', async () => {
    await eventually('both Certificates to be Ready', async () => (await ready(CA_CERTIFICATE)) && (await ready(NAME)), 90_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${certManager.logTail(60)}`);
    });
    const caSecret = await secret(CA_CERTIFICATE);
    const ca = new X509Certificate(caSecret['tls.crt'] as string);
    assert.ok(ca.ca, 'the CA certificate is a CA');
    assert.equal(caSecret['ca.crt'], caSecret['tls.crt'], 'self-signed: its ca.crt is itself');
    const tls = await secret(TLS_SECRET);
    assert.deepEqual(Object.keys(tls).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    const leaf = pemCerts(tls['tls.crt'] as string)[0] as X509Certificate;
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'the serving certificate is signed by the CA');
    assert.ok(!leaf.ca);
    assert.equal(leaf.subjectAltName, `DNS:${SVC_HOST}`);
    assert.equal(new X509Certificate(tls['ca.crt'] as string).fingerprint256, ca.fingerprint256);
  });

  test('the CA injector fills the caBundle of both webhook configurations with the CA', async () => {
    const ca = new X509Certificate((await secret(CA_CERTIFICATE))['tls.crt'] as string);
    for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
      await eventually(`the ${kind} caBundle to hold the CA`, () => bundleHas(kind, ca), 30_000);
    }
  });

  test('Outrigger serves the issued certificate from the Secret volume; pods are injected through the API server', async () => {
    const tlsDir = join(dir, 'tls');
    await syncVolume(tlsDir);
    const kubeconfig = join(dir, 'kubeconfig');
    await writeServiceAccountKubeconfig(cp, NS, NAME, kubeconfig);
    await cp.createNamespace('shop', { 'outrigger.dev/injection': 'enabled' });
    await k('POST', `/apis/outrigger.dev/v1alpha1/namespaces/${NS}/sidecarprofiles`, {
      apiVersion: 'outrigger.dev/v1alpha1',
      kind: 'SidecarProfile',
      metadata: { name: 'agent' },
      spec: { version: '1', containers: [{ name: 'agent', image: 'example.com/agent:1' }] },
    });
    // The kubelet's Secret volume sync, much faster than its default period.
    volumeTimer = setInterval(() => void syncVolume(tlsDir).catch(() => {}), 500);
    server = await startServeProcess(serveArgs(tlsDir, kubeconfig), undefined, 60_000);
    cp.setServiceEndpoint(NS, NAME, 443, server.port);
    const trusted = await caBundle('mutatingwebhookconfigurations');
    const leaf = pemCerts((await secret(TLS_SECRET))['tls.crt'] as string)[0] as X509Certificate;
    assert.equal((await served(server.port, trusted)).fingerprint256, leaf.fingerprint256, 'the Secret certificate, trusted by the caBundle');
    const pod = await eventually('an injected pod', async () => {
      const p = await k<JsonObject>('POST', '/api/v1/namespaces/shop/pods', podBody('first'));
      return (((p.spec as JsonObject).initContainers as JsonObject[] | undefined) ?? []).some((c) => c.name === 'agent') ? p : undefined;
    });
    assert.ok(pod);
    // The profile says which mode serves it (policy mode says Policy: test/e2e/policy-cluster.e2e.test.ts).
    const servedBy = await eventually('the Served condition', async () => {
      const p = await k<JsonObject>('GET', `/apis/outrigger.dev/v1alpha1/namespaces/${NS}/sidecarprofiles/agent`);
      return ((p.status as JsonObject | undefined)?.conditions as JsonObject[] | undefined)?.find((c) => c.type === 'Served');
    });
    assert.deepEqual([servedBy.status, servedBy.reason, servedBy.message], ['True', 'Webhook', 'Injected by the mutating admission webhook.']);
  });

  test('renewal under load: the serving certificate, then the CA (same key), renewed for real; zero failed pod creates', async () => {
    const port = (server as ServeProcess).port;
    const seen = new Set<string>();
    const failures: string[] = [];
    let created = 0;
    let stop = false;
    const load = (async () => {
      for (let i = 0; !stop && i < 5000; i++) {
        const r = await cp.request('POST', '/api/v1/namespaces/shop/pods', podBody(`renew-${i}`));
        if (r.status === 201) created++;
        else failures.push(`${r.status} ${r.text}`);
        if (i % 10 === 0) seen.add((await served(port, await caBundle('mutatingwebhookconfigurations'))).fingerprint256);
        await sleep(50);
      }
    })();
    const leafNow = async () => (pemCerts((await secret(TLS_SECRET))['tls.crt'] as string)[0] as X509Certificate).fingerprint256;
    const servedNow = async () => (await served(port, await caBundle('mutatingwebhookconfigurations'))).fingerprint256;
    let renewals = 0;
    try {
      await sleep(2000);
      // 1. The serving certificate (a new key, rotationPolicy Always), followed into the volume.
      const first = await leafNow();
      await renew(NAME);
      renewals++;
      const second = await leafNow();
      assert.notEqual(second, first);
      await eventually('the renewed certificate to be served', async () => (await servedNow()) === second, 30_000);
      // 2. The CA: rotationPolicy Never keeps its key, so what it signed before stays valid.
      const caBefore = await secret(CA_CERTIFICATE);
      await renew(CA_CERTIFICATE);
      renewals++;
      const caAfter = await secret(CA_CERTIFICATE);
      assert.notEqual(caAfter['tls.crt'], caBefore['tls.crt'], 'a new CA certificate');
      assert.equal(caAfter['tls.key'], caBefore['tls.key'], 'the same CA key');
      const ca2 = new X509Certificate(caAfter['tls.crt'] as string);
      for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
        await eventually(`the ${kind} caBundle to hold the renewed CA`, () => bundleHas(kind, ca2), 30_000);
      }
      // The renewed CA (same key and subject) trusts the certificate the old one signed.
      for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
        assert.equal((await served(port, await caBundle(kind))).fingerprint256, second, kind);
      }
      await sleep(2000); // pods created meanwhile go through the same trust
      // 3. The serving certificate again, now signed by the renewed CA.
      await renew(NAME);
      renewals++;
      const third = await leafNow();
      await eventually('the certificate the renewed CA signed to be served', async () => (await servedNow()) === third, 30_000);
      const leaf = pemCerts((await secret(TLS_SECRET))['tls.crt'] as string)[0] as X509Certificate;
      assert.ok(leaf.checkIssued(ca2) && leaf.verify(ca2.publicKey));
      await sleep(2000);
    } finally {
      stop = true;
      await load;
    }
    seen.add(await servedNow());
    await served(port, await caBundle('validatingwebhookconfigurations'));
    assert.deepEqual(failures, []);
    assert.ok(created > 50, `created ${created}`);
    assert.ok(seen.size >= 3, `the served certificate changed (${seen.size} seen)`);
    console.error(
      `e2e: ${renewals} renewals (serving, CA, serving), ${created} pods created during them, ${seen.size} certificates served, ${volumeWrites} volume writes, 0 failures`,
    );
  });

  test('teardown stops every process it started', async () => {
    const pids = [certManager.pid, (server as ServeProcess).child.pid as number, cp.pid];
    clearInterval(volumeTimer);
    await (server as ServeProcess).stop();
    await certManager.stop();
    await cp.stop();
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `pid ${pid} is gone`);
  });
});

function podBody(name: string): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, annotations: { 'outrigger.dev/inject': 'agent' } },
    spec: { containers: [{ name: 'app', image: 'example.com/app:1' }] },
  };
}
