/**
 * The bounded read of a request body. Reads at most `limits.maxBodyBytes`; above that the body is
 * refused at once and reading stops. A body that does not fit the shared budget (body-budget.ts) is
 * refused as overloaded, one that arrives slower than the minimum rate as too slow, one whose JSON
 * would cost too much to parse as too complex (json-budget.ts), all the same way: memory stays
 * bounded under any load, and stalled bodies give their bytes back within seconds.
 */
import type { IncomingMessage } from 'node:http';
import { type HttpError, httpError } from '../admission/review.ts';
import type { BodyBudget, BodyShare } from './body-budget.ts';
import type { JsonBudgetScanner } from './json-budget.ts';
import type { Limits } from './limits.ts';

export interface BodyCallbacks {
  /** The whole body, once it arrived within every bound; its bytes stay taken from the budget until this returns. */
  body(b: Buffer): void;
  /** Refused; `close`: answer with `Connection: close` (the rest of the body will not be read). */
  refused(e: HttpError, close: boolean): void;
  /** `body` threw (a bug): still to be answered. */
  failed(e: unknown): void;
}

/** Body bytes, or chunks, read in one turn of the event loop before reading yields to other connections. */
export const YIELD_BYTES = 64 * 1024;
export const YIELD_CHUNKS = 64;
/** Chunks smaller than this are copied together into buffers of COALESCE_BUFFER bytes. */
const COALESCE_BELOW = 4096;
const COALESCE_BUFFER = 16 * 1024;

/** Memory and time of a parse follow the number of values, not bytes (json-budget.ts). */
function tooComplex(r: { what: string; limit: number; offset: number }): HttpError {
  const message = `the request body has more than ${r.limit} ${r.what} (the limit is passed at byte ${r.offset}); no object the API server can store has that many`;
  return httpError('body-too-complex', message);
}

export function readBody(
  req: IncomingMessage,
  limits: Limits,
  bodies: BodyBudget,
  cb: BodyCallbacks,
  /** Counts the parse cost as the body arrives: a body over the budget is refused at once. */
  scanner?: JsonBudgetScanner,
): void {
  const max = limits.maxBodyBytes;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) {
    cb.refused(httpError('body-too-large', `the request body exceeds ${max} bytes`), true);
    return;
  }
  const chunks: Buffer[] = [];
  const share: BodyShare = { size: 0, large: false };
  /** Bytes received, also those read after a refusal and dropped. */
  let received = 0;
  let sinceYield = 0;
  let chunksSinceYield = 0;
  // Small chunks are copied into one buffer: a Buffer per chunk costs about 200 bytes of heap,
  // so a body sent in 1-byte chunks would hold 200 times what the body budget counts.
  let small: Buffer | undefined;
  let smallUsed = 0;
  const flushSmall = () => {
    if (small && smallUsed > 0) chunks.push(small.subarray(0, smallUsed));
    small = undefined;
    smallUsed = 0;
  };
  const keep = (c: Buffer) => {
    // A first chunk is kept as it is: a review that arrives in one piece is never copied.
    if (c.length >= COALESCE_BELOW || (chunks.length === 0 && small === undefined)) {
      flushSmall();
      chunks.push(c);
      return;
    }
    if (small && smallUsed + c.length > small.length) flushSmall();
    small ??= Buffer.allocUnsafe(COALESCE_BUFFER);
    c.copy(small, smallUsed);
    smallUsed += c.length;
  };
  let stopped = false;
  const release = () => {
    clearInterval(rateCheck);
    bodies.release(share);
  };
  const stop = (e: HttpError) => {
    stopped = true;
    chunks.length = 0;
    small = undefined;
    release();
    req.off('data', onData);
    // A body of a declared length (at most maxBodyBytes) that still arrives is read and dropped,
    // not held: the client can read the answer and keep the connection. Closing while it still
    // writes would reset the connection, and the answer be lost with it. A body of unknown length,
    // or one that stalls, gets its connection closed instead.
    if (declared !== undefined && e.code !== 'body-too-slow') {
      cb.refused(e, false);
      // The rest must still come at the minimum rate, or the connection is closed.
      const rest = Number(declared) - received;
      const drainMs = (rest / limits.minBodyBytesPerSecond) * 1000 + limits.bodyRateWindowMs;
      const drainTimer = setTimeout(() => req.socket.destroy(), drainMs).unref();
      req.once('end', () => clearTimeout(drainTimer));
      return;
    }
    req.pause();
    cb.refused(e, true);
  };
  const onData = (c: Buffer) => {
    received += c.length;
    if (share.size + c.length > max) return stop(httpError('body-too-large', `the request body exceeds ${max} bytes`));
    if (!bodies.take(share, c.length)) {
      const held = bodies.held();
      return stop(
        httpError('overloaded', `request bodies in progress hold ${held.all} bytes (${held.large} in bodies over ${limits.largeBodyBytes} bytes); retry`),
      );
    }
    const cost = scanner?.feed(c);
    if (cost && !cost.ok) return stop(tooComplex(cost));
    keep(c);
    // At most YIELD_BYTES or YIELD_CHUNKS per turn of the event loop: a large body arriving fast,
    // or one sent a byte at a time, cannot hold the loop while other connections (a probe, the next
    // review) wait. A review of ordinary size never pauses: the pause and resume would cost it more
    // than its parse.
    sinceYield += c.length;
    if (sinceYield >= YIELD_BYTES || ++chunksSinceYield >= YIELD_CHUNKS) {
      sinceYield = 0;
      chunksSinceYield = 0;
      req.pause();
      setImmediate(() => stopped || req.resume());
    }
  };
  // The minimum data rate: every window after the first must bring its share of bytes. The API
  // server writes a body at network speed; a body that stalls is refused and its bytes released,
  // instead of holding them until the request timeout.
  const perWindow = Math.ceil((limits.minBodyBytesPerSecond * limits.bodyRateWindowMs) / 1000);
  let atLastCheck = 0;
  const rateCheck = setInterval(() => {
    if (share.size - atLastCheck < perWindow) {
      stop(
        httpError(
          'body-too-slow',
          `the request body arrived slower than ${limits.minBodyBytesPerSecond} bytes per second (${share.size - atLastCheck} bytes in the last ${limits.bodyRateWindowMs} ms)`,
        ),
      );
    }
    atLastCheck = share.size;
  }, limits.bodyRateWindowMs);
  rateCheck.unref();
  req.on('data', onData);
  req.on('end', () => {
    clearInterval(rateCheck);
    if (stopped) return;
    try {
      flushSmall();
      cb.body(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, share.size));
    } catch (e) {
      cb.failed(e);
    } finally {
      release();
    }
  });
  // A client that goes away mid-body: its bytes are released.
  req.once('close', release);
  // 'error'/'aborted': the client went away; there is no one to answer.
  req.on('error', () => {});
}
