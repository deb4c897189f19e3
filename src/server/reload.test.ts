/**
 * Reloading under load: clients keep sending over keep-alive (and some over new connections)
 * while the certificate is rotated with the Secret-volume symlink swap, a broken pair is written,
 * and profiles are edited well and badly. Not one request may fail.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { profileYaml } from '../../test/support/profiles.ts';
import {
  decodePatch,
  makeCerts,
  pod,
  review,
  send,
  startTestServer,
  type TestCerts,
  type TestServer,
  tempDir,
  writeSecretVolume,
} from '../../test/support/webhook.ts';
import type { JsonObject } from '../engine/index.ts';
import { generateCA } from '../tls/certs.ts';
import { createLogger } from './log.ts';
import { createWebhookMetrics } from './metrics.ts';
import { readTlsMaterial, startTlsReloader } from './tls-reloader.ts';

const probe = (version: string, image: string) =>
  profileYaml('probe', { version, sidecarMode: 'classic', failurePolicy: 'ignore', containers: [{ name: 'probe', image }] });

interface Load {
  stop(): Promise<{ ok: number; failures: string[]; images: Set<string> }>;
  sent(): number;
}

/** `clients` loops over keep-alive connections, plus one that opens a new connection per request. */
function load(s: TestServer, ca: string, clients = 4): Load {
  let running = true;
  let ok = 0;
  const failures: string[] = [];
  const images = new Set<string>();
  const body = JSON.stringify(review(pod({ 'outrigger.dev/inject': 'probe' })));
  const one = async (agent: Agent | false) => {
    try {
      const r = await send(s.port, agent ? { agent, body } : { ca, body });
      const resp = r.json().response as JsonObject;
      if (r.status !== 200 || resp.allowed !== true) throw new Error(`HTTP ${r.status}: ${r.text.slice(0, 200)}`);
      const ops = decodePatch(resp.patch) as { path: string; value: JsonObject }[];
      images.add(String(ops.find((o) => o.path === '/spec/containers/1')?.value.image));
      ok++;
    } catch (e) {
      failures.push((e as Error).message);
    }
  };
  const loops = [
    ...Array.from({ length: clients }, async () => {
      const agent = new Agent({ keepAlive: true, ca, maxSockets: 1 });
      while (running) await one(agent);
      agent.destroy();
    }),
    (async () => {
      while (running) {
        await one(false);
        await sleep(5);
      }
    })(),
  ];
  return {
    sent: () => ok + failures.length,
    async stop() {
      running = false;
      await Promise.all(loops);
      return { ok, failures, images };
    },
  };
}

/** The SHA-256 fingerprint of the certificate a new connection is served. */
function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, path: '/healthz', ca, agent: false }, (res) => {
      const fp = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
      res.resume();
      res.on('end', () => resolve(fp));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
}

