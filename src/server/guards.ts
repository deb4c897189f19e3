/**
 * The preconditions of a request, each a small guard, run in this order: method → client
 * certificate → content type → bounded body → profiles loaded. The first that refuses answers;
 * a request that passes them all reaches its handler with its body and the current config.
 */
import type { TLSSocket } from 'node:tls';
import type { HandlerConfig } from '../admission/handle.ts';
import { httpError } from '../admission/review.ts';
import type { BodyBudget } from './body-budget.ts';
import type { WebhookContext } from './http.ts';
import { createJsonBudgetScanner } from './json-budget.ts';
import { readBody } from './read-body.ts';
import type { Exchange, Refusal, Responder, Route } from './respond.ts';
import { truncate } from './respond.ts';

/** A precondition checked before the body is read: a refusal, or undefined to go on. */
export type Check = (x: Exchange) => Refusal | undefined;

export const allowedMethod =
  (methods: readonly string[]): Check =>
  (x) =>
    methods.includes(x.req.method ?? '')
      ? undefined
      : {
          error: httpError('method-not-allowed', `${truncate(x.req.method ?? '', 20)} ${x.path} is not allowed; use ${methods.join(' or ')}`),
          headers: { Allow: methods.join(', ') },
        };

/**
 * With `clientAuth`, the route needs a client certificate the --client-ca signed. The TLS layer
 * asks for one but lets connections without it through, so kubelet probes and Prometheus still
 * reach /healthz, /readyz and /metrics.
 */
export const clientCertificate: Check = (x) => {
  const socket = x.req.socket as TLSSocket;
  if (socket.authorized) return undefined;
  const why = socket.authorizationError;
  return { error: httpError('client-certificate-required', `${x.path} needs a client certificate signed by the --client-ca${why ? ` (${String(why)})` : ''}`) };
};

/** `application/json`, optionally with `charset=utf-8`; media types are case-insensitive. */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === 'application/json') return true; // what the API server sends
  if (header === undefined) return false;
  const [type, ...params] = header.split(';');
  if (type?.trim().toLowerCase() !== 'application/json') return false;
  for (const p of params) {
    const [k, v] = p.split('=');
    if (k?.trim().toLowerCase() === 'charset' && v?.trim().replace(/^"|"$/g, '').toLowerCase() !== 'utf-8') return false;
  }
  return true;
}

export const jsonContentType: Check = (x) =>
  isJsonContentType(x.req.headers['content-type'])
    ? undefined
    : {
        error: httpError(
          'unsupported-media-type',
          `Content-Type must be application/json, got ${JSON.stringify(truncate(x.req.headers['content-type'] ?? '', 100))}`,
        ),
      };

export type Step = (x: Exchange) => void;
export type JsonHandler = (x: Exchange, body: Buffer, cfg: HandlerConfig) => void;

/** Runs the checks in order; the first refusal is answered, else `next` runs. */
export function guarded(respond: Responder, route: Route, checks: readonly Check[], next: Step): Step {
  return (x) => {
    for (const check of checks) {
      const refusal = check(x);
      if (refusal) return respond.fail(x, route, refusal.error, refusal.headers);
    }
    next(x);
  };
}

/**
 * A JSON request: content type, then the body read within its bounds (its parse cost counted as it
 * arrives, read-body.ts), then profiles loaded; `handler` gets the body and the current config.
 */
export function jsonRequest(ctx: WebhookContext, bodies: BodyBudget, respond: Responder, route: Route, handler: JsonHandler): Step {
  const afterBody = (x: Exchange, body: Buffer) => {
    const cfg = ctx.config();
    if (!cfg) return respond.fail(x, route, httpError('not-ready', 'no profiles are loaded yet'));
    handler(x, body, cfg);
  };
  return guarded(respond, route, [jsonContentType], (x) =>
    readBody(
      x.req,
      ctx.limits,
      bodies,
      {
        body: (b) => afterBody(x, b),
        refused: (e, close) => respond.fail(x, route, e, close ? { Connection: 'close' } : undefined),
        failed: (e) => respond.internalError(x, route, e),
      },
      createJsonBudgetScanner(ctx.limits.json),
    ),
  );
}
