// Who may call what. Any pod can reach the webhook port: from there neither /explain nor verbose
// readiness answers, however the path is spelled; /explain on the admin listener never gives an
// env value back; /mutate answers a forged review only without --client-ca, and then says so;
// a client CA that is not a CA is refused at start and on reload.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateCA, generateServingCert } from '../../src/tls/certs.ts';
import { profileYaml } from '../support/profiles.ts';
import { decodePatch, EXAMPLE_PROFILES, pod, review, send, tempDir } from '../support/webhook.ts';
import { assertWithinBudget, rawTls, startTarget, type Target, underAttack } from './support.ts';

const TOKEN = 'tok-5d1e0c-tenant-secret';
const VAULT = profileYaml('vault-agent', {
  version: '1.0.0',
  sidecarMode: 'native',
  containers: [{ name: 'vault-agent', image: 'example.com/vault:1', env: [{ name: 'API_TOKEN', value: TOKEN }] }],
  env: [{ name: 'VAULT_TOKEN', value: TOKEN }],
});
// log-shipper: the profile the harness's probe review asks for.
const profiles = () => ({ 'log-shipper.yaml': readFileSync(join(EXAMPLE_PROFILES, 'log-shipper.yaml'), 'utf8'), 'vault.yaml': VAULT });
const ROUNDS = 10;
const adminPort = (t: Target) => t.logs.find((l) => l.msg === 'listening')?.adminPort as number;
const vaultPod = () => pod({ 'outrigger.dev/inject': 'vault-agent' });

describe('an unauthenticated caller on the webhook port', () => {
  let t: Target;
  before(async () => {
    t = await startTarget({ profiles: profiles() });
  });
  after(() => t.stop());

  test('gets neither /explain nor verbose readiness, however it asks, while the webhook keeps answering', async () => {
    const explainBody = JSON.stringify(vaultPod());
    const asks: { method: string; path: string; headers?: Record<string, string>; body?: string }[] = [
      { method: 'POST', path: '/explain', body: explainBody },
      { method: 'POST', path: '/explain?namespace=shop', body: explainBody },
      { method: 'POST', path: '/explain/', body: explainBody },
      { method: 'POST', path: '//explain', body: explainBody },
      { method: 'POST', path: '/EXPLAIN', body: explainBody },
      { method: 'POST', path: '/%65xplain', body: explainBody },
      { method: 'POST', path: '/./explain', body: explainBody },
      { method: 'POST', path: '/explain', body: JSON.stringify(review(vaultPod())) },
      { method: 'GET', path: '/readyz?verbose' },
      { method: 'GET', path: '/readyz?verbose=1' },
      { method: 'GET', path: '/readyz', headers: { Accept: 'application/json' } },
      { method: 'GET', path: '/readyz?x=1&verbose', headers: { Accept: 'text/plain, application/json;q=0.1' } },
      { method: 'HEAD', path: '/readyz?verbose' },
    ];
    // One request at a time, paced, from one kept-alive connection as a pod's client would: what is
    // attacked here is the routing, not capacity, and the probes are timed in this process too, so
    // client-side TLS work here would be measured as the server's.
    const agent = new Agent({ keepAlive: true, ca: t.caPem, maxSockets: 1 });
    const answers: { ask: string; status: number; text: string }[] = [];
    const { watch } = await underAttack(t, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        for (const a of asks) {
          const r = await send(t.port, {
            agent,
            method: a.method,
            path: a.path,
            ...(a.headers ? { headers: a.headers } : {}),
            ...(a.body ? { body: a.body } : {}),
          });
          answers.push({ ask: `${a.method} ${a.path} ${JSON.stringify(a.headers ?? {})}`, status: r.status, text: r.text });
          await sleep(5);
        }
      }
    });
    agent.destroy();
    console.error(
      `auth: ${answers.length} refused asks; ${watch.probes} probes, longest /healthz ${watch.maxHealthzMs.toFixed(1)} ms, review ${watch.maxReviewMs.toFixed(1)} ms, peak RSS ${(watch.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
    );
    assertWithinBudget(watch);
    assert.equal(answers.length, asks.length * ROUNDS);
    for (const a of answers) {
      assert.equal(a.status, 404, `${a.ask}: ${a.text.slice(0, 200)}`);
      for (const secret of [TOKEN, 'vault-agent', 'VAULT_TOKEN', 'apiServer', 'lastReloadError'])
        assert.ok(!a.text.includes(secret), `${a.ask} leaked ${secret}`);
    }
    const canonical = answers.find((a) => a.ask.startsWith('POST /explain {}'));
    assert.match(canonical?.text ?? '', /served on the admin listener \(--admin-address\)/);
  });

  test('an absolute-form request target (proxy style) is refused too', async () => {
    const s = await rawTls(t);
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => {
      text += c;
    });
    const body = JSON.stringify(vaultPod());
    s.write(
      `POST https://localhost/explain HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    s.write('GET https://localhost/readyz?verbose HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    await new Promise((r) => s.once('close', r));
    assert.equal(text.match(/HTTP\/1\.1 404 /g)?.length, 2, text);
    assert.ok(!text.includes(TOKEN) && !text.includes('vault-agent'), text);
  });

  test('the admin listener is on loopback only, and there /explain never gives an env value back', async () => {
    assert.equal(t.logs.find((l) => l.msg === 'listening')?.adminHost, '127.0.0.1');
    for (const body of [vaultPod(), review(vaultPod())]) {
      const r = await send(adminPort(t), { ca: t.caPem, path: '/explain', body: JSON.stringify(body) });
      assert.equal(r.status, 200, r.text);
      assert.ok(!r.text.includes(TOKEN), r.text);
      assert.match(r.text, /"name": "VAULT_TOKEN",\s+"value": "\(redacted\)"/);
      const response = (r.json().response as { response?: { patch?: string } } | undefined)?.response;
      if (response?.patch) assert.ok(!JSON.stringify(decodePatch(response.patch)).includes(TOKEN), 'the would-be response patch is redacted too');
    }
    // /mutate is the API server's: its patch must carry the value, or the sidecar would not work.
    const m = await send(t.port, { ca: t.caPem, body: JSON.stringify(review(vaultPod())) });
    assert.ok(JSON.stringify(decodePatch((m.json().response as { patch: string }).patch)).includes(TOKEN));
  });
});