const verbose = async (s: TestServer) => (await send(s.adminPort, { agent: s.agent, method: 'GET', path: '/readyz?verbose' })).json() as JsonObject;
const metric = async (s: TestServer, series: string) => {
  const text = (await send(s.port, { agent: s.agent, method: 'GET', path: '/metrics' })).text;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('certificate rotation under load', () => {
  let s: TestServer;
  let certs: TestCerts;
  before(async () => {
    certs = makeCerts();
    s = await startTestServer({ certs, secretVolume: true, pollMs: 60_000, settleMs: 200, profiles: { 'probe.yaml': probe('1.0.0', 'example.com/probe:1') } });
  });
  after(async () => {
    await s.stop();
  });

  test('a new pair via the ..data symlink swap: new connections get it, no request fails', async () => {
    const before = await servedFingerprint(s.port, s.caPem);
    const l = load(s, s.caPem);
    await until('some traffic', () => l.sent() > 50);
    const next = makeCerts(certs.ca);
    writeSecretVolume(s.certDir, 'v2', { 'tls.crt': next.certPem, 'tls.key': next.keyPem });
    await until('the new certificate on new connections', async () => (await servedFingerprint(s.port, s.caPem)) !== before);
    const sentAtSwap = l.sent();
    await until('traffic after the swap', () => l.sent() > sentAtSwap + 100);
    const { ok, failures } = await l.stop();
    assert.deepEqual(failures, []);
    assert.ok(ok > 150, `${ok}`);
    assert.equal(await metric(s, 'outrigger_tls_reloads_total{result="success"}'), 2);
    assert.ok(s.logs.find('tls certificate reloaded').length === 1);
  });

  test('a broken pair (key of another certificate) keeps the old one, logged and counted; a good one then loads', async () => {
    const served = await servedFingerprint(s.port, s.caPem);
    const l = load(s, s.caPem);
    const a = makeCerts(certs.ca);
    const b = makeCerts(certs.ca);
    writeSecretVolume(s.certDir, 'v3', { 'tls.crt': a.certPem, 'tls.key': b.keyPem });
    await until('the failure to be reported', async () => (await metric(s, 'outrigger_tls_reloads_total{result="failure"}')) === 1);
    assert.equal(await servedFingerprint(s.port, s.caPem), served);
    const detail = (await verbose(s)).tls as JsonObject;
    assert.match(String((detail.lastReloadError as JsonObject).error), /does not match certificate/);
    assert.equal(await metric(s, 'outrigger_tls_last_reload_successful'), 0);
    const err = s.logs.find('tls reload failed; still serving the previous certificate');
    assert.equal(err.length, 1);
    assert.match(String(err[0]?.error), /key .*tls\.key does not match certificate .*tls\.crt/);

    writeSecretVolume(s.certDir, 'v4', { 'tls.crt': 'not a certificate', 'tls.key': b.keyPem });
    await until('the second failure', async () => (await metric(s, 'outrigger_tls_reloads_total{result="failure"}')) === 2);
    writeSecretVolume(s.certDir, 'v5', { 'tls.crt': b.certPem, 'tls.key': b.keyPem });
    await until('the good pair', async () => (await servedFingerprint(s.port, s.caPem)) !== served);
    assert.equal((((await verbose(s)).tls as JsonObject).lastReloadError as unknown) ?? null, null);
    assert.equal(await metric(s, 'outrigger_tls_last_reload_successful'), 1);
    const { failures, ok } = await l.stop();
    assert.deepEqual(failures, []);
    assert.ok(ok > 20);
  });
});

describe('profile edits under load', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ profilesVolume: true, pollMs: 60_000, settleMs: 200, profiles: { 'probe.yaml': probe('1.0.0', 'example.com/probe:1') } });
  });
  after(async () => {
    await s.stop();
  });

  test('a good edit is served once the files are quiet, a bad edit keeps the last good set (logs, metrics, /readyz), no request fails', async () => {
    const l = load(s, s.caPem);
    await until('some traffic', () => l.sent() > 50);

    writeSecretVolume(s.profilesDir, 'v2', { 'probe.yaml': probe('1.1.0', 'example.com/probe:2') });
    await until('the new profile version', async () => {
      const r = await send(s.port, { agent: s.agent, body: JSON.stringify(review(pod({ 'outrigger.dev/inject': 'probe' }))) });
      return JSON.stringify(decodePatch((r.json().response as JsonObject).patch)).includes('example.com/probe:2');
    });
    assert.equal(await metric(s, 'outrigger_profiles_reloads_total{result="success"}'), 2);

    writeSecretVolume(s.profilesDir, 'v3', {
      'probe.yaml': 'apiVersion: outrigger.dev/v1alpha1\nkind: SidecarProfile\nmetadata: {name: probe}\nspec: {version: 3, containers: [}\n',
    });
    await until('the failure to be reported', async () => (await metric(s, 'outrigger_profiles_reloads_total{result="failure"}')) === 1);
    const ready = await send(s.port, { agent: s.agent, method: 'GET', path: '/readyz' });
    assert.equal(ready.status, 200, 'still ready: a good set is loaded');
    const detail = (await verbose(s)).profiles as JsonObject;
    assert.deepEqual(detail.loaded, ['probe@1.1.0']);
    const errors = (detail.lastReloadError as JsonObject).errors as string[];
    assert.ok(errors.length > 0 && errors.every((e) => e.includes('probe.yaml')), JSON.stringify(errors));
    assert.equal(await metric(s, 'outrigger_profiles_last_reload_successful'), 0);
    assert.equal(s.logs.find('profile reload failed; still serving the previous profiles').length, 1);

    // A schema error (valid YAML, invalid profile) is refused the same way.
    writeSecretVolume(s.profilesDir, 'v4', { 'probe.yaml': profileYaml('probe', { version: '9', containers: [{ name: 'Bad_Name', image: 'x' }] }) });
    await until('the second failure', async () => (await metric(s, 'outrigger_profiles_reloads_total{result="failure"}')) === 2);

    writeSecretVolume(s.profilesDir, 'v5', { 'probe.yaml': probe('1.2.0', 'example.com/probe:3') });
    await until('the fixed profile', async () => ((await verbose(s)).profiles as JsonObject).lastReloadError === null);
    assert.deepEqual(((await verbose(s)).profiles as JsonObject).loaded, ['probe@1.2.0']);
    const { failures, images } = await l.stop();
    assert.deepEqual(failures, []);
    assert.ok(images.has('example.com/probe:1') && images.has('example.com/probe:2') && images.has('example.com/probe:3'), [...images].join());
    assert.ok(!images.has('undefined'));
  });

  test('a plain file edited in place (no volume) is picked up by the directory watch', async () => {
    const t = await startTestServer({ pollMs: 60_000, settleMs: 100, profiles: { 'probe.yaml': probe('1.0.0', 'example.com/probe:1') } });
    try {
      const { writeFileSync, renameSync } = await import('node:fs');
      writeFileSync(`${t.profilesDir}/.probe.yaml.tmp`, probe('5.0.0', 'example.com/probe:5'));
      renameSync(`${t.profilesDir}/.probe.yaml.tmp`, `${t.profilesDir}/probe.yaml`);
      await until('the edit (no poll: the watch alone)', async () => {
        const d = (await verbose(t)).profiles as JsonObject;
        return JSON.stringify(d.loaded) === '["probe@5.0.0"]';
      });
    } finally {
      await t.stop();
    }
  });
});

