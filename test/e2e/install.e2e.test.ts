/**
 * The install bundle on a real API server, with the Deployment's pods replaced by locally running
 * `outrigger serve` processes (there is no kubelet): they authenticate as the bundle's
 * ServiceAccount (so its RBAC is what is tested), make and renew their own certificates, keep the
 * caBundle, elect one writer, and inject pods through the Service-referenced webhook.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { isObject, type JsonObject } from '../../src/common/json.ts';
import { CA_SECRET, LEADER_LEASE, NAME, TLS_SECRET } from '../../src/common/labels.ts';
import { bundle, DEFAULTS } from '../../src/deploy/manifests.ts';
import { generateCA, generateServingCert } from '../../src/tls/certs.ts';
import { type ControlPlane, e2eAvailability, startControlPlane, writeServiceAccountKubeconfig } from './harness.ts';
import { applyAll } from './node/kube.ts';
import { eventually, type ServeProcess, sleep, startServeProcess } from './support-webhook.ts';

const availability = await e2eAvailability();
const NS = DEFAULTS.namespace;
const SVC_HOST = `${NAME}.${NS}.svc`;

/** HTTPS GET to a replica as the API server reaches it: TLS server name `<svc>.<ns>.svc`, the caBundle as CA. */
function replicaRequest(port: number, ca: string, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, servername: SVC_HOST, ca, method: 'GET', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function replicaGet(port: number, ca: string, path: string): Promise<{ status: number; body: JsonObject }> {
  const { status, text } = await replicaRequest(port, ca, path);
  return { status, body: text.startsWith('{') ? (JSON.parse(text) as JsonObject) : {} };
}

/** The body as text; anything but 200 is an error. */
async function replicaText(port: number, ca: string, path: string): Promise<string> {
  const { status, text } = await replicaRequest(port, ca, path);
  if (status !== 200) throw new Error(`GET ${path}: ${status} ${text}`);
  return text;
}

/** POST /mutate to a replica, with a client certificate or without. */
function replicaMutate(port: number, ca: string, client?: { certPem: string; keyPem: string }): Promise<{ status: number; text: string }> {
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'e2e-client-ca',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'shop',
      operation: 'CREATE',
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: { containers: [{ name: 'app', image: 'x' }] } },
    },
  });
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/mutate',
        method: 'POST',
        servername: SVC_HOST,
        ca,
        agent: false,
        headers: { 'Content-Type': 'application/json' },
        ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** SHA-256 fingerprint of the certificate a replica serves right now. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: SVC_HOST, rejectUnauthorized: false }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

/** The admin listener of a replica (verbose readiness), from its "listening" log line. */
const adminPort = (p: ServeProcess) => p.logs.find((l) => l.msg === 'listening')?.adminPort as number;

/** Starts `outrigger serve` as the bundle's Deployment would run it, against this control plane. */
function startReplica(kubeconfig: string, identity: string, extra: string[] = []): Promise<ServeProcess> {
  // No CA to check /readyz with before the replica has made one: the tests check readiness.
  return startServeProcess(
    // The bundle's Deployment names the validating configuration too (the workloads webhook).
    [
      '--kubeconfig',
      kubeconfig,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--identity',
      identity,
      '--drain-timeout',
      '5s',
      '--validating-webhook-config',
      NAME,
      ...extra,
    ],
    undefined,
    90_000,
  );
}

