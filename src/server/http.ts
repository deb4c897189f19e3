/**
 * The HTTPS front: routing on the path alone (the API server appends `?timeout=10s`), then the
 * route's guards (guards.ts), its handler (routes.ts) and the answer, counted and logged
 * (respond.ts, instrument.ts). Every handled admission is HTTP 200 with an AdmissionReview; input
 * with no uid to answer to gets a precise 4xx with `{"error":{"code","message"}}`. Nothing here
 * throws out to Node: a bug answers 500. Below the routes: TLS, connection limits, client errors.
 */

import { constants as cryptoConstants } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { AdmissionResult, HandlerConfig } from '../admission/handle.ts';
import { httpError } from '../admission/review.ts';
import type { HttpErrorCode } from '../common/errors.ts';
import type { SidecarProfile } from '../engine/index.ts';
import { createBodyBudget } from './body-budget.ts';
import { createConnectionTable } from './connections.ts';
import type { Limits } from './limits.ts';
import type { Logger } from './log.ts';
import type { WebhookMetrics } from './metrics.ts';
import { createResponder, type Exchange, truncate } from './respond.ts';
import { routeTable, served } from './routes.ts';
import type { TlsMaterial } from './tls-reloader.ts';

export { isJsonContentType } from './guards.ts';
export { DEFAULT_LIMITS, type Limits, MAX_BODY_BYTES } from './limits.ts';
export { errorBody } from './respond.ts';

export interface Readiness {
  ready: boolean;
  detail: Record<string, unknown>;
}

/** What the HTTP layer needs from the running server: the current config, health, and where to report. */
export interface WebhookContext {
  /** The current profile set and cluster facts; undefined until profiles are loaded. */
  config(): HandlerConfig | undefined;
  readiness(): Readiness;
  draining(): boolean;
  metrics: WebhookMetrics;
  log: Logger;
  limits: Limits;
  /**
   * Side effects of an admission (events on the pod, audit hooks). Never called for dry-run
   * requests: the API server promises dry-run callers that nothing outside the response changes.
   */
  sideEffects?: (r: AdmissionResult) => void;
  /** Whether a profile is cluster-wide (else a tenant's: its name stays out of metrics); absent: all are. */
  clusterWide?: (p: SidecarProfile) => boolean;
}

/** Which listener serves what (see routeTable in routes.ts): the webhook port, or the admin listener. */
export type Listener = 'webhook' | 'admin';

/**
 * Finds the route by path and listener, then runs its guarded handler. With `clientAuth`, /mutate
 * and /explain need a client certificate the --client-ca signed (guards.ts).
 */
export function createRequestHandler(
  ctx: WebhookContext,
  opts: { clientAuth?: boolean; listener?: Listener } = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const listener = opts.listener ?? 'webhook';
  const respond = createResponder(ctx);
  const table = routeTable(ctx, { listener, clientAuth: opts.clientAuth === true, respond, bodies: createBodyBudget(ctx.limits) });
  const byPath = new Map(table.map((r) => [r.path, r]));
  const serves = served(table, listener);

  return (req, res) => {
    const start = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const spec = byPath.get(path);
    const x: Exchange = { req, res, path, start, query: () => new URLSearchParams(q < 0 ? '' : url.slice(q + 1)) };
    try {
      if (!spec) {
        respond.fail(x, 'other', httpError('not-found', `no route for ${truncate(path, 100)}; this port serves ${serves}`));
        return;
      }
      if (!spec.on.includes(listener)) {
        const where = listener === 'webhook' ? 'the admin listener (--admin-address)' : 'the webhook port';
        respond.fail(x, spec.route, httpError('not-found', `${path} is served on ${where}, not here; this port serves ${serves}`));
        return;
      }
      spec.handler(x);
    } catch (e) {
      respond.internalError(x, spec?.route ?? 'other', e);
    }
  };
}

/** Malformed HTTP, header and request timeouts: answered in the same JSON shape, then the connection is closed. */
export function clientErrorResponse(err: NodeJS.ErrnoException): { status: number; code: HttpErrorCode; message: string } {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'request-timeout', message: 'the request was not received in time' };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'headers-too-large', message: 'the request headers are too large' };
    default:
      return { status: 400, code: 'bad-request', message: `malformed HTTP request (${err.code ?? 'parse error'})` };
  }
}