// The exposure boundary. A pod that reaches the webhook port forges a review naming another
// namespace. Without --client-ca it is answered like the API server (what the profile injects,
// env values included), and Outrigger says so at start and in a gauge; with --client-ca it is
// refused before any profile is rendered, and only the API server's certificate is answered.
describe('a forged review naming another namespace, from a caller without a client certificate', () => {
  const forged = () => JSON.stringify(review(vaultPod(), { namespace: 'acme', uid: 'f0f0f0f0-0000-4000-8000-000000000001' }));
  const gauge = async (t: Target) =>
    (await send(t.port, { ca: t.caPem, method: 'GET', path: '/metrics' })).text.match(/^outrigger_client_authentication_enabled (\d)$/m)?.[1];

  test('without --client-ca: answered with the rendered profile, and Outrigger warned at start and shows it in a gauge', async () => {
    const t = await startTarget({ profiles: profiles() });
    try {
      const r = await send(t.port, { ca: t.caPem, body: forged() });
      assert.equal(r.status, 200, r.text);
      assert.ok(
        JSON.stringify(decodePatch((r.json().response as { patch: string }).patch)).includes(TOKEN),
        'this is what any pod that reaches the port learns',
      );
      const warnings = t.logs.filter((l) => l.level === 'warn' && /answers any caller/.test(String(l.msg)));
      assert.equal(warnings.length, 1, `warnings logged: ${JSON.stringify(t.logs.filter((l) => l.level === 'warn').map((l) => l.msg))}`);
      assert.match(String(warnings[0]?.msg), /every profile would inject.*env values.*any namespace/);
      assert.equal(await gauge(t), '0');
    } finally {
      await t.stop();
    }
  });

  test('with --client-ca: 401 and no data, however often it asks; the API server is still answered', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'client-ca.crt');
    const clients = generateCA({ commonName: 'clients' });
    writeFileSync(file, clients.certPem);
    const t = await startTarget({ profiles: profiles(), args: ['--client-ca', file] });
    try {
      // Paced, one at a time: what is attacked is who may be answered, not capacity.
      const answers: { status: number; text: string }[] = [];
      for (let i = 0; i < ROUNDS * 5; i++) {
        const r = await send(t.port, { ca: t.caPem, body: forged() });
        answers.push({ status: r.status, text: r.text });
        await sleep(5);
      }
      assert.equal(answers.length, ROUNDS * 5);
      for (const a of answers) {
        assert.equal(a.status, 401, a.text);
        for (const secret of [TOKEN, 'vault-agent', 'patch']) assert.ok(!a.text.includes(secret), `leaked ${secret}: ${a.text}`);
      }
      const apiserver = generateServingCert({ ca: clients, commonName: 'kube-apiserver', dnsNames: ['kube-apiserver'], client: true });
      const real = await send(t.port, { ca: t.caPem, cert: apiserver.certPem, key: apiserver.keyPem, body: forged() });
      assert.equal(real.status, 200, real.text);
      assert.ok(JSON.stringify(decodePatch((real.json().response as { patch: string }).patch)).includes(TOKEN));
      assert.equal(t.logs.filter((l) => /answers any caller/.test(String(l.msg))).length, 0, 'no warning when callers are authenticated');
      const metrics = await send(t.port, { ca: t.caPem, cert: apiserver.certPem, key: apiserver.keyPem, method: 'GET', path: '/metrics' });
      assert.match(metrics.text, /^outrigger_client_authentication_enabled 1$/m);
    } finally {
      await t.stop();
      tmp.cleanup();
    }
  });
});

