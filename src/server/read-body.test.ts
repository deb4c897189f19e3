import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpError } from '../admission/review.ts';
import { createBodyBudget } from './body-budget.ts';
import { createJsonBudgetScanner, DEFAULT_JSON_BUDGET } from './json-budget.ts';
import { DEFAULT_LIMITS, type Limits } from './limits.ts';
import { readBody, YIELD_BYTES, YIELD_CHUNKS } from './read-body.ts';

const MAX = 64;
const limits: Limits = { ...DEFAULT_LIMITS, maxBodyBytes: MAX, maxBufferedBytes: 4 * MAX, largeBodyBytes: MAX, maxLargeBufferedBytes: 2 * MAX };

/** A request as readBody sees one: a stream with headers and a socket. */
function request(headers: Record<string, string> = {}) {
  const req = new PassThrough() as PassThrough & { headers: Record<string, string>; socket: { destroyed: boolean; destroy(): void } };
  req.headers = headers;
  req.socket = {
    destroyed: false,
    destroy() {
      this.destroyed = true;
    },
  };
  return req;
}

type Outcome = { body: Buffer } | { refused: HttpError; close: boolean } | { failed: unknown };

function read(
  req: ReturnType<typeof request>,
  o: { limits?: Limits; bodies?: ReturnType<typeof createBodyBudget>; json?: boolean; throwInBody?: boolean } = {},
) {
  const l = o.limits ?? limits;
  const bodies = o.bodies ?? createBodyBudget(l);
  const outcome = new Promise<Outcome>((resolve) =>
    readBody(
      req as unknown as IncomingMessage,
      l,
      bodies,
      {
        body: (body) => {
          if (o.throwInBody) throw new Error('bug');
          resolve({ body });
        },
        refused: (refused, close) => resolve({ refused, close }),
        failed: (failed) => resolve({ failed }),
      },
      o.json ? createJsonBudgetScanner({ ...DEFAULT_JSON_BUDGET, maxContainers: 2 }) : undefined,
    ),
  );
  return { outcome, bodies };
}

test('readBody: a declared length over the limit is refused before a byte is read, closing the connection', async () => {
  const req = request({ 'content-length': String(MAX + 1) });
  const { outcome } = read(req);
  const r = await outcome;
  assert.ok('refused' in r);
  assert.equal(r.refused.code, 'body-too-large');
  assert.equal(r.refused.status, 413);
  assert.equal(r.close, true);
});

test('readBody: exactly the limit is read whole, in chunks, and its bytes are given back', async () => {
  const req = request({ 'content-length': String(MAX) });
  const { outcome, bodies } = read(req);
  req.write(Buffer.alloc(MAX / 2, 'a'));
  req.end(Buffer.alloc(MAX / 2, 'b'));
  const r = await outcome;
  assert.ok('body' in r);
  assert.equal(r.body.length, MAX);
  assert.equal(r.body.toString(), 'a'.repeat(MAX / 2) + 'b'.repeat(MAX / 2));
  await sleep(0);
  assert.deepEqual(bodies.held(), { all: 0, large: 0 });
});

test('readBody: one byte over the limit without a declared length is refused at that byte, closing the connection', async () => {
  const req = request();
  const { outcome, bodies } = read(req);
  req.write(Buffer.alloc(MAX, 'a'));
  req.write(Buffer.alloc(1, 'b'));
  const r = await outcome;
  assert.ok('refused' in r);
  assert.equal(r.refused.code, 'body-too-large');
  assert.equal(r.close, true);
  assert.deepEqual(bodies.held(), { all: 0, large: 0 });
});

test('readBody: a declared body that does not fit the shared budget is refused as overloaded, and the rest is read and dropped', async () => {
  const bodies = createBodyBudget(limits);
  // Small bodies in progress fill all but 8 bytes of the budget.
  const hogs = [MAX, MAX, MAX, MAX - 8].map((n) => {
    const share = { size: 0, large: false };
    assert.ok(bodies.take(share, n));
    return share;
  });
  const req = request({ 'content-length': String(MAX) });
  const { outcome } = read(req, { bodies });
  req.write(Buffer.alloc(16, 'a'));
  const r = await outcome;
  assert.ok('refused' in r);
  assert.equal(r.refused.code, 'overloaded');
  assert.equal(r.refused.status, 503);
  assert.equal(r.close, false, 'a declared length keeps the connection: the rest is drained');
  req.end(Buffer.alloc(MAX - 16, 'a'));
  await sleep(10);
  assert.equal(req.socket.destroyed, false);
  for (const h of hogs) bodies.release(h);
  assert.deepEqual(bodies.held(), { all: 0, large: 0 });
});

