/**
 * SIGTERM to a real `outrigger serve` child process under load. The clients model what the API
 * server sees while the pod's endpoint is removed: they keep sending on their keep-alive
 * connections until they learn the process is draining (a `Connection: close` answer or a failed
 * readiness probe), then stop. Zero requests may fail, a request half-sent at SIGTERM must complete,
 * new connections are refused only after readiness went false, and the process exits 0.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:tls';
import { EXAMPLE_PROFILES, makeCerts, pod, review, send, tempDir } from '../../test/support/webhook.ts';
import type { JsonObject } from '../engine/index.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const NODE = process.execPath;

/** `outrigger serve ARGS` through the CLI's executable. */
function serveCommand(args: string[]): string[] {
  return [join(ROOT, 'src/cli/main.ts'), 'serve', ...args];
}

interface Child {
  proc: ChildProcess;
  port: number;
  lines: Record<string, unknown>[];
  exit: Promise<{ code: number | null; at: number }>;
}

async function startChild(args: string[]): Promise<Child> {
  const proc = spawn(NODE, serveCommand(args), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exit = new Promise<{ code: number | null; at: number }>((resolve) => proc.on('exit', (code) => resolve({ code, at: Date.now() })));
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    proc.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let i = buf.indexOf('\n');
      while (i >= 0) {
        const line = JSON.parse(buf.slice(0, i));
        lines.push(line);
        if (line.msg === 'listening') resolve(line.port);
        buf = buf.slice(i + 1);
        i = buf.indexOf('\n');
      }
    });
    void exit.then(({ code }) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  return { proc, port, lines, exit };
}

