// Smoke test of the e2e harness against a real kube-apiserver:
//   ./node_modules/.bin/node --test test/e2e/apiserver.e2e.test.ts
//
// Proves what Outrigger's own e2e tests rely on: the server reports the chosen release, pods can be
// created and read back, a MutatingWebhookConfiguration with a *service* reference reaches a local
// HTTPS server over HTTP/1.1 with TLS server name <svc>.<ns>.svc (as in production), and a
// URL-referenced webhook works too.

import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { type ControlPlane, e2eAvailability, kubernetesVersion, makeServingCert, startControlPlane } from './harness.ts';
import { helperConfig } from './support-webhook.ts';

const availability = await e2eAvailability();

const SVC_NAMESPACE = 'outrigger-system';
const SVC_NAME = 'outrigger-webhook';
const SVC_HOST = `${SVC_NAME}.${SVC_NAMESPACE}.svc`;
const MUTATED_BY = 'e2e.outrigger.dev/mutated-by';

interface Pod {
  metadata: { name?: string; namespace?: string; labels?: Record<string, string>; uid?: string };
  spec: { containers: Array<{ name: string; image: string }>; volumes?: unknown[] };
}

interface WebhookCall {
  path: string;
  httpVersion: string;
  serverName: string | false | null | undefined;
  alpn: string | false | null | undefined;
  uid: string;
  apiVersion: string;
  podName: string | undefined;
  generateName: string | undefined;
}

/** A tiny mutating webhook: offers h2 and http/1.1 (so the protocol the apiserver picks is visible),
 *  records each call and answers with a JSON Patch that adds a label. */
async function startWebhook(cert: { certPem: string; keyPem: string }) {
  const calls: WebhookCall[] = [];
  const server = http2.createSecureServer({ cert: cert.certPem, key: cert.keyPem, allowHTTP1: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const tls = (req.httpVersion === '2.0' ? req.stream.session?.socket : req.socket) as TLSSocket | undefined;
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        apiVersion: string;
        kind: string;
        request: { uid: string; object: Pod };
      };
      const path = (req.url ?? '').split('?')[0] ?? '';
      const pod = review.request.object;
      calls.push({
        path: req.url ?? '',
        httpVersion: req.httpVersion,
        serverName: tls?.servername,
        alpn: tls?.alpnProtocol,
        uid: review.request.uid,
        apiVersion: review.apiVersion,
        podName: pod.metadata.name,
        generateName: (pod.metadata as { generateName?: string }).generateName,
      });
      const value = path === '/mutate-svc' ? 'service-webhook' : 'url-webhook';
      // Absent maps are absent in admission: add the parent when there are no labels yet.
      const patch = pod.metadata.labels
        ? [{ op: 'add', path: `/metadata/labels/${MUTATED_BY.replace('/', '~1')}`, value }]
        : [{ op: 'add', path: '/metadata/labels', value: { [MUTATED_BY]: value } }];
      const body = JSON.stringify({
        apiVersion: review.apiVersion,
        kind: review.kind,
        response: {
          uid: review.request.uid,
          allowed: true,
          patchType: 'JSONPatch',
          patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
        },
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    calls,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        // http2 sessions and keep-alive sockets from the apiserver would hold close() open.
        setTimeout(r, 2000).unref();
      }),
  };
}

function busybox(name: string): Pod & { apiVersion: string; kind: string } {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'busybox', image: 'busybox' }] },
  };
}