export interface ServerHandle {
  server: Server;
  setTls(m: TlsMaterial): void;
  /** Destroys every socket, including those still in the TLS handshake or closing after an error. */
  destroyAllSockets(): void;
}

/** How long a socket answered with an HTTP error may take to close before it is destroyed. */
const CLIENT_ERROR_LINGER_MS = 1_000;

/**
 * AEAD suites only, forward secret: the TLS 1.3 suites, and for TLS 1.2 ECDHE with AES-GCM or
 * ChaCha20-Poly1305. Node's default list also allows CBC suites with SHA-1/SHA-2 MACs and
 * finite-field DHE; every API server since 1.0 (Go's crypto/tls) offers the ECDHE-GCM suites.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export function secureOptions(m: TlsMaterial) {
  return {
    cert: m.cert,
    key: m.key,
    ...(m.ca ? { ca: m.ca } : {}),
    minVersion: 'TLSv1.2' as const,
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
    // A client-initiated renegotiation makes the server redo a handshake's work on demand (a CPU
    // amplifier) and has no use here: OpenSSL refuses it for every connection of this context.
    secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION,
  };
}

export function createWebhookServer(opts: { tls: TlsMaterial; clientAuth: boolean; ctx: WebhookContext; listener?: Listener }): ServerHandle {
  const { limits, log, metrics } = opts.ctx;
  const server = createServer(
    {
      ...secureOptions(opts.tls),
      requestCert: opts.clientAuth,
      // Checked per route (createRequestHandler): health and metrics stay reachable without one.
      rejectUnauthorized: false,
      handshakeTimeout: limits.handshakeTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.connectionsCheckingIntervalMs,
      keepAlive: true, // TCP keep-alive probes: a vanished API server's connections are noticed
      noDelay: true,
    },
    createRequestHandler(opts.ctx, { clientAuth: opts.clientAuth, ...(opts.listener ? { listener: opts.listener } : {}) }),
  );
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;

  // Every socket, from its first byte: the HTTP layer only knows those past the TLS handshake and
  // not yet failed, and a stop must be able to close the rest too.
  const sockets = new Set<Duplex>();
  // The connection limits are ours, not net.Server#maxConnections, which refuses a new client even
  // when every open connection is idle (see connections.ts).
  const table = createConnectionTable(limits);
  let lastRefusalLogged = 0;
  server.prependListener('connection', (socket: Duplex) => {
    if (!table.admit(socket)) {
      socket.destroy();
      metrics.droppedConnections.inc();
      const t = Date.now();
      if (t - lastRefusalLogged >= 30_000) {
        lastRefusalLogged = t;
        const { maxConnections, maxConnectionsPerPeer } = limits;
        log.warn('connection refused: too many busy connections', { remote: (socket as TLSSocket).remoteAddress, maxConnections, maxConnectionsPerPeer });
      }
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('secureConnection', (socket: TLSSocket) => table.ready(socket));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    table.requestStarted(req.socket);
    res.once('close', () => table.requestEnded(req.socket));
  });

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const r = clientErrorResponse(err);
    metrics.http.inc(['other', String(r.status)]);
    const body = JSON.stringify({ error: { code: r.code, message: r.message } });
    socket.end(
      `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    // A peer that neither reads nor closes must not keep the socket: it is destroyed shortly after.
    setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS).unref();
  });

  // Failed handshakes (a client without the right certificate, a scanner): counted, logged at most every 30 s.
  let handshakeErrors = 0;
  let lastLogged = 0;
  server.on('tlsClientError', (err: Error) => {
    handshakeErrors++;
    metrics.handshakeErrors.inc();
    const t = Date.now();
    if (t - lastLogged >= 30_000) {
      lastLogged = t;
      log.warn('tls handshake failed', { error: err.message, failuresSinceLastLog: handshakeErrors });
      handshakeErrors = 0;
    }
  });

  return {
    server,
    setTls(m) {
      server.setSecureContext(secureOptions(m));
    },
    destroyAllSockets() {
      for (const s of sockets) s.destroy();
    },
  };
}
