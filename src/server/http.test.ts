/**
 * The webhook over real TLS on port 0: every outcome as the API server reads it, every kind of bad
 * input with its precise answer, limits and timeouts, and the server still serving afterwards.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type TLSSocket } from 'node:tls';
import { sClient } from '../../test/support/openssl.ts';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import { decodePatch, makeCerts, pod, type Reply, review, send, startTestServer, TEST_PROFILES, type TestServer } from '../../test/support/webhook.ts';
import { applyPatch, inject, type JsonObject, profileSet, type SidecarProfile } from '../engine/index.ts';
import { isJsonContentType } from './http.ts';

const UID = '705ab4f5-6393-11e8-b7cc-42010a800002';
const set = profilesFromYaml(Object.values(TEST_PROFILES).join('\n---\n'));

function raw(s: TestServer): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port: s.port, servername: 'localhost', ca: s.caPem }, () => resolve(sock));
    sock.on('error', reject);
  });
}

/** Everything the server sends until it closes the connection (or `ms` pass). */
function collect(sock: TLSSocket, ms = 5000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    const done = (closed: boolean) => {
      clearTimeout(t);
      resolve({ text, closed });
    };
    const t = setTimeout(() => done(false), ms);
    sock.on('data', (d: Buffer) => {
      text += d.toString('utf8');
    });
    sock.on('close', () => done(true));
    sock.on('error', () => {});
  });
}

function errorOf(r: Reply): { code: string; message: string } {
  assert.equal(r.headers['content-type'], 'application/json');
  const body = r.json() as { error: { code: string; message: string } };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(typeof body.error.message, 'string');
  return body.error;
}