test('SIGTERM under load: not ready at once, requests in flight complete, no request fails, exit 0', async () => {
  const { dir, cleanup } = tempDir();
  const certs = makeCerts();
  writeFileSync(join(dir, 'tls.crt'), certs.certPem);
  writeFileSync(join(dir, 'tls.key'), certs.keyPem);
  const child = await startChild([
    '--profiles',
    EXAMPLE_PROFILES,
    '--tls-cert',
    join(dir, 'tls.crt'),
    '--tls-key',
    join(dir, 'tls.key'),
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--drain-timeout',
    '8s',
  ]);
  const ca = certs.ca.certPem;
  const body = JSON.stringify(review(pod({ 'outrigger.dev/inject': 'log-shipper, envoy' })));
  const events: { at: number; what: string }[] = [];
  let draining = false;
  let ok = 0;
  const failures: string[] = [];

  // Readiness, watched two ways: on a kept-alive connection (it must answer 503 once draining, not
  // drop), and the kubelet's way, a new connection per probe (refused once the listener is closed).
  const probeAgent = new Agent({ keepAlive: true, ca, maxSockets: 1 });
  let sawNotReady = false;
  const probes = (async () => {
    while (!sawNotReady) {
      try {
        const r = await send(child.port, { agent: probeAgent, method: 'GET', path: '/readyz' });
        if (r.status !== 200) {
          events.push({ at: Date.now(), what: `readyz ${r.status}` });
          sawNotReady = true;
          draining = true;
        }
      } catch (e) {
        events.push({ at: Date.now(), what: `kept-alive probe ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
        sawNotReady = true;
        draining = true;
      }
      if (draining) continue;
      try {
        await send(child.port, { ca, method: 'GET', path: '/readyz' });
      } catch (e) {
        events.push({ at: Date.now(), what: `new-connection probe ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
        draining = true;
      }
      await sleep(20);
    }
  })();

  // Four API-server-like clients on keep-alive connections.
  const clients = Array.from({ length: 4 }, async () => {
    const agent = new Agent({ keepAlive: true, ca, maxSockets: 1 });
    while (!draining) {
      try {
        const r = await send(child.port, { agent, body });
        const resp = r.json().response as JsonObject;
        if (r.status !== 200 || resp.allowed !== true || typeof resp.patch !== 'string') throw new Error(`HTTP ${r.status} ${r.text.slice(0, 100)}`);
        ok++;
        if (r.headers.connection === 'close') {
          events.push({ at: Date.now(), what: 'connection: close' });
          draining = true;
        }
      } catch (e) {
        failures.push(`${Date.now()}: ${(e as Error).message}`);
      }
    }
    agent.destroy();
  });

  while (ok < 200) await sleep(10);

  // A request in flight at SIGTERM: headers and half the body sent.
  const half = Math.floor(body.length / 2);
  const inflight = connect({ host: '127.0.0.1', port: child.port, servername: 'localhost', ca });
  await new Promise((r) => inflight.once('secureConnect', r));
  let inflightReply = '';
  inflight.on('data', (d: Buffer) => {
    inflightReply += d.toString();
  });
  const inflightClosed = new Promise((r) => inflight.on('close', r));
  inflight.write(
    `POST /mutate?timeout=10s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`,
  );
  await sleep(50);

  const termAt = Date.now();
  child.proc.kill('SIGTERM');
  await sleep(300);
  inflight.write(body.slice(half));
  await inflightClosed;
  await Promise.all([...clients, probes]);

  // After the drain began: a new connection is refused.
  await assert.rejects(send(child.port, { ca, method: 'GET', path: '/healthz' }), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
  probeAgent.destroy();
  const { code, at } = await child.exit;
  cleanup();

  assert.deepEqual(failures, [], 'no request failed');
  assert.match(inflightReply, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(inflightReply, /\r\nConnection: close\r\n/i);
  const inflightBody = JSON.parse(inflightReply.slice(inflightReply.indexOf('\r\n\r\n') + 4));
  assert.equal(inflightBody.response.allowed, true);
  assert.equal(typeof inflightBody.response.patch, 'string');

  // Readiness went false (seen on a live connection, answered 503, not dropped); connections were refused only after SIGTERM.
  assert.ok(
    events.some((e) => e.what === 'readyz 503' && e.at >= termAt),
    JSON.stringify(events),
  );
  assert.ok(
    events.every((e) => !e.what.includes('ECONNREFUSED') || e.at >= termAt),
    JSON.stringify(events),
  );

  assert.equal(code, 0, 'exit 0 after a clean drain');
  assert.ok(at - termAt < 8000, `exited ${at - termAt} ms after SIGTERM`);
  const msgs = child.lines.map((l) => l.msg);
  assert.ok(msgs.includes('shutting down: not ready, draining') && msgs.at(-1) === 'stopped', JSON.stringify(msgs.slice(-3)));
  assert.ok(ok > 200);
});

test('serve: startup errors exit with their code and a clear message', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
        const p = spawn(NODE, serveCommand(args), { cwd: ROOT });
        let stderr = '';
        let stdout = '';
        p.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        p.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
        });
        p.on('exit', (code) => resolve({ code, stderr, stdout }));
      });
    const usage = await run(['--tls-cert', 'x']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /missing --profiles, --tls-key/);
    const certs = makeCerts();
    writeFileSync(join(dir, 'tls.crt'), certs.certPem);
    writeFileSync(join(dir, 'other.key'), makeCerts().keyPem);
    writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: outrigger.dev/v1alpha1\nkind: SidecarProfile\nmetadata: {name: x}\nspec: {}\n');
    const mismatch = await run(['--profiles', EXAMPLE_PROFILES, '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'other.key'), '--port', '0']);
    assert.equal(mismatch.code, 3);
    assert.match(mismatch.stderr, /other\.key does not match certificate/);
    assert.equal(JSON.parse(mismatch.stdout.split('\n')[0] as string).msg, 'cannot start: unusable certificate or key');
    const badProfiles = await run(['--profiles', join(dir, 'bad.yaml'), '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'other.key')]);
    assert.equal(badProfiles.code, 3);
    assert.match(badProfiles.stderr, /bad\.yaml/);
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: outrigger serve/);
  } finally {
    cleanup();
  }
});