describe('kube-apiserver e2e harness', { skip: availability.skip }, () => {
  let cp: ControlPlane;
  let webhook: Awaited<ReturnType<typeof startWebhook>> | undefined;

  before(async () => {
    cp = await startControlPlane();
    // One certificate for both webhooks: the service DNS name and 127.0.0.1 for the URL one.
    const cert = await makeServingCert([SVC_HOST], ['127.0.0.1']);
    webhook = await startWebhook(cert);
    if (cp.supportsServiceRefs) cp.setServiceEndpoint(SVC_NAMESPACE, SVC_NAME, 443, webhook.port);
    const caBundle = Buffer.from(cert.caPem).toString('base64');
    const configs = [
      helperConfig('e2e-url', { url: `https://127.0.0.1:${webhook.port}/mutate-url`, caBundle }, { 'e2e.outrigger.dev/url-webhook': 'enabled' }),
    ];
    if (cp.supportsServiceRefs) {
      configs.push(
        helperConfig(
          'e2e-service',
          { service: { namespace: SVC_NAMESPACE, name: SVC_NAME, port: 443, path: '/mutate-svc' }, caBundle },
          { 'outrigger.dev/injection': 'enabled' },
        ),
      );
    }
    for (const c of configs) {
      const r = await cp.request('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', c);
      assert.equal(r.status, 201, r.text);
    }
  });

  after(async () => {
    await webhook?.close();
    await cp?.stop();
  });

  /** Webhook configurations reach admission through an informer: retry until the label shows. */
  async function createUntilMutated(ns: string, prefix: string, want: string): Promise<Pod> {
    const deadline = Date.now() + 30_000;
    for (let i = 0; ; i++) {
      const r = await cp.request<Pod>('POST', `/api/v1/namespaces/${ns}/pods`, busybox(`${prefix}-${i}`));
      assert.equal(r.status, 201, r.text);
      if (r.body.metadata.labels?.[MUTATED_BY] === want) return r.body;
      assert.ok(Date.now() < deadline, `pods in ${ns} never got ${MUTATED_BY}=${want}; log:\n${cp.logTail()}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  }

  it('reports the Kubernetes version it was built from', async () => {
    const r = await cp.request<{ gitVersion: string; major: string; minor: string }>('GET', '/version');
    assert.equal(r.status, 200);
    const want = cp.mode === 'in-process' ? kubernetesVersion() : r.body.gitVersion;
    assert.equal(r.body.gitVersion, want);
    assert.equal(cp.version, want);
    const [, major, minor] = /^v(\d+)\.(\d+)\./.exec(want) ?? [];
    assert.equal(r.body.major, major);
    assert.equal(r.body.minor, minor);
  });

  it('creates a namespace and a pod with one container and no volumes, and reads it back', async () => {
    await cp.createNamespace('e2e-plain');
    const created = await cp.request<Pod>('POST', '/api/v1/namespaces/e2e-plain/pods', busybox('busybox'));
    assert.equal(created.status, 201, created.text);
    const got = await cp.request<Pod>('GET', '/api/v1/namespaces/e2e-plain/pods/busybox');
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.metadata.uid, created.body.metadata.uid);
    assert.deepEqual(
      got.body.spec.containers.map((c) => [c.name, c.image]),
      [['busybox', 'busybox']],
    );
    if (!cp.serviceAccountAdmission) assert.equal(got.body.spec.volumes, undefined, 'no ServiceAccount admission: no token volume');
    assert.equal(got.body.metadata.labels?.[MUTATED_BY], undefined, 'namespace without the label is not mutated');
  });

  it('calls a service-referenced webhook over HTTP/1.1 with TLS server name <svc>.<ns>.svc', async (t) => {
    if (!cp.supportsServiceRefs) {
      t.skip('this control plane cannot route service references to loopback (envtest binaries)');
      return;
    }
    await cp.createNamespace('e2e-injected', { 'outrigger.dev/injection': 'enabled' });
    const pod = await createUntilMutated('e2e-injected', 'svc', 'service-webhook');
    const got = await cp.request<Pod>('GET', `/api/v1/namespaces/e2e-injected/pods/${pod.metadata.name}`);
    assert.equal(got.body.metadata.labels?.[MUTATED_BY], 'service-webhook');

    const call = webhook?.calls.find((c) => c.podName === pod.metadata.name);
    assert.ok(call, 'the webhook saw the pod');
    assert.equal(call.serverName, SVC_HOST);
    assert.equal(call.httpVersion, '1.1');
    assert.equal(call.alpn, 'http/1.1');
    assert.equal(call.apiVersion, 'admission.k8s.io/v1');
    assert.match(call.path, /^\/mutate-svc\?timeout=10s$/);
  });

  it('calls a URL-referenced webhook', async () => {
    await cp.createNamespace('e2e-url', { 'e2e.outrigger.dev/url-webhook': 'enabled' });
    const pod = await createUntilMutated('e2e-url', 'url', 'url-webhook');
    const call = webhook?.calls.find((c) => c.podName === pod.metadata.name);
    assert.ok(call, 'the webhook saw the pod');
    assert.match(call.path, /^\/mutate-url\?timeout=10s$/);
    // URLs on loopback are not forced to HTTP/1.1 (k8s.io/apiserver util/webhook isLocalHost): a
    // server that offers h2 gets HTTP/2 and no SNI for an IP address.
    assert.equal(call.httpVersion, '2.0');
    assert.ok(!call.serverName, `no SNI for an IP address, got ${String(call.serverName)}`);

    const again = await cp.request<Pod>('POST', '/api/v1/namespaces/e2e-url/pods', busybox('url-again'));
    assert.equal(again.status, 201, again.text);
    assert.equal(again.body.metadata.labels?.[MUTATED_BY], 'url-webhook');
  });

  it('keeps webhook request uids unique', () => {
    const uids = (webhook?.calls ?? []).map((c) => c.uid);
    assert.ok(uids.length >= 2);
    assert.equal(new Set(uids).size, uids.length);
  });
});

describe('kube-apiserver e2e harness with the ServiceAccount admission plugin on', { skip: availability.skip }, () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await startControlPlane({ serviceAccountAdmission: true });
  });
  after(async () => {
    await cp?.stop();
  });

  it('gives pods the projected kube-api-access token volume, as a real cluster does', async () => {
    await cp.createNamespace('e2e-sa'); // also creates the 'default' ServiceAccount
    const r = await cp.request<Pod & { spec: { volumes?: Array<{ name: string; projected?: unknown }>; serviceAccountName?: string } }>(
      'POST',
      '/api/v1/namespaces/e2e-sa/pods',
      busybox('busybox'),
    );
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.spec.serviceAccountName, 'default');
    const volumes = r.body.spec.volumes ?? [];
    assert.equal(volumes.length, 1);
    assert.match(volumes[0]?.name ?? '', /^kube-api-access-/);
    assert.ok(volumes[0]?.projected);
  });
});