test('readBody: JSON that costs too much to parse is refused as it arrives', async () => {
  const req = request({ 'content-length': '12' });
  const { outcome } = read(req, { json: true });
  req.end('[[[[[[]]]]]]');
  const r = await outcome;
  assert.ok('refused' in r);
  assert.equal(r.refused.code, 'body-too-complex');
});

test('readBody: a body slower than the minimum rate is refused and its connection closed', async () => {
  const slow: Limits = { ...limits, minBodyBytesPerSecond: 10_000, bodyRateWindowMs: 20 };
  const req = request({ 'content-length': String(MAX) });
  const { outcome, bodies } = read(req, { limits: slow });
  req.write(Buffer.alloc(1, 'a'));
  const r = await outcome;
  assert.ok('refused' in r);
  assert.equal(r.refused.code, 'body-too-slow');
  assert.equal(r.refused.status, 408);
  assert.equal(r.close, true);
  assert.deepEqual(bodies.held(), { all: 0, large: 0 });
});

test('readBody: a handler that throws is reported as failed, and the bytes are still given back', async () => {
  const req = request();
  const { outcome, bodies } = read(req, { throwInBody: true });
  req.end('{}');
  const r = await outcome;
  assert.ok('failed' in r);
  assert.equal((r.failed as Error).message, 'bug');
  await sleep(0);
  assert.deepEqual(bodies.held(), { all: 0, large: 0 });
});

test('readBody: a large body yields the event loop after every YIELD_BYTES; a small one never pauses', async () => {
  const big: Limits = { ...DEFAULT_LIMITS, maxBodyBytes: 4 * YIELD_BYTES, maxBufferedBytes: 8 * YIELD_BYTES, largeBodyBytes: 4 * YIELD_BYTES };
  const req = request();
  const { outcome } = read(req, { limits: big });
  const half = Buffer.alloc(YIELD_BYTES / 2, 'a');
  req.write(half);
  assert.equal(req.isPaused(), false, 'paused after half of YIELD_BYTES');
  req.write(half);
  assert.equal(req.isPaused(), true, 'not paused after YIELD_BYTES');
  await new Promise(setImmediate);
  assert.equal(req.isPaused(), false, 'not resumed on the next turn');
  req.end(half);
  const r = await outcome;
  assert.ok('body' in r);
  assert.equal(r.body.length, 3 * half.length);

  const small = request();
  const read2 = read(small, { limits: big });
  small.write('{"a":');
  assert.equal(small.isPaused(), false);
  small.end('1}');
  const r2 = await read2.outcome;
  assert.ok('body' in r2);
  assert.equal(r2.body.toString(), '{"a":1}');
});

test('readBody: a body sent a byte at a time yields every YIELD_CHUNKS chunks and arrives whole', async () => {
  const big: Limits = { ...DEFAULT_LIMITS, maxBodyBytes: 4 * YIELD_BYTES, maxBufferedBytes: 8 * YIELD_BYTES, largeBodyBytes: 4 * YIELD_BYTES };
  const req = request();
  const { outcome } = read(req, { limits: big });
  const text = Array.from({ length: 5000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
  let i = 0;
  for (; i < YIELD_CHUNKS - 1; i++) req.write(text[i] as string);
  assert.equal(req.isPaused(), false, `paused after ${YIELD_CHUNKS - 1} chunks`);
  req.write(text[i++] as string);
  assert.equal(req.isPaused(), true, `not paused after ${YIELD_CHUNKS} chunks`);
  for (; i < text.length; i++) {
    await new Promise(setImmediate);
    req.write(text[i] as string);
  }
  req.end();
  const r = await outcome;
  assert.ok('body' in r);
  assert.equal(r.body.toString(), text);
});