describe('install bundle with self-managed certificates', { skip: availability.skip }, () => {
  let cp: ControlPlane;
  let dir: string;
  let kubeconfig: string;
  const replicas: ServeProcess[] = [];
  let a: ServeProcess;

  const k = async <T = JsonObject>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> => {
    const r = await cp.request<T>(method, path, body, contentType ? { contentType } : {});
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    return r.body;
  };
  const secret = (name = TLS_SECRET) => k<JsonObject>('GET', `/api/v1/namespaces/${NS}/secrets/${name}`);
  const secretData = async (key: string, name = TLS_SECRET) => Buffer.from(String(((await secret(name)).data as JsonObject)[key]), 'base64').toString('utf8');
  const secretKeys = async (name: string) => Object.keys((await secret(name)).data as JsonObject).sort();
  /** Puts another CA's certificate into the pod webhook's caBundle, as a person editing it by hand would. */
  const replaceCaBundle = (commonName: string) =>
    k(
      'PATCH',
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${NAME}`,
      [{ op: 'replace', path: '/webhooks/0/clientConfig/caBundle', value: Buffer.from(generateCA({ commonName }).certPem).toString('base64') }],
      'application/json-patch+json',
    );
  const caBundle = async (kind = 'mutatingwebhookconfigurations') => {
    const w = await k<JsonObject>('GET', `/apis/admissionregistration.k8s.io/v1/${kind}/${NAME}`);
    const cc = ((w.webhooks as JsonObject[])[0] as JsonObject).clientConfig as JsonObject;
    return typeof cc.caBundle === 'string' ? Buffer.from(cc.caBundle, 'base64').toString('utf8') : '';
  };
  const leaseHolder = async () =>
    ((await k<JsonObject>('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/${LEADER_LEASE}`)).spec as JsonObject).holderIdentity;
  const pod = (name: string, annotations: Record<string, string> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, annotations },
    spec: { containers: [{ name: 'app', image: 'example.com/app:1' }] },
  });
  const initNames = (p: JsonObject) => (((p.spec as JsonObject).initContainers as JsonObject[] | undefined) ?? []).map((c) => c.name);

  before(async () => {
    cp = await startControlPlane();
    dir = mkdtempSync(join(tmpdir(), 'outrigger-install-'));
    // Apply the bundle as `kubectl apply` would, in order.
    await applyAll(cp, bundle(DEFAULTS));
    await eventually('the CRD to be established', async () => {
      const crd = await k<JsonObject>('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/sidecarprofiles.outrigger.dev');
      return isObject(crd.status) && (crd.status.conditions as JsonObject[] | undefined)?.some((c) => c.type === 'Established' && c.status === 'True');
    });
    // The replicas authenticate as the bundle's ServiceAccount: its RBAC is what they get.
    kubeconfig = join(dir, 'kubeconfig');
    await writeServiceAccountKubeconfig(cp, NS, NAME, kubeconfig);
    await cp.createNamespace('shop', { 'outrigger.dev/injection': 'enabled' });
    await k('POST', `/apis/outrigger.dev/v1alpha1/namespaces/${NS}/sidecarprofiles`, {
      apiVersion: 'outrigger.dev/v1alpha1',
      kind: 'SidecarProfile',
      metadata: { name: 'agent' },
      spec: { version: '1', containers: [{ name: 'agent', image: 'example.com/agent:1' }], env: [{ name: 'AGENT', value: '{{ namespace.name }}' }] },
    });
    a = await startReplica(kubeconfig, 'replica-a', [
      '--profiles-from-cluster',
      '--cert-mode',
      'self',
      '--cert-validity',
      '45s',
      '--cert-check-interval',
      '1s',
    ]);
    replicas.push(a);
    cp.setServiceEndpoint(NS, NAME, 443, a.port);
  });

  after(async () => {
    for (const r of replicas) await r.stop();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the first replica makes a CA and a serving certificate, fills the caBundle, and is ready', async () => {
    const ca = await secretData('ca.crt');
    assert.match(ca, /BEGIN CERTIFICATE/);
    await eventually('the caBundle to carry the CA', async () => (await caBundle()).includes(ca.trim()));
    // The workloads webhook's configuration too: by the replica, as the ServiceAccount whose RBAC names it.
    await eventually('the validating caBundle to carry the CA', async () => (await caBundle('validatingwebhookconfigurations')).includes(ca.trim()));
    const ready = await replicaGet(adminPort(a), await caBundle(), '/readyz?verbose');
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.equal((ready.body.cluster as JsonObject | undefined)?.leader, true, JSON.stringify(ready.body));
    assert.equal(await leaseHolder(), 'replica-a');
  });

  test('the CA key is in its own Secret; the serving Secret every replica reads holds no CA key', async () => {
    assert.deepEqual(await secretKeys(TLS_SECRET), ['ca-bundle.crt', 'ca.crt', 'tls.crt', 'tls.key']);
    assert.deepEqual(await secretKeys(CA_SECRET), ['ca.crt', 'ca.key']);
    assert.equal(await secretData('ca.crt', CA_SECRET), await secretData('ca.crt'));
    const served = new X509Certificate(await secretData('tls.crt'));
    assert.ok(served.checkIssued(new X509Certificate(await secretData('ca.crt', CA_SECRET))), 'the CA Secret holds the CA that signed the served certificate');
  });

  test('--client-ca with self-managed certificates: /mutate needs a certificate the CA signed; a non-CA file is refused at start', async () => {
    const clients = generateCA({ commonName: 'apiserver-clients' });
    const caFile = join(dir, 'client-ca.crt');
    writeFileSync(caFile, clients.certPem);
    const c = await startReplica(kubeconfig, 'replica-client-ca', ['--profiles-from-cluster', '--cert-mode', 'self', '--client-ca', caFile]);
    try {
      const anonymous = await replicaMutate(c.port, await caBundle());
      assert.equal(anonymous.status, 401, anonymous.text);
      assert.match(anonymous.text, /client-certificate-required/);
      const apiserver = generateServingCert({ ca: clients, commonName: 'kube-apiserver', dnsNames: ['kube-apiserver'], client: true });
      const r = await replicaMutate(c.port, await caBundle(), apiserver);
      assert.equal(r.status, 200, r.text);
      assert.match(r.text, /"uid":"e2e-client-ca"/);
    } finally {
      await c.stop();
    }
    writeFileSync(caFile, generateServingCert({ ca: clients, commonName: 'not-a-ca', dnsNames: ['x'] }).certPem);
    await assert.rejects(
      startReplica(kubeconfig, 'replica-leaf-ca', ['--profiles-from-cluster', '--cert-mode', 'self', '--client-ca', caFile]),
      /exited \(3\) before listening[\s\S]*client CA .*client-ca\.crt: the certificate \(CN=not-a-ca\) is not a CA certificate/,
    );
  });

  test('profiles from the cluster are injected through the Service-referenced webhook', async () => {
    const created = await k<JsonObject>('POST', '/api/v1/namespaces/shop/pods', pod('first', { 'outrigger.dev/inject': 'agent' }));
    assert.deepEqual(initNames(created), ['agent']);
    const app = ((created.spec as JsonObject).containers as JsonObject[])[0] as JsonObject;
    assert.deepEqual(app.env, [{ name: 'AGENT', value: 'shop' }]);
    const profile = await eventually('the profile Ready condition', async () => {
      const p = await k<JsonObject>('GET', `/apis/outrigger.dev/v1alpha1/namespaces/${NS}/sidecarprofiles/agent`);
      return ((p.status as JsonObject | undefined)?.conditions as JsonObject[] | undefined)?.find((c) => c.type === 'Ready' && c.status === 'True');
    });
    assert.equal(profile.reason, 'Valid');
  });

  test('a Deployment with the inject annotation on itself, not its pod template: created, unchanged, and the API server relays the warning', async () => {
    const deployment = (name: string, own: JsonObject, template: JsonObject) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, annotations: own },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name }, annotations: template }, spec: { containers: [{ name: 'app', image: 'example.com/app:1' }] } },
      },
    });
    const misplaced = await cp.request<JsonObject>(
      'POST',
      '/apis/apps/v1/namespaces/shop/deployments',
      deployment('misplaced', { 'outrigger.dev/inject': 'agent' }, {}),
    );
    assert.equal(misplaced.status, 201, misplaced.text);
    assert.match(
      String(misplaced.headers.warning),
      /Deployment shop\/misplaced: the outrigger\.dev\/inject annotation is on the Deployment's own metadata, where it has no effect; move it to spec\.template\.metadata\.annotations/,
    );
    assert.deepEqual(misplaced.body.metadata && (misplaced.body.metadata as JsonObject).annotations, { 'outrigger.dev/inject': 'agent' });
    const placed = await cp.request('POST', '/apis/apps/v1/namespaces/shop/deployments', deployment('placed', {}, { 'outrigger.dev/inject': 'agent' }));
    assert.equal(placed.status, 201, placed.text);
    assert.equal(placed.headers.warning, undefined);
  });

  test('certificate renewal while pods are created: zero failed creates, and the caBundle keeps trusting the served certificate', async () => {
    const before = await servedFingerprint(a.port);
    const seen = new Set([before]);
    let created = 0;
    const failures: string[] = [];
    const end = Date.now() + 40_000;
    for (let i = 0; Date.now() < end && i < 2000; i++) {
      const r = await cp.request('POST', '/api/v1/namespaces/shop/pods', pod(`renew-${i}`, { 'outrigger.dev/inject': 'agent' }));
      if (r.status === 201) created++;
      else failures.push(`${r.status} ${r.text}`);
      if (i % 10 === 0) seen.add(await servedFingerprint(a.port));
      await sleep(50);
    }
    seen.add(await servedFingerprint(a.port));
    assert.deepEqual(failures, []);
    assert.ok(created > 50, `created ${created}`);
    assert.ok(seen.size >= 2, `the served certificate was renewed (${seen.size} seen)`);
    const ca = await secretData('ca.crt');
    assert.ok((await caBundle()).includes(ca.trim()), 'the caBundle carries the signing CA');
    console.error(`e2e: ${created} pods created during renewal, ${seen.size} certificates served, 0 failures`);
  });

  test('a caBundle changed by hand is put back', async () => {
    const good = await caBundle();
    await replaceCaBundle('someone-else');
    await eventually('the caBundle to be restored', async () => (await caBundle()) === good);
  });

  test('the validating configuration deleted: the pods webhook keeps its caBundle and certificates still renew; recreated, it is filled again', async () => {
    const path = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${NAME}`;
    const mismatch = async () =>
      (await replicaText(a.port, await caBundle(), '/metrics'))
        .split('\n')
        .find((l) => l.startsWith('outrigger_webhook_ca_bundle_mismatch '))
        ?.slice('outrigger_webhook_ca_bundle_mismatch '.length);
    const saved = await k<JsonObject>('GET', path);
    const { name, labels, annotations } = saved.metadata as JsonObject;
    const webhooks = (saved.webhooks as JsonObject[]).map((h) => {
      const { caBundle: _, ...clientConfig } = h.clientConfig as JsonObject;
      return { ...h, clientConfig };
    });
    await k('DELETE', path);
    try {
      const served = await secretData('tls.crt');
      // The warnings-only configuration is gone: the fail-closed one is still kept, and renewal goes on.
      await replaceCaBundle('someone-else');
      await eventually('the mutating caBundle to be restored', async () => (await caBundle()).includes((await secretData('ca.crt')).trim()));
      await eventually('the serving certificate to be renewed', async () => (await secretData('tls.crt')) !== served, 90_000);
      await eventually('the missing configuration to be reported', async () => (await mismatch()) === '1');
    } finally {
      await k('POST', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) },
        webhooks,
      });
    }
    await eventually('the recreated configuration to get the caBundle', async () =>
      (await caBundle('validatingwebhookconfigurations')).includes((await secretData('ca.crt')).trim()),
    );
    await eventually('the mismatch to clear', async () => (await mismatch()) === '0');
  });

  test('metrics in cert mode self: the leader, the CA expiry, and a caBundle the leader cannot fix', async () => {
    const webhookPath = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${NAME}`;
    const metric = async (series: string) => {
      const text = await replicaText(a.port, await caBundle(), '/metrics');
      return text
        .split('\n')
        .find((l) => l.startsWith(`${series} `))
        ?.slice(series.length + 1);
    };
    const scrape = await replicaText(a.port, await caBundle(), '/metrics');
    const outrigger = scrape.split('\n').filter((l) => /^outrigger_(leader|webhook|tls_ca)/.test(l));
    assert.equal(await metric(`outrigger_leader{lease="${LEADER_LEASE}"}`), '1', outrigger.join('\n'));
    const caNotAfter = new X509Certificate(await secretData('ca.crt')).validToDate.getTime() / 1000;
    assert.equal(Number(await metric('outrigger_tls_ca_expiry_timestamp_seconds')), caNotAfter);
    assert.equal(await metric('outrigger_webhook_ca_bundle_mismatch'), '0');
    // Every webhook pointed at another Service: none is Outrigger's to fix, which the leader reports.
    const hooks = (await k<JsonObject>('GET', webhookPath)).webhooks as JsonObject[];
    const point = (service: string) =>
      k(
        'PATCH',
        webhookPath,
        hooks.map((_, i) => ({ op: 'replace', path: `/webhooks/${i}/clientConfig/service/name`, value: service })),
        'application/json-patch+json',
      );
    await point('elsewhere');
    try {
      await eventually('the mismatch to be reported', async () => (await metric('outrigger_webhook_ca_bundle_mismatch')) === '1');
    } finally {
      await point(NAME);
    }
    await eventually('the mismatch to clear', async () => (await metric('outrigger_webhook_ca_bundle_mismatch')) === '0');
  });

  test('events: a denied pod of a ReplicaSet is reported on the ReplicaSet', async () => {
    const rs = await k<JsonObject>('POST', '/apis/apps/v1/namespaces/shop/replicasets', {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'x' }] } },
      },
    });
    const uid = (rs.metadata as JsonObject).uid as string;
    const denied = pod('web-1', { 'outrigger.dev/inject': 'agent' }) as JsonObject;
    (denied.metadata as JsonObject).labels = { app: 'web' };
    (denied.metadata as JsonObject).ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid, controller: true }];
    ((denied.spec as JsonObject).containers as JsonObject[]).push({ name: 'agent', image: 'mine' });
    const r = await cp.request('POST', '/api/v1/namespaces/shop/pods', denied);
    assert.equal(r.status, 403, r.text);
    assert.match(r.text, /profile \\"agent\\" cannot be injected: it adds native sidecar \\"agent\\"/);
    const ev = await eventually('an InjectionDenied event on the ReplicaSet', async () => {
      const list = await k<JsonObject>('GET', '/apis/events.k8s.io/v1/namespaces/shop/events');
      return (list.items as JsonObject[]).find((e) => e.reason === 'InjectionDenied' && (e.regarding as JsonObject).uid === uid);
    });
    assert.equal(ev.type, 'Warning');
    assert.equal(ev.reportingController, 'outrigger.dev/webhook');
    assert.match(String(ev.note), /^pod web-1: /, 'the note names the pod whose claim it is');
  });

  test('events: a pod naming a Deployment as its owner does not put an Event on the Deployment; the named pod gets it', async () => {
    const deploy = await k<JsonObject>('POST', '/apis/apps/v1/namespaces/shop/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'payments' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'payments' } },
        template: { metadata: { labels: { app: 'payments' } }, spec: { containers: [{ name: 'app', image: 'x' }] } },
      },
    });
    const uid = (deploy.metadata as JsonObject).uid as string;
    const forged = pod('aimed-1', { 'outrigger.dev/inject': 'agent' }) as JsonObject;
    (forged.metadata as JsonObject).ownerReferences = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'payments', uid, controller: true }];
    ((forged.spec as JsonObject).containers as JsonObject[]).push({ name: 'agent', image: 'mine' });
    const r = await cp.request('POST', '/api/v1/namespaces/shop/pods', forged);
    assert.equal(r.status, 403, r.text);
    const list = async () => (await k<JsonObject>('GET', '/apis/events.k8s.io/v1/namespaces/shop/events')).items as JsonObject[];
    await eventually('an InjectionDenied event on the pod itself', async () =>
      (await list()).find(
        (e) => e.reason === 'InjectionDenied' && (e.regarding as JsonObject).kind === 'Pod' && (e.regarding as JsonObject).name === 'aimed-1',
      ),
    );
    assert.deepEqual(
      (await list()).filter((e) => (e.regarding as JsonObject).uid === uid),
      [],
      'nothing on the Deployment',
    );
  });

  test('two replicas: only the elected one writes; stopping it hands over', async () => {
    const b = await startReplica(kubeconfig, 'replica-b', ['--profiles-from-cluster', '--cert-mode', 'self', '--cert-check-interval', '1s']);
    replicas.push(b);
    assert.equal(await leaseHolder(), 'replica-a');
    const ready = await replicaGet(adminPort(b), await caBundle(), '/readyz?verbose');
    assert.equal(ready.status, 200);
    assert.equal((ready.body.cluster as JsonObject).leader, false);
    assert.ok(!b.logs.some((l) => l.msg === 'certificates updated' || l.msg === 'caBundle written to the webhook configuration'), 'the follower wrote nothing');
    assert.equal(await servedFingerprint(b.port), await servedFingerprint(a.port), 'both serve the certificate from the Secret');

    // Stopping A (as a rolling update or node drain would): it releases the Lease; B takes over.
    assert.equal(await a.stop(), 0, a.stderr());
    cp.setServiceEndpoint(NS, NAME, 443, b.port);
    await eventually('replica-b to hold the Lease', async () => (await leaseHolder()) === 'replica-b', 30_000);
    const good = await caBundle();
    await replaceCaBundle('tamper');
    await eventually('the new leader to restore the caBundle', async () => (await caBundle()) === good);
    const created = await k<JsonObject>('POST', '/api/v1/namespaces/shop/pods', pod('after-handover', { 'outrigger.dev/inject': 'agent' }));
    assert.deepEqual(initNames(created), ['agent']);
  });

  test('upgrade from one Secret holding the CA key: the same CA and certificate keep serving, the key moves to the CA Secret', async () => {
    for (const r of replicas) await r.stop();
    // What the version before the split wrote: everything in the serving Secret, no CA Secret.
    const ca = generateCA({ commonName: 'outrigger-ca' });
    const leaf = generateServingCert({ ca, commonName: 'outrigger-webhook', dnsNames: [NAME, `${NAME}.${NS}`, SVC_HOST, `${SVC_HOST}.cluster.local`] });
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const old = await secret();
    await k('PUT', `/api/v1/namespaces/${NS}/secrets/${TLS_SECRET}`, {
      ...old,
      data: {
        'tls.crt': b64(leaf.certPem),
        'tls.key': b64(leaf.keyPem),
        'ca.crt': b64(ca.certPem),
        'ca.key': b64(ca.keyPem),
        'ca-bundle.crt': b64(ca.certPem),
      },
    });
    await k('DELETE', `/api/v1/namespaces/${NS}/secrets/${CA_SECRET}`);
    const hooks = (await k<JsonObject>('GET', `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${NAME}`)).webhooks as JsonObject[];
    await k(
      'PATCH',
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${NAME}`,
      hooks.map((_, i) => ({ op: 'replace', path: `/webhooks/${i}/clientConfig/caBundle`, value: b64(ca.certPem) })),
      'application/json-patch+json',
    );

    const d = await startReplica(kubeconfig, 'replica-d', ['--profiles-from-cluster', '--cert-mode', 'self', '--cert-check-interval', '1s']);
    replicas.push(d);
    cp.setServiceEndpoint(NS, NAME, 443, d.port);
    await eventually('the CA key in its own Secret', async () => (await secretKeys(TLS_SECRET)).join() === 'ca-bundle.crt,ca.crt,tls.crt,tls.key', 30_000);
    assert.equal(await secretData('ca.key', CA_SECRET), ca.keyPem, 'the same CA, not a new one');
    assert.equal(await secretData('tls.crt'), leaf.certPem, 'the same serving certificate');
    assert.equal(await servedFingerprint(d.port), new X509Certificate(leaf.certPem).fingerprint256);
    assert.equal(await caBundle(), ca.certPem);
    assert.ok(d.logs.some((l) => l.msg === 'certificates updated' && JSON.stringify(l.reasons).includes(`moved the CA key to Secret ${NS}/${CA_SECRET}`)));
    const created = await k<JsonObject>('POST', '/api/v1/namespaces/shop/pods', pod('after-upgrade', { 'outrigger.dev/inject': 'agent' }));
    assert.deepEqual(initNames(created), ['agent']);
  });
});