describe('certificate reloader: what it loads', () => {
  test('a client CA bundle caught half-written (one CA of two, still valid PEM) is not loaded until the files are quiet', async () => {
    const { dir, cleanup } = tempDir('tls-quiet-');
    const certs = makeCerts();
    const bundle = `${certs.ca.certPem}${generateCA({ commonName: 'second-client-ca' }).certPem}`;
    const files = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), clientCaFile: join(dir, 'ca.crt') };
    writeFileSync(files.certFile, certs.certPem);
    writeFileSync(files.keyFile, certs.keyPem);
    writeFileSync(files.clientCaFile, certs.ca.certPem);
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const metrics = createWebhookMetrics();
    const applied: string[] = [];
    const r = startTlsReloader({
      files,
      initial: await readTlsMaterial(files),
      apply: (m) => applied.push(m.ca?.toString('utf8') ?? ''),
      log: createLogger(new PassThrough(), { level: 'error' }),
      metrics,
      pollMs: 60_000,
      settleMs: 1000,
      now: () => new Date(clock),
    });
    try {
      // The writer has written the first CA of the new two-CA bundle (a valid PEM file by itself).
      writeFileSync(files.clientCaFile, `${certs.ca.certPem}\n`);
      await r.check();
      clock += 999;
      await r.check();
      assert.deepEqual(applied, [], 'not quiet for the settle time yet');
      writeFileSync(files.clientCaFile, bundle);
      await r.check();
      clock += 1000;
      await r.check();
      assert.deepEqual(applied, [bundle], 'the whole bundle, once quiet');
      assert.equal(r.state.current.ca?.toString('utf8'), bundle);
    } finally {
      r.stop();
      metrics.stop();
      cleanup();
    }
  });
});

describe('certificate reloader: random in-place writes', () => {
  for (const seed of [1, 2, 3]) {
    test(`seed ${seed}: nothing is applied while the files keep changing; once quiet, the pair served is the pair on disk (or the old one, with the error)`, async () => {
      let a = seed >>> 0;
      const rand = () => {
        a = (a * 1103515245 + 12345) >>> 0;
        return a / 4294967296;
      };
      const { dir, cleanup } = tempDir('tls-prop-');
      const ca = makeCerts().ca;
      const pairs = Array.from({ length: 3 }, () => makeCerts(ca));
      const files = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
      writeFileSync(files.certFile, pairs[0]?.certPem ?? '');
      writeFileSync(files.keyFile, pairs[0]?.keyPem ?? '');
      let clock = Date.parse('2026-01-01T00:00:00Z');
      const metrics = createWebhookMetrics();
      const applied: string[] = [];
      const r = startTlsReloader({
        files,
        initial: await readTlsMaterial(files),
        apply: (m) => applied.push(m.certFingerprint),
        log: createLogger(new PassThrough(), { level: 'error' }),
        metrics,
        pollMs: 60_000,
        settleMs: 1000,
        now: () => new Date(clock),
      });
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
      try {
        for (let round = 0; round < 6; round++) {
          const before = applied.length;
          for (let i = 0, n = 1 + Math.floor(rand() * 8); i < n; i++) {
            const p = pick(pairs);
            const [file, text] = rand() < 0.5 ? [files.certFile, p.certPem] : [files.keyFile, p.keyPem];
            // Whole, or cut short (a write caught halfway).
            writeFileSync(file, rand() < 0.5 ? text : text.slice(0, Math.floor(rand() * text.length)));
            clock += Math.floor(rand() * 300);
            await r.check();
          }
          assert.equal(applied.length, before, `round ${round}: nothing applied while the files change`);
          await r.check();
          clock += 1000;
          await r.check();
          const disk = await readTlsMaterial(files).catch((e: Error) => e);
          if (disk instanceof Error) assert.ok(r.state.lastError, `round ${round}: a broken pair is reported`);
          else {
            assert.equal(r.state.current.fingerprint, disk.fingerprint, `round ${round}: served = disk`);
            assert.equal(r.state.lastError, undefined);
          }
        }
      } finally {
        r.stop();
        metrics.stop();
        cleanup();
      }
    });
  }
});