describe('a client CA that is not a CA', () => {
  test('is refused at start, naming the file', async () => {
    const tmp = tempDir();
    try {
      const file = join(tmp.dir, 'client-ca.crt');
      const ca = generateCA({ commonName: 'clients' });
      writeFileSync(file, generateServingCert({ ca, commonName: 'a-leaf', dnsNames: ['a-leaf'] }).certPem);
      // A server that does start is stopped at once, so a failing test leaves nothing behind.
      await assert.rejects(
        startTarget({ args: ['--client-ca', file] }).then((t) => t.stop()),
        /exited \(3\)[\s\S]*client CA .*client-ca\.crt: the certificate \(CN=a-leaf\) is not a CA certificate/,
      );
    } finally {
      tmp.cleanup();
    }
  });

  test('is refused on reload: the previous CA keeps authenticating, the refusal is logged and counted', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'client-ca.crt');
    const clients = generateCA({ commonName: 'clients' });
    writeFileSync(file, clients.certPem);
    const t = await startTarget({ args: ['--client-ca', file, '--reload-interval', '200ms'] });
    try {
      const apiserver = generateServingCert({ ca: clients, commonName: 'kube-apiserver', dnsNames: ['kube-apiserver'], client: true });
      const mutate = () => send(t.port, { ca: t.caPem, cert: apiserver.certPem, key: apiserver.keyPem, body: JSON.stringify(review(pod())) });
      assert.equal((await mutate()).status, 200);
      writeFileSync(file, apiserver.certPem);
      const deadline = Date.now() + 15_000;
      const refused = () => t.logs.find((l) => l.msg === 'tls reload failed; still serving the previous certificate');
      while (!refused() && Date.now() < deadline) await sleep(50);
      assert.match(String(refused()?.error), /client CA .*client-ca\.crt: the certificate \(CN=kube-apiserver\) is not a CA certificate/);
      assert.equal((await mutate()).status, 200, 'the previous client CA still authenticates');
      const anonymous = await send(t.port, { ca: t.caPem, body: JSON.stringify(review(pod())) });
      assert.equal(anonymous.status, 401);
      const metrics = (await send(t.port, { ca: t.caPem, method: 'GET', path: '/metrics' })).text;
      assert.match(metrics, /outrigger_tls_reloads_total\{result="failure"\} 1/);
      assert.match(metrics, /outrigger_tls_last_reload_successful 0/);
    } finally {
      await t.stop();
      tmp.cleanup();
    }
  });
});