describe('webhook over HTTPS', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      profiles: TEST_PROFILES,
      limits: {
        maxBodyBytes: 256 * 1024,
        // Small enough to pass within 256 KiB, large enough for the 100k-deep nesting cases below.
        json: { maxContainers: 105_000, maxTokens: 110_000, maxDistinctKeys: 1000 },
        // The slow-body test below is about the request timeout: no rate cut here.
        minBodyBytesPerSecond: 1,
        headersTimeoutMs: 600,
        requestTimeoutMs: 1200,
        handshakeTimeoutMs: 600,
        connectionsCheckingIntervalMs: 100,
      },
    });
  });
  after(async () => {
    assert.equal(await s.stop(), 0);
  });

  const mutate = (body: unknown, extra: { path?: string; headers?: Record<string, string> } = {}) =>
    send(s.port, {
      agent: s.agent,
      path: extra.path ?? '/mutate?timeout=10s',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...(extra.headers ? { headers: extra.headers } : {}),
    });

  const stillServing = async () => {
    const r = await mutate(review(pod({ 'outrigger.dev/inject': 'probe' }), { uid: 'after' }));
    assert.equal(r.status, 200);
    assert.equal(r.json().response && (r.json().response as JsonObject).uid, 'after');
  };

  describe('outcomes: HTTP 200 and the exact AdmissionReview', () => {
    test('injected; the decoded patch applied to the pod is the engine pod', async () => {
      const p = pod({ 'outrigger.dev/inject': 'probe' });
      const r = await mutate(review(p));
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/json');
      const d = inject(p, set, { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } });
      assert.deepStrictEqual(r.json(), {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: UID, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(d.patch)).toString('base64') },
      });
      const patch = decodePatch((r.json().response as JsonObject).patch);
      assert.deepStrictEqual(applyPatch(p, patch as never), d.pod);
    });

    test('v1beta1 and dryRun', async () => {
      const r = await mutate(review(pod({ 'outrigger.dev/inject': 'probe' }), { apiVersion: 'admission.k8s.io/v1beta1', dryRun: true }));
      const body = r.json();
      assert.equal(body.apiVersion, 'admission.k8s.io/v1beta1');
      assert.equal(body.kind, 'AdmissionReview');
      assert.equal((body.response as JsonObject).patchType, 'JSONPatch');
      await sleep(20);
      const line = s.logs.find('admission').at(-1) as Record<string, unknown>;
      assert.equal(line.dryRun, true);
    });

    test('unchanged, unchanged with a warning, denied', async () => {
      assert.deepStrictEqual((await mutate(review(pod()))).json(), {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: UID, allowed: true },
      });
      const soft = (await mutate(review(pod({ 'outrigger.dev/inject': 'soft' })))).json().response as JsonObject;
      assert.equal(soft.allowed, true);
      assert.equal(soft.patch, undefined);
      assert.equal((soft.warnings as string[]).length, 1);
      const denied = (await mutate(review(pod({ 'outrigger.dev/inject': 'strict' })))).json();
      assert.deepStrictEqual(denied, {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: {
          uid: UID,
          allowed: false,
          status: {
            code: 403,
            reason: 'Forbidden',
            message:
              'profile "strict" cannot be injected: it adds native sidecar "web", but the pod already has a container or init container named "web" (conflictPolicy: fail)',
          },
        },
      });
    });

    for (const [name, o] of [
      ['UPDATE', { operation: 'UPDATE' }],
      ['DELETE', { operation: 'DELETE' }],
      ['ConfigMap', { kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' } }],
      ['subresource', { subResource: 'status', operation: 'UPDATE' }],
    ] as const) {
      test(`not-a-pod-create: ${name}`, async () => {
        const r = await mutate(review(pod({ 'outrigger.dev/inject': 'probe' }), { ...o, uid: name }));
        assert.deepStrictEqual(r.json(), { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: name, allowed: true } });
      });
    }

    test('one JSON log line per admission, with no pod content', async () => {
      await mutate(review(pod({ 'outrigger.dev/inject': 'probe' }), { uid: 'log-check' }));
      await sleep(20);
      const line = s.logs.find('admission').find((l) => l.uid === 'log-check') as Record<string, unknown>;
      assert.deepEqual(Object.keys(line).sort(), [
        'dryRun',
        'durationMs',
        'level',
        'msg',
        'name',
        'namespace',
        'operation',
        'outcome',
        'profiles',
        'reason',
        'resource',
        'time',
        'uid',
      ]);
      assert.equal(line.name, 'shop-frontend-7d9f8c6b5-');
      assert.equal(line.namespace, 'shop');
      assert.deepEqual(line.profiles, [{ profile: 'probe', reason: 'injected', version: '1.0.0' }]);
      assert.ok(!JSON.stringify(s.logs.lines).includes('nginx:1.27'), 'no pod content in logs');
    });
  });

  describe('bad input: the precise answer, then still serving', () => {
    const cases: [string, () => Promise<Reply>, number, string][] = [
      ['truncated JSON', () => mutate('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionRev'), 400, 'invalid-json'],
      ['empty body', () => mutate(''), 400, 'empty-body'],
      ['missing request', () => mutate({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), 400, 'missing-request'],
      ['missing uid', () => mutate({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { operation: 'CREATE' } }), 400, 'missing-uid'],
      ['uid of the wrong type', () => mutate({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: ['x'] } }), 400, 'missing-uid'],
      ['100k unclosed [', () => mutate('['.repeat(100_000)), 400, 'invalid-json'],
      ['100k nested arrays', () => mutate(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), 400, 'not-an-admission-review'],
      [
        'invalid UTF-8',
        () => send(s.port, { agent: s.agent, body: Buffer.concat([Buffer.from('{"apiVersion":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]) }),
        400,
        'invalid-utf8',
      ],
      ['wrong content type', () => send(s.port, { agent: s.agent, body: '{}', headers: { 'Content-Type': 'text/plain' } }), 415, 'unsupported-media-type'],
      ['no content type', () => send(s.port, { agent: s.agent, body: '{}', headers: { 'Content-Type': '' } }), 415, 'unsupported-media-type'],
      [
        'a charset other than UTF-8',
        () => send(s.port, { agent: s.agent, body: '{}', headers: { 'Content-Type': 'application/json; charset=latin1' } }),
        415,
        'unsupported-media-type',
      ],
      ['GET /mutate', () => send(s.port, { agent: s.agent, method: 'GET' }), 405, 'method-not-allowed'],
      ['unknown path', () => send(s.port, { agent: s.agent, path: '/validate', body: '{}' }), 404, 'not-found'],
      ['a path that only starts like /mutate', () => send(s.port, { agent: s.agent, path: '/mutate/x', body: '{}' }), 404, 'not-found'],
      ['body over the limit (declared)', () => mutate('x'.repeat(256 * 1024 + 1)), 413, 'body-too-large'],
      ['more objects and arrays than the JSON budget', () => mutate(`${'['.repeat(105_001)}${']'.repeat(105_001)}`), 413, 'body-too-complex'],
      ['more structural tokens than the JSON budget', () => mutate(`[${'0,'.repeat(110_000)}0]`), 413, 'body-too-complex'],
      ['more distinct keys than the JSON budget', () => mutate(`{${Array.from({ length: 1001 }, (_, i) => `"k${i}":0`).join(',')}}`), 413, 'body-too-complex'],
      [
        'more distinct keys than the JSON budget, on /explain',
        () => send(s.adminPort, { agent: s.agent, path: '/explain', body: `{${Array.from({ length: 1001 }, (_, i) => `"k${i}":0`).join(',')}}` }),
        413,
        'body-too-complex',
      ],
    ];
    for (const [name, call, status, code] of cases) {
      test(name, async () => {
        const r = await call();
        assert.equal(r.status, status, r.text);
        assert.equal(errorOf(r).code, code);
        if (status === 405) assert.equal(r.headers.allow, 'POST');
        if (code === 'body-too-large') assert.equal(r.headers.connection, 'close');
        if (code === 'body-too-complex')
          assert.match(
            errorOf(r).message,
            /^the request body has more than \d+ (objects and arrays|structural tokens|distinct keys) \(the limit is passed at byte \d+\)/,
          );
        await stillServing();
      });
    }

    test('a malformed field with a uid: HTTP 200, allowed false, status 400', async () => {
      const rv = review(pod());
      (rv.request as JsonObject).operation = 42;
      const r = await mutate(rv);
      assert.equal(r.status, 200);
      const resp = r.json().response as JsonObject;
      assert.equal(resp.uid, UID);
      assert.equal(resp.allowed, false);
      assert.equal((resp.status as JsonObject).code, 400);
      assert.match((resp.status as JsonObject).message as string, /request\.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got a number/);
    });

    test('a chunked body over the limit: 413 while the client is still sending, nothing buffered past the limit', async () => {
      const sock = await raw(s);
      const reply = collect(sock);
      sock.write('POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      for (let i = 0; i < 5; i++) sock.write(`${chunk.length.toString(16)}\r\n${chunk.toString()}\r\n`);
      // 320 KiB sent, the body never ends: the answer must not wait for it.
      const { text, closed } = await reply;
      assert.match(text, /^HTTP\/1\.1 413 Payload Too Large\r\n/);
      assert.match(text, /\r\nConnection: close\r\n/i);
      assert.ok(text.includes('"code":"body-too-large"'));
      assert.equal(closed, true);
      await stillServing();
    });

    test('a client that keeps sending after its 413 is not read further: the connection is closed within seconds', async () => {
      const sock = await raw(s);
      const reply = collect(sock, 4000);
      sock.write('POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
      const chunk = `${(64 * 1024).toString(16)}\r\n${' '.repeat(64 * 1024)}\r\n`;
      const flood = setInterval(() => sock.writable && sock.write(chunk), 5);
      const { text, closed } = await reply;
      clearInterval(flood);
      assert.match(text, /^HTTP\/1\.1 413 /);
      assert.equal(closed, true, 'closed by the server while the client was still sending');
      await stillServing();
    });

    test('a body of declared length refused midway: the rest is read and dropped, the answer arrives, the connection stays usable', async () => {
      const sock = await raw(s);
      let text = '';
      sock.on('data', (d: Buffer) => {
        text += d.toString('latin1');
      });
      const hostile = `${'['.repeat(105_001)}${']'.repeat(105_001)}`; // over the objects-and-arrays budget early on
      sock.write(`POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${hostile.length}\r\n\r\n${hostile}`);
      const next = JSON.stringify(review(pod(), { uid: 'same-connection' }));
      await sleep(300);
      sock.write(`POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${next.length}\r\n\r\n${next}`);
      await sleep(300);
      sock.destroy();
      assert.match(text, /^HTTP\/1\.1 413 Payload Too Large\r\n/);
      assert.ok(text.includes('"code":"body-too-complex"'), text.slice(0, 300));
      assert.match(text, /HTTP\/1\.1 200 OK[\s\S]*"uid":"same-connection"/);
    });

    test('a declared Content-Length over the limit: 413 before any body byte is sent', async () => {
      const sock = await raw(s);
      const reply = collect(sock);
      sock.write('POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n');
      const { text, closed } = await reply;
      assert.match(text, /^HTTP\/1\.1 413 /);
      assert.equal(closed, true);
    });

    test('slow loris: partial headers get 408 after the headers timeout; other clients are served meanwhile', async () => {
      const sock = await raw(s);
      const reply = collect(sock);
      sock.write('POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: appl');
      const started = Date.now();
      for (let i = 0; i < 5; i++) {
        await stillServing();
        await sleep(50);
      }
      const { text, closed } = await reply;
      assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
      assert.ok(text.includes('"code":"request-timeout"'));
      assert.equal(closed, true);
      assert.ok(Date.now() - started < 3000);
    });

    test('slow body: 408 after the request timeout', async () => {
      const sock = await raw(s);
      const reply = collect(sock);
      sock.write('POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion":');
      const drip = setInterval(() => sock.writable && sock.write(' '), 100);
      await stillServing();
      const { text, closed } = await reply;
      clearInterval(drip);
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.equal(closed, true);
    });

    test('a connection that never sends a request gets 408 after the headers timeout, and is closed', async () => {
      const sock = await raw(s);
      const { text, closed } = await collect(sock, 3000);
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.equal(closed, true, 'closed by the server');
      await stillServing();
    });

    test('a TCP connection that never starts TLS is closed after the handshake timeout', async () => {
      const sock = tcpConnect({ host: '127.0.0.1', port: s.port });
      const closed = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), 3000);
        sock.on('close', () => {
          clearTimeout(t);
          resolve(true);
        });
        sock.on('error', () => {});
      });
      sock.destroy();
      assert.equal(closed, true);
      await stillServing();
    });

    test('log lines stay small whatever the request carries; the response echoes the uid whole', async () => {
      const uid = `u-${'x'.repeat(100_000)}`;
      const r = await mutate(review(pod(), { uid }));
      assert.equal((r.json().response as JsonObject).uid, uid);
      const line = s.logs.find('admission').at(-1) as Record<string, unknown>;
      assert.ok(JSON.stringify(line).length < 2000, String(JSON.stringify(line).length));
    });

    test('malformed HTTP: 400 bad-request, connection closed', async () => {
      const sock = await raw(s);
      const reply = collect(sock);
      sock.write('POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n');
      const { text } = await reply;
      assert.match(text, /^HTTP\/1\.1 400 /);
      assert.ok(text.includes('"code":"bad-request"'));
      await stillServing();
    });

    test('a keep-alive connection idle longer than the headers timeout is still served (the timeout counts from the first byte)', async () => {
      const sock = await raw(s);
      const body = JSON.stringify(review(pod(), { uid: 'idle-1' }));
      const req = `POST /mutate?timeout=10s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      let text = '';
      sock.on('data', (d: Buffer) => {
        text += d.toString();
      });
      sock.write(req);
      await sleep(1500); // > headersTimeout (600 ms) and > requestTimeout (1200 ms)
      sock.write(req.replace('idle-1', 'idle-2'));
      await sleep(200);
      assert.equal(text.match(/HTTP\/1\.1 200 OK/g)?.length, 2, text);
      assert.ok(text.includes('"uid":"idle-2"'));
      sock.destroy();
    });
  });

  describe('other routes', () => {
    test('GET /healthz, /readyz, /readyz?verbose', async () => {
      const h = await send(s.port, { agent: s.agent, method: 'GET', path: '/healthz' });
      assert.equal(h.status, 200);
      assert.equal(h.text, 'ok\n');
      const r = await send(s.port, { agent: s.agent, method: 'GET', path: '/readyz' });
      assert.equal(r.status, 200);
      const v = await send(s.adminPort, { agent: s.agent, method: 'GET', path: '/readyz?verbose' });
      const detail = v.json() as JsonObject;
      assert.equal(detail.ready, true);
      assert.deepEqual((detail.profiles as JsonObject).loaded, ['probe@1.0.0', 'soft@2.0.0', 'strict@1.0.0']);
      assert.equal((detail.profiles as JsonObject).lastReloadError, null);
      assert.equal(typeof (detail.tls as JsonObject).notAfter, 'string');
      const post = await send(s.port, { agent: s.agent, method: 'POST', path: '/healthz', body: '{}' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');
    });

    test('GET /metrics: Prometheus text with the admission series', async () => {
      const m = await send(s.port, { agent: s.agent, method: 'GET', path: '/metrics' });
      assert.equal(m.status, 200);
      assert.equal(m.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      for (const series of [
        'outrigger_admission_requests_total{outcome="injected",reason="injected"}',
        'outrigger_admission_requests_total{outcome="denied",reason="name-conflict"}',
        'outrigger_admission_requests_total{outcome="unchanged",reason="not-a-pod-create"}',
        'outrigger_admission_requests_total{outcome="rejected",reason="invalid-json"}',
        'outrigger_admission_duration_seconds_bucket{outcome="injected",le="0.0001"}',
        'outrigger_admission_requests_in_flight ',
        'outrigger_injections_total{profile="probe",reason="injected"}',
        'outrigger_ignored_failures_total{profile="soft",reason="name-conflict"} 1',
        'outrigger_profiles_last_reload_success_timestamp_seconds ',
        'outrigger_tls_certificate_expiry_timestamp_seconds ',
        'process_resident_memory_bytes ',
      ]) {
        assert.ok(m.text.includes(series), `missing ${series}`);
      }
    });

    test('POST /explain with a pod and ?namespace=, and with an AdmissionReview', async () => {
      const p = pod({ 'outrigger.dev/inject': 'probe, nope' });
      const r = await send(s.adminPort, { agent: s.agent, path: '/explain?namespace=payments', body: JSON.stringify(p) });
      assert.equal(r.status, 200);
      const e = r.json() as JsonObject;
      const d = inject(p, set, { namespace: 'payments', kubeVersion: { major: 1, minor: 33 } });
      assert.equal(e.namespace, 'payments');
      assert.equal(e.outcome, 'injected');
      assert.deepStrictEqual(e.patch, d.patch);
      assert.deepStrictEqual(e.pod, d.pod);
      assert.deepStrictEqual(e.warnings, d.warnings);
      assert.deepStrictEqual(e.profiles, [
        { profile: 'nope', reason: 'unknown-profile', reasonText: 'The pod requested a profile that does not exist.', message: d.profiles[0]?.message },
        {
          profile: 'probe',
          reason: 'injected',
          reasonText: 'The profile was injected.',
          message: 'profile "probe" injected at version 1.0.0',
          version: '1.0.0',
        },
      ]);
      const rv = await send(s.adminPort, { agent: s.agent, path: '/explain', body: JSON.stringify(review(p)) });
      const ev = rv.json() as JsonObject;
      assert.equal(ev.namespace, 'shop');
      assert.equal(((ev.response as JsonObject).response as JsonObject).uid, UID);
      const bad = await send(s.adminPort, { agent: s.agent, path: '/explain?namespace=Not_A_Name', body: JSON.stringify(p) });
      assert.equal(bad.status, 400);
      assert.equal(errorOf(bad).code, 'invalid-query');
      const svc = await send(s.adminPort, { agent: s.agent, path: '/explain', body: JSON.stringify({ kind: 'Service' }) });
      assert.equal(errorOf(svc).code, 'not-a-pod');
      const deep = await send(s.adminPort, { agent: s.agent, path: '/explain', body: `{"kind":${'['.repeat(100_000)}${']'.repeat(100_000)}}` });
      assert.equal(deep.status, 400);
      assert.match(errorOf(deep).message, /got kind an array;/);
    });
  });
});

test('dry-run requests have no side effects; others do', async () => {
  const seen: string[] = [];
  const s = await startTestServer({ profiles: TEST_PROFILES, sideEffects: (r) => seen.push(r.uid) });
  try {
    const dry = await send(s.port, { agent: s.agent, body: JSON.stringify(review(pod({ 'outrigger.dev/inject': 'probe' }), { uid: 'dry', dryRun: true })) });
    assert.equal(typeof (dry.json().response as JsonObject).patch, 'string', 'a dry run still gets the patch');
    await send(s.port, { agent: s.agent, body: JSON.stringify(review(pod({ 'outrigger.dev/inject': 'probe' }), { uid: 'wet' })) });
    assert.deepEqual(seen, ['wet']);
  } finally {
    await s.stop();
  }
});

describe('routes per listener', () => {
  test('the webhook port serves /mutate, /healthz, /readyz and /metrics; /explain and verbose readiness only on the admin listener', async () => {
    const s = await startTestServer({ profiles: TEST_PROFILES });
    try {
      assert.notEqual(s.adminPort, s.port);
      const explain = await send(s.port, { agent: s.agent, path: '/explain', body: JSON.stringify(pod()) });
      assert.equal(explain.status, 404);
      assert.equal(errorOf(explain).code, 'not-found');
      assert.match(
        errorOf(explain).message,
        /^\/explain is served on the admin listener \(--admin-address\), not here; this port serves POST \/mutate, GET \/healthz/,
      );
      for (const headers of [{}, { Accept: 'application/json' }] as Record<string, string>[]) {
        const v = await send(s.port, { agent: s.agent, method: 'GET', path: '/readyz?verbose', headers });
        assert.equal(v.status, 404);
        assert.match(errorOf(v).message, /verbose readiness is served on the admin listener/);
        assert.ok(!v.text.includes('profiles') && !v.text.includes('probe@'), v.text);
      }
      const json = await send(s.port, { agent: s.agent, method: 'GET', path: '/readyz', headers: { Accept: 'application/json' } });
      assert.equal(json.status, 404, 'Accept: application/json asks for the detail too');
      assert.equal((await send(s.port, { agent: s.agent, method: 'GET', path: '/readyz' })).text, 'ok\n');
      assert.equal((await send(s.port, { agent: s.agent, body: JSON.stringify(review(pod())) })).status, 200);

      const mutate = await send(s.adminPort, { agent: s.agent, body: JSON.stringify(review(pod())) });
      assert.equal(mutate.status, 404);
      assert.match(errorOf(mutate).message, /^\/mutate is served on the webhook port/);
      assert.equal((await send(s.adminPort, { agent: s.agent, path: '/explain', body: JSON.stringify(pod()) })).status, 200);
      for (const path of ['/healthz', '/readyz', '/readyz?verbose', '/metrics']) {
        assert.equal((await send(s.adminPort, { agent: s.agent, method: 'GET', path })).status, 200, path);
      }
    } finally {
      await s.stop();
    }
  });
});

test('/metrics never names a tenant’s profile: a namespace’s own profile is counted as "tenant"', async () => {
  const tenant = {
    ...(profilesFromYaml(profileYaml('acme-vault', { version: '1.0.0', containers: [{ name: 'vault', image: 'example.com/v:1' }] }))
      .profiles[0] as SidecarProfile),
    namespace: 'acme',
  };
  const s = await startTestServer({
    profiles: TEST_PROFILES,
    extendConfig: (cfg) => ({ ...cfg, profilesFor: (ns) => (ns === 'acme' ? profileSet([...cfg.profiles.profiles, tenant]) : cfg.profiles) }),
  });
  try {
    const r = await send(s.port, { agent: s.agent, body: JSON.stringify(review(pod({ 'outrigger.dev/inject': 'acme-vault, probe' }), { namespace: 'acme' })) });
    assert.equal(r.status, 200);
    assert.ok(typeof (r.json().response as JsonObject).patch === 'string', 'the tenant profile was injected');
    const m = (await send(s.port, { agent: s.agent, method: 'GET', path: '/metrics' })).text;
    assert.match(m, /outrigger_injections_total\{profile="tenant",reason="injected"\} 1/);
    assert.match(m, /outrigger_injections_total\{profile="probe",reason="injected"\} 1/);
    assert.ok(!m.includes('acme'), 'neither the tenant profile nor its namespace appears');
  } finally {
    await s.stop();
  }
});

describe('client certificates (--client-ca)', () => {
  test('/mutate and /explain need a certificate signed by the CA; health and metrics do not', async () => {
    const clientCerts = makeCerts();
    const { generateServingCert } = await import('../tls/certs.ts');
    const client = generateServingCert({ ca: clientCerts.ca, commonName: 'kube-apiserver', dnsNames: ['kube-apiserver'], client: true });
    const s = await startTestServer({ profiles: TEST_PROFILES, clientCa: clientCerts.ca.certPem });
    try {
      const anonymous = await send(s.port, { ca: s.caPem, body: JSON.stringify(review(pod())) });
      assert.equal(anonymous.status, 401);
      assert.equal(errorOf(anonymous).code, 'client-certificate-required');
      const explained = await send(s.adminPort, { ca: s.caPem, path: '/explain', body: JSON.stringify(pod()) });
      assert.equal(explained.status, 401);
      for (const path of ['/healthz', '/readyz', '/metrics']) {
        assert.equal((await send(s.port, { ca: s.caPem, method: 'GET', path })).status, 200, path);
      }
      const r = await send(s.port, { ca: s.caPem, cert: client.certPem, key: client.keyPem, body: JSON.stringify(review(pod())) });
      assert.equal(r.status, 200);
      const stranger = makeCerts();
      const other = generateServingCert({ ca: stranger.ca, commonName: 'x', dnsNames: ['x'], client: true });
      const refused = await send(s.port, { ca: s.caPem, cert: other.certPem, key: other.keyPem, body: JSON.stringify(review(pod())) });
      assert.equal(refused.status, 401);
      assert.match(errorOf(refused).message, /needs a client certificate signed by the --client-ca/);
    } finally {
      await s.stop();
    }
  });
});

describe('memory bound over all request bodies', () => {
  test('bodies beyond the shared budget get 503 overloaded; bytes of finished and abandoned requests are released', async () => {
    const s = await startTestServer({ profiles: TEST_PROFILES, limits: { maxBufferedBytes: 16 * 1024 } });
    try {
      const big = JSON.stringify(review(pod({ 'example.com/pad': 'p'.repeat(20_000) })));
      const r = await send(s.port, { agent: s.agent, body: big });
      assert.equal(r.status, 503);
      assert.equal(errorOf(r).code, 'overloaded');
      // A client that sends most of a 12 KiB body, then goes away.
      const sock = await raw(s);
      sock.write(`POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${12 * 1024}\r\n\r\n${' '.repeat(11 * 1024)}`);
      await sleep(100);
      sock.destroy();
      await sleep(100);
      // Had either request kept its bytes, 12 KiB more would not fit.
      const fits = JSON.stringify(review(pod({ 'example.com/pad': 'p'.repeat(11_000) })));
      for (let i = 0; i < 3; i++) assert.equal((await send(s.port, { agent: s.agent, body: fits })).status, 200);
    } finally {
      await s.stop();
    }
  });
});

/** Starts a POST /mutate on a raw socket declaring `declared` bytes and sends `first` of them. */
async function partialBody(s: TestServer, declared: number, first: number): Promise<{ sock: TLSSocket; reply: Promise<{ text: string; closed: boolean }> }> {
  const sock = await raw(s);
  const reply = collect(sock, 8000);
  sock.write(`POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n${' '.repeat(first)}`);
  return { sock, reply };
}

describe('stalled and slow bodies: the minimum data rate', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      profiles: TEST_PROFILES,
      limits: { maxBufferedBytes: 200 * 1024, largeBodyBytes: 1024 * 1024, minBodyBytesPerSecond: 64 * 1024, bodyRateWindowMs: 300 },
    });
  });
  after(async () => {
    await s.stop();
  });

  test('a body that stalls gets 408 body-too-slow within two windows, and its bytes are released', async () => {
    const stalled = await partialBody(s, 200 * 1024, 150 * 1024);
    const started = Date.now();
    const { text, closed } = await stalled.reply;
    assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(text.includes('"code":"body-too-slow"'), text);
    assert.match(text, /arrived slower than 65536 bytes per second \(\d+ bytes in the last 300 ms\)/);
    assert.equal(closed, true);
    assert.ok(Date.now() - started < 3000);
    // Had the stalled body kept its 150 KiB, another 150 KiB would not fit the 200 KiB budget.
    const big = JSON.stringify(review(pod({ 'example.com/pad': 'p'.repeat(150 * 1024) })));
    assert.equal((await send(s.port, { agent: s.agent, body: big })).status, 200);
  });

  test('a body that keeps dripping below the rate is cut too', async () => {
    const slow = await partialBody(s, 100 * 1024, 1024);
    const drip = setInterval(() => slow.sock.writable && slow.sock.write(' '.repeat(1024)), 50); // 20 KiB/s
    const { text } = await slow.reply;
    clearInterval(drip);
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.ok(text.includes('"code":"body-too-slow"'), text);
  });

  test('a refused body whose rest stops coming: its connection is closed once the rest is overdue at the minimum rate', async () => {
    const sock = await raw(s);
    const reply = collect(sock, 10_000);
    const start = '['.repeat(140_000); // past the default objects-and-arrays budget
    sock.write(`POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${400_000}\r\n\r\n${start}`);
    const started = Date.now();
    const { text, closed } = await reply;
    assert.match(text, /^HTTP\/1\.1 413 /);
    assert.equal(closed, true, 'closed by the server');
    // 260 kB still due at 64 KiB/s: about 4 s, plus a window.
    assert.ok(Date.now() - started < 9_000);
  });

  test('a body arriving steadily above the rate is read in full', async () => {
    const body = JSON.stringify(review(pod({ 'example.com/pad': 'p'.repeat(60 * 1024) }), { uid: 'steady' }));
    const sock = await raw(s);
    const reply = collect(sock, 8000);
    sock.write(
      `POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
    );
    // 16 KiB every 20 ms: spans several windows, and stays above the rate even if the timers run late.
    for (let i = 0; i < body.length; i += 16 * 1024) {
      sock.write(body.slice(i, i + 16 * 1024));
      await sleep(20);
    }
    const { text } = await reply;
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(text.includes('"uid":"steady"'));
  });
});

describe('large bodies share only part of the body budget', () => {
  test('with large bodies stalled, a further large body gets 503 overloaded and everyday reviews are still served', async () => {
    const s = await startTestServer({
      profiles: TEST_PROFILES,
      // No rate cut in this test: the stalled bodies stay.
      limits: {
        maxBufferedBytes: 320 * 1024,
        largeBodyBytes: 64 * 1024,
        maxLargeBufferedBytes: 240 * 1024,
        minBodyBytesPerSecond: 1,
        bodyRateWindowMs: 60_000,
      },
    });
    try {
      const stalled = await Promise.all([0, 1, 2].map(() => partialBody(s, 250 * 1024, 80 * 1024)));
      await sleep(300);
      const large = JSON.stringify(review(pod({ 'example.com/pad': 'p'.repeat(70 * 1024) })));
      const refused = await send(s.port, { agent: s.agent, body: large });
      assert.equal(refused.status, 503);
      assert.equal(errorOf(refused).code, 'overloaded');
      assert.match(errorOf(refused).message, /hold \d+ bytes \(245760 in bodies over 65536 bytes\); retry/);
      for (let i = 0; i < 5; i++) await stillServingOn(s);
      for (const c of stalled) c.sock.destroy();
      await sleep(100);
      assert.equal((await send(s.port, { agent: s.agent, body: large })).status, 200, 'released when the stalled clients go away');
    } finally {
      await s.stop();
    }
  });
});

async function stillServingOn(s: TestServer): Promise<void> {
  const r = await send(s.port, { agent: s.agent, body: JSON.stringify(review(pod({ 'outrigger.dev/inject': 'probe' }), { uid: 'after' })) });
  assert.equal(r.status, 200, r.text);
  assert.equal((r.json().response as JsonObject).uid, 'after');
}

/** A TLS connection from `localAddress` (any 127.x address reaches the server on 127.0.0.1): resolves when secure, rejects if refused. */
function connectFrom(s: TestServer, localAddress: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const tcp = tcpConnect({ host: '127.0.0.1', port: s.port, localAddress });
    tcp.on('error', reject);
    const sock = connect({ socket: tcp, servername: 'localhost', ca: s.caPem }, () => resolve(sock));
    sock.on('error', reject);
    sock.on('close', () => reject(new Error('closed before the handshake')));
  });
}

