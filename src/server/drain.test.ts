import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { LogSink, makeCerts } from '../../test/support/webhook.ts';
import { createDrain, type DrainOptions } from './drain.ts';
import { createLogger } from './log.ts';
import { createWebhookMetrics } from './metrics.ts';

/** A real HTTPS listener whose requests are held open until `answer` is called. */
async function listener() {
  const certs = makeCerts();
  const held: import('node:http').ServerResponse[] = [];
  const server = createServer({ cert: certs.certPem, key: certs.keyPem }, (_req, res) => held.push(res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  /** Sends a request that stays in flight until answered; resolves with its status, or 0 if cut. */
  const inFlight = () =>
    new Promise<number>((resolve) => {
      const req = request({ port, host: '127.0.0.1', path: '/', ca: certs.ca.certPem, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
      req.end();
    });
  const answer = () => {
    for (const r of held.splice(0)) r.end('ok');
  };
  const waitHeld = async (n: number) => {
    while (held.length < n) await new Promise((r) => setTimeout(r, 5));
  };
  return { server, inFlight, answer, waitHeld, handle: { server, setTls: () => {}, destroyAllSockets: () => {} } };
}

function drainOf(l: Awaited<ReturnType<typeof listener>>, o: Partial<DrainOptions> = {}) {
  const logs = new LogSink();
  const log = createLogger(logs, { level: 'debug' });
  const calls: string[] = [];
  const drain = createDrain({
    webhook: l.handle,
    log,
    metrics: createWebhookMetrics(),
    drainTimeoutMs: 5_000,
    shutdownDelayMs: 0,
    onBegin: () => calls.push('begin'),
    release: async () => {
      calls.push('release');
    },
    ...o,
  });
  const msgs = () => {
    log.flush();
    return logs.lines.map((x) => x.msg);
  };
  return { drain, calls, msgs };
}

test('drain: a clean stop waits for the request in flight, then releases and exits 0', async () => {
  const l = await listener();
  const { drain, calls, msgs } = drainOf(l);
  assert.equal(drain.phase(), 'serving');
  assert.equal(drain.draining(), false);
  const answered = l.inFlight();
  await l.waitHeld(1);
  const done = drain.stop('SIGTERM');
  assert.equal(drain.phase(), 'draining');
  assert.equal(drain.draining(), true);
  assert.deepEqual(calls, ['begin']);
  l.answer();
  assert.equal(await answered, 200);
  assert.equal(await done, 0);
  assert.equal(drain.phase(), 'stopped');
  assert.deepEqual(calls, ['begin', 'release']);
  assert.deepEqual(msgs(), ['shutting down: not ready, draining', 'stopped']);
});

test('drain: the shutdown delay keeps accepting while not ready', async () => {
  const l = await listener();
  const { drain } = drainOf(l, { shutdownDelayMs: 100 });
  const done = drain.stop('SIGTERM');
  assert.equal(drain.phase(), 'delaying');
  assert.equal(drain.draining(), true);
  const during = l.inFlight();
  await l.waitHeld(1);
  l.answer();
  assert.equal(await during, 200, 'a connection made during the delay is served');
  assert.equal(await done, 0);
});

test('drain: a second stop request forces every connection closed and exits 1', async () => {
  const l = await listener();
  const { drain, msgs } = drainOf(l);
  const cut = l.inFlight();
  await l.waitHeld(1);
  const done = drain.stop('SIGTERM');
  assert.equal(drain.stop('SIGINT'), done);
  assert.equal(await cut, 0);
  assert.equal(await done, 1);
  drain.stop('SIGINT'); // after the stop: nothing more to force, no second warning
  // The first line waits for the connection count, so the immediate warning comes before it.
  assert.deepEqual(msgs().sort(), ['second stop request: closing every connection now', 'shutting down: not ready, draining', 'stopped']);
});

test('drain: a request still in flight at the drain timeout is cut and the exit code is 1', async () => {
  const l = await listener();
  const { drain, msgs, calls } = drainOf(l, { drainTimeoutMs: 150 });
  const cut = l.inFlight();
  await l.waitHeld(1);
  assert.equal(await drain.stop('SIGTERM'), 1);
  assert.equal(await cut, 0);
  assert.deepEqual(calls, ['begin', 'release']);
  assert.deepEqual(msgs(), ['shutting down: not ready, draining', 'drain timeout: closing the connections still open', 'stopped']);
});

test('drain: a failed release is logged and the stop still completes', async () => {
  const l = await listener();
  const { drain, msgs } = drainOf(l, {
    release: async () => {
      throw new Error('lease gone');
    },
  });
  assert.equal(await drain.stop('SIGTERM'), 0);
  assert.deepEqual(msgs(), ['shutting down: not ready, draining', 'cluster shutdown failed', 'stopped']);
});
