/**
 * Writing answers, and what is counted and logged for each: every answer goes through `reply` or
 * `fail`, so the HTTP metric and the rejection log line are written in one place whatever the
 * route. Errors have the shape `{"error":{"code","message"}}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type HttpError, httpError } from '../admission/review.ts';
import { BUG_SEE_LOG } from '../common/errors.ts';
import type { WebhookContext } from './http.ts';
import { errorFields } from './log.ts';

export type Route = 'mutate' | 'explain' | 'healthz' | 'readyz' | 'metrics';

/** One request on its way through the guards to its handler. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  /** The query string, parsed on demand. */
  query(): URLSearchParams;
  /** When the request arrived (performance.now()). */
  start: number;
}

export interface Reply {
  status: number;
  contentType: string;
  /** A function is called after the answer is counted (/metrics shows its own request). */
  body: string | (() => string);
  headers?: Record<string, string>;
}

/** A refused request: the error and any header it needs (`Allow`, `Connection: close`). */
export interface Refusal {
  error: HttpError;
  headers?: Record<string, string>;
}

export type Answer = Reply | Refusal;

export const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

export function errorBody(e: HttpError): string {
  return JSON.stringify({ error: { code: e.code, message: e.message } });
}

export const INTERNAL_ERROR = BUG_SEE_LOG;

export interface Responder {
  reply(x: Exchange, route: Route, r: Reply): void;
  fail(x: Pick<Exchange, 'req' | 'res'>, route: Route | 'other', e: HttpError, headers?: Record<string, string>): void;
  answer(x: Exchange, route: Route, a: Answer): void;
  /** A handler threw: logged with its stack, answered 500. */
  internalError(x: Pick<Exchange, 'req' | 'res'>, route: Route | 'other', e: unknown): void;
}

export function createResponder(ctx: WebhookContext): Responder {
  const { metrics, log } = ctx;
  const send = (res: ServerResponse, status: number, contentType: string, body: string, headers?: Record<string, string>) => {
    if (res.headersSent || res.destroyed) return;
    // While draining, every response closes its connection, so clients move to another replica.
    if (ctx.draining()) res.setHeader('Connection', 'close');
    if (headers) for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  const fail: Responder['fail'] = ({ req, res }, route, e, headers) => {
    metrics.http.inc([route, String(e.status)]);
    if (route === 'mutate') metrics.requests.inc(['rejected', e.code]);
    const level = e.status >= 500 ? 'error' : 'warn';
    log[level]('http request rejected', { route, status: e.status, code: e.code, message: truncate(e.message, 300), remote: req.socket.remoteAddress });
    send(res, e.status, 'application/json', errorBody(e), headers);
  };
  const reply: Responder['reply'] = (x, route, r) => {
    metrics.http.inc([route, String(r.status)]);
    send(x.res, r.status, r.contentType, typeof r.body === 'function' ? r.body() : r.body, r.headers);
  };
  return {
    reply,
    fail,
    answer: (x, route, a) => ('error' in a ? fail(x, route, a.error, a.headers) : reply(x, route, a)),
    internalError(x, route, e) {
      log.error('request failed', { route, ...errorFields(e, true) });
      fail(x, route, httpError('internal-error', INTERNAL_ERROR));
    },
  };
}