/** A kept-alive connection that has had one request answered: idle now. `closed` resolves when the server closes it. */
async function idleConnection(s: TestServer, localAddress: string): Promise<{ sock: TLSSocket; closed: Promise<void> }> {
  const sock = await connectFrom(s, localAddress);
  const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
  await new Promise<void>((resolve) => {
    sock.once('data', () => resolve());
    sock.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  });
  return { sock, closed };
}

/** A connection in the middle of a request body (busy). */
async function busyConnection(s: TestServer, localAddress: string): Promise<TLSSocket> {
  const sock = await connectFrom(s, localAddress);
  sock.write('POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
  await sleep(250); // the server has parsed the headers: the connection is busy
  return sock;
}

const served = async (s: TestServer, localAddress: string) => {
  const sock = await connectFrom(s, localAddress);
  const reply = collect(sock);
  sock.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  return (await reply).text;
};

describe('connection limits: idle connections make room, one address cannot take every slot', () => {
  let s: TestServer;
  const open: TLSSocket[] = [];
  before(async () => {
    s = await startTestServer({
      profiles: TEST_PROFILES,
      limits: { maxConnections: 5, maxConnectionsPerPeer: 3, minBodyBytesPerSecond: 1, bodyRateWindowMs: 60_000 },
    });
  });
  after(async () => {
    for (const c of open) c.destroy();
    await s.stop();
  });
  const closeAll = async () => {
    for (const c of open.splice(0)) c.destroy();
    await sleep(100);
  };

  test('at the total limit, the longest idle connection is closed for a new client', async () => {
    const idle = [];
    for (const addr of ['127.0.0.1', '127.0.0.1', '127.0.0.2', '127.0.0.2', '127.0.0.3']) idle.push(await idleConnection(s, addr));
    open.push(...idle.map((c) => c.sock));
    assert.match(await served(s, '127.0.0.4'), /^HTTP\/1\.1 200 OK/);
    await idle[0]?.closed; // the oldest idle one
    for (const c of idle.slice(1)) assert.equal(c.sock.destroyed, false);
    await closeAll();
  });

  test('at the per-address limit, that address loses its own longest idle connection', async () => {
    const idle = [];
    for (let i = 0; i < 3; i++) idle.push(await idleConnection(s, '127.0.0.1'));
    const other = await idleConnection(s, '127.0.0.2');
    open.push(...idle.map((c) => c.sock), other.sock);
    assert.match(await served(s, '127.0.0.1'), /^HTTP\/1\.1 200 OK/);
    await idle[0]?.closed;
    assert.equal(other.sock.destroyed, false, 'another address keeps its connection');
    await closeAll();
  });

  test('an address whose connections are all busy is refused; other addresses still get in', async () => {
    for (let i = 0; i < 3; i++) open.push(await busyConnection(s, '127.0.0.1'));
    await assert.rejects(connectFrom(s, '127.0.0.1'));
    assert.match(await served(s, '127.0.0.2'), /^HTTP\/1\.1 200 OK/);
    const m = await send(s.port, { ca: s.caPem, method: 'GET', path: '/metrics' }).catch(() => undefined);
    assert.equal(m, undefined, 'send() connects from 127.0.0.1 too: refused');
    await closeAll();
    assert.match(await served(s, '127.0.0.1'), /^HTTP\/1\.1 200 OK/, 'served again once its connections close');
  });
});

describe('shutdown delay', () => {
  test('after stop begins: not ready at once, new connections still served during the delay, refused after it', async () => {
    const s = await startTestServer({ profiles: TEST_PROFILES, shutdownDelayMs: 800 });
    const stopped = s.running.shutdown('test');
    const ready = await send(s.port, { ca: s.caPem, method: 'GET', path: '/readyz' });
    assert.equal(ready.status, 503);
    const r = await send(s.port, { ca: s.caPem, body: JSON.stringify(review(pod())) });
    assert.equal(r.status, 200);
    assert.equal(r.headers.connection, 'close', 'answers while stopping retire their connection');
    await sleep(1200);
    await assert.rejects(send(s.port, { ca: s.caPem, method: 'GET', path: '/healthz' }), /ECONNREFUSED/);
    assert.equal(await stopped, 0);
    await s.stop();
  });
});

describe('TLS: AEAD suites only, no client renegotiation (real openssl clients)', () => {
  let s: TestServer;
  const certs = makeCerts();
  const healthz = 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';
  before(async () => {
    s = await startTestServer({ profiles: TEST_PROFILES, certs });
  });
  after(async () => {
    await s.stop();
  });

  for (const cipher of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
    test(`TLS 1.2 ${cipher} is served`, async () => {
      const out = await sClient(s.port, ['-tls1_2', '-cipher', cipher, '-ign_eof'], [healthz]);
      assert.match(out, new RegExp(`Cipher is ${cipher}`));
      assert.match(out, /HTTP\/1\.1 200 OK/);
    });
  }

  test('TLS 1.3 is served', async () => {
    const out = await sClient(s.port, ['-tls1_3', '-ign_eof'], [healthz]);
    assert.match(out, /New, TLSv1\.3, Cipher is TLS_/);
    assert.match(out, /HTTP\/1\.1 200 OK/);
  });

  // CBC suites (SHA-1 and SHA-2 MACs) and static RSA key exchange: the handshake fails.
  for (const cipher of ['AES128-SHA', 'ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA384']) {
    test(`TLS 1.2 ${cipher} is refused`, async () => {
      const out = await sClient(s.port, ['-tls1_2', '-cipher', cipher], [healthz]);
      assert.match(out, /Cipher is \(NONE\)/);
      assert.doesNotMatch(out, /HTTP\/1\.1/);
    });
  }

  test('a reloaded certificate keeps the same policy: CBC refused, renegotiation refused', async () => {
    const fingerprint = async () => {
      const sock = await raw(s);
      const f = sock.getPeerCertificate().fingerprint256;
      sock.destroy();
      return f;
    };
    const before = await fingerprint();
    const next = makeCerts(certs.ca);
    writeFileSync(join(s.certDir, 'tls.crt'), next.certPem);
    writeFileSync(join(s.certDir, 'tls.key'), next.keyPem);
    // A change is loaded once the files have stayed the same for the quiet period (settle.ts).
    let now = before;
    for (const end = Date.now() + 10_000; now === before && Date.now() < end; now = await fingerprint()) {
      await s.running.recheck();
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.notEqual(now, before, 'the new certificate is served');
    assert.match(await sClient(s.port, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA'], [healthz]), /Cipher is \(NONE\)/);
    const reneg = await sClient(s.port, ['-tls1_2'], ['R\n', healthz], 500);
    assert.match(reneg, /no renegotiation/);
    assert.match(await sClient(s.port, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256', '-ign_eof'], [healthz]), /HTTP\/1\.1 200 OK/);
  });

  test('a client-initiated renegotiation is refused; nothing is served after it', async () => {
    const out = await sClient(s.port, ['-tls1_2'], ['R\n', healthz], 500);
    assert.match(out, /RENEGOTIATING/);
    assert.match(out, /no renegotiation/);
    assert.doesNotMatch(out, /HTTP\/1\.1 200/);
  });
});

test('isJsonContentType', () => {
  assert.equal(isJsonContentType('application/json'), true);
  assert.equal(isJsonContentType('Application/JSON; charset=UTF-8'), true);
  assert.equal(isJsonContentType('application/json;charset="utf-8"'), true);
  assert.equal(isJsonContentType('application/json-patch+json'), false);
  assert.equal(isJsonContentType('application/json; charset=latin1'), false);
  assert.equal(isJsonContentType(undefined), false);
});
