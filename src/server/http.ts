/**
 * The HTTPS front: routing on the path alone (the API server appends `?timeout=10s`), method and
 * content-type checks, a bounded body read, then the pure admission handler. Every handled
 * admission is HTTP 200 with an AdmissionReview; input with no uid to answer to gets a precise
 * 4xx with `{"error":{"code","message"}}`. Nothing here throws out to Node: a bug answers 500.
 */

import { constants as cryptoConstants } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { explain } from '../admission/explain.ts';
import { type AdmissionResult, type HandlerConfig, handleDecoded } from '../admission/handle.ts';
import { decodeReview, type HttpError, httpError, parseJsonBody } from '../admission/review.ts';
import { BUG_SEE_LOG, ERROR_REASONS, type HttpErrorCode, type ReasonCode } from '../common/errors.ts';
import type { ProfileSet, SidecarProfile } from '../engine/index.ts';
import { type BodyShare, createBodyBudget } from './body-budget.ts';
import { createConnectionTable } from './connections.ts';
import { createJsonBudgetScanner, DEFAULT_JSON_BUDGET, type JsonBudget, type JsonBudgetScanner } from './json-budget.ts';
import { errorFields, type Logger } from './log.ts';
import type { WebhookMetrics } from './metrics.ts';
import type { TlsMaterial } from './tls-reloader.ts';

/**
 * Request body limit: 7 MiB.
 *
 * - The API server refuses any request body above 3 MiB (`MaxRequestBodyBytes` = 3 × 1024 × 1024),
 *   so the object a client creates or updates is at most 3 MiB as sent. The API server re-encodes
 *   it as JSON for the review: a protobuf body grows a little as JSON, defaulting adds fields, and
 *   Go's encoder writes `<`, `>` and `&` as `\u003c` (6 bytes for 1). Call `object` ≤ 3 MiB for any
 *   object that could also be stored, since etcd refuses objects above ~1.5 MiB
 *   (`--max-request-bytes`, 1.5 MiB by default) and so bounds what is worth admitting.
 * - An UPDATE also carries `oldObject`, which came out of etcd: ≤ 1.5 MiB stored, ≤ 3 MiB as JSON
 *   by the same argument. We only mutate CREATE (no oldObject), but a review for an UPDATE must
 *   still get a valid "allowed", not a 413, if the webhook is ever registered for it.
 * - The envelope (uid, kind, resource, userInfo with groups and extra, options) is a few KiB.
 *
 * 3 MiB + 3 MiB + envelope ≈ 6 MiB, plus 1 MiB of slack for escaping growth: 7 MiB. A larger body
 * would be an object made mostly of escaped characters, which no real Pod is. The body is counted
 * as it arrives and reading stops at the limit: nothing above it is ever buffered.
 */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;

export interface Limits {
  maxBodyBytes: number;
  /** What parsing one body may cost (objects, tokens, keys): checked before it is parsed. */
  json: JsonBudget;
  /** Time to receive the request headers, from their first byte (not the keep-alive idle time). */
  headersTimeoutMs: number;
  /** Time to receive the whole request (headers and body). */
  requestTimeoutMs: number;
  /** Idle time before a keep-alive connection is closed: above the API server's 90 s idle timeout, so the server never closes a connection the client is about to reuse. */
  keepAliveTimeoutMs: number;
  /** Open connections at most; at the limit, the longest idle one is closed for a new client (connections.ts). */
  maxConnections: number;
  /** Open connections from one remote address at most, the same way. */
  maxConnectionsPerPeer: number;
  /** Bytes of request bodies held at once, over all connections: bounds memory whatever the clients do. */
  maxBufferedBytes: number;
  /** A body is large once it passes this many bytes. */
  largeBodyBytes: number;
  /** Bytes of large bodies held at once: the rest of maxBufferedBytes is kept for small bodies. */
  maxLargeBufferedBytes: number;
  /** Slowest a body may arrive, measured over each window of bodyRateWindowMs (the first included). */
  minBodyBytesPerSecond: number;
  bodyRateWindowMs: number;
  /** Time for a new connection to finish the TLS handshake. */
  handshakeTimeoutMs: number;
  /** How often Node checks the two timeouts above. */
  connectionsCheckingIntervalMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: MAX_BODY_BYTES,
  json: DEFAULT_JSON_BUDGET,
  // Not above keepAliveTimeout, on purpose: since Node 18 the headers timer starts at the first byte
  // of a request, not when a kept-alive connection goes idle, so a short one does not cut idle
  // connections (http.test.ts checks this) and it bounds slow-loris clients to 10 s, not 2 minutes.
  headersTimeoutMs: 10_000,
  // The API server waits at most 30 s (the largest webhook timeoutSeconds); a request still arriving after that has no one waiting for it.
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 120_000,
  maxConnections: 2048,
  // A quarter: one address cannot take every slot, and the API server (which keeps a pool of a few
  // dozen connections, more under load) loses only idle ones at its limit.
  maxConnectionsPerPeer: 512,
  // Four bodies of the largest size at once (a parsed body takes several times its size in memory):
  // far above what API servers send together (pods are at most 1.5 MiB in etcd), and far below
  // what fits in the default memory limit of 256 MiB.
  maxBufferedBytes: 4 * MAX_BODY_BYTES,
  // Everyday reviews are a few KiB: large bodies (over 1 MiB) together get three of the four shares,
  // so clients that send large bodies and stall cannot refuse every other review.
  largeBodyBytes: 1024 * 1024,
  // Two of the largest bodies: four at once peaked at 221–243 MiB of a 256 MiB limit; two stay far under.
  maxLargeBufferedBytes: 2 * MAX_BODY_BYTES,
  // The API server writes at network speed (tens of MB/s in a cluster): 128 KiB/s is about 1% of a
  // 100 Mbit/s link. Measured per second, so a body that stalls is cut within two seconds. A
  // per-client share of the budget would not help here: the API server is one client (a few
  // addresses at most) sending many reviews at once, and would be the first one refused.
  minBodyBytesPerSecond: 128 * 1024,
  bodyRateWindowMs: 1_000,
  // The API server completes its handshake in milliseconds; an idle or stalled socket gets no more.
  handshakeTimeoutMs: 10_000,
  connectionsCheckingIntervalMs: 1_000,
};

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

type Route = 'mutate' | 'explain' | 'healthz' | 'readyz' | 'metrics';
/**
 * Which listener serves what. The webhook port is reachable by every pod in the cluster, so it
 * serves only what the API server, the kubelet and Prometheus need, none of it tenant data. What
 * shows profiles or cluster detail (/explain, verbose readiness) is on the admin listener, which
 * listens on loopback by default: `kubectl port-forward` and `kubectl exec` reach it, other pods do not.
 */
export type Listener = 'webhook' | 'admin';
const ROUTES: Record<string, { route: Route; methods: readonly string[]; on: readonly Listener[] }> = {
  '/mutate': { route: 'mutate', methods: ['POST'], on: ['webhook'] },
  '/explain': { route: 'explain', methods: ['POST'], on: ['admin'] },
  '/healthz': { route: 'healthz', methods: ['GET', 'HEAD'], on: ['webhook', 'admin'] },
  '/readyz': { route: 'readyz', methods: ['GET', 'HEAD'], on: ['webhook', 'admin'] },
  '/metrics': { route: 'metrics', methods: ['GET', 'HEAD'], on: ['webhook', 'admin'] },
};

/** The routes a listener serves, for the not-found message. */
const served = (l: Listener) =>
  Object.entries(ROUTES)
    .filter(([, e]) => e.on.includes(l))
    .map(([path, e]) => `${e.methods[0]} ${path}`)
    .join(', ');

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

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

/**
 * The profile label of metrics: a cluster-wide profile's name, `tenant` for a namespace's own
 * profile (its name is that tenant's business, and /metrics is readable from the webhook port), or
 * `unknown` for a name not in the set. Bounded by the platform's own profiles, whatever tenants do.
 */
function profileLabel(set: ProfileSet | undefined, name: string, clusterWide: WebhookContext['clusterWide']): string {
  if (name === '*') return name;
  const p = set?.byName.get(name);
  if (!p) return 'unknown';
  return !clusterWide || clusterWide(p) ? name : 'tenant';
}

/** Memory and time of a parse follow the number of values, not bytes (json-budget.ts). */
function tooComplex(r: { what: string; limit: number; offset: number }): HttpError {
  const message = `the request body has more than ${r.limit} ${r.what} (the limit is passed at byte ${r.offset}); no object the API server can store has that many`;
  return httpError('body-too-complex', message);
}

export function errorBody(e: HttpError): string {
  return JSON.stringify({ error: { code: e.code, message: e.message } });
}

/**
 * With `clientAuth`, /mutate and /explain need a client certificate the --client-ca signed. The
 * TLS layer asks for one but lets connections without it through, so kubelet probes and Prometheus
 * still reach /healthz, /readyz and /metrics.
 */
export function createRequestHandler(
  ctx: WebhookContext,
  opts: { clientAuth?: boolean; listener?: Listener } = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const { metrics, log, limits } = ctx;
  const listener = opts.listener ?? 'webhook';

  const send = (res: ServerResponse, status: number, contentType: string, body: string, headers?: Record<string, string>) => {
    if (res.headersSent || res.destroyed) return;
    // While draining, every response closes its connection, so clients move to another replica.
    if (ctx.draining()) res.setHeader('Connection', 'close');
    if (headers) for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };

  const fail = (req: IncomingMessage, res: ServerResponse, route: string, e: HttpError, headers?: Record<string, string>) => {
    metrics.http.inc([route, String(e.status)]);
    if (route === 'mutate') metrics.requests.inc(['rejected', e.code]);
    const level = e.status >= 500 ? 'error' : 'warn';
    log[level]('http request rejected', { route, status: e.status, code: e.code, message: truncate(e.message, 300), remote: req.socket.remoteAddress });
    send(res, e.status, 'application/json', errorBody(e), headers);
  };

  const bodies = createBodyBudget(limits);

  /**
   * Reads at most `limits.maxBodyBytes`; above that, answers 413 at once and stops reading (the
   * connection is closed, not drained). A body that does not fit the shared budget (see
   * body-budget.ts) gets 503, one that arrives slower than the minimum rate gets 408, the same way:
   * memory stays bounded under any load, and stalled bodies give their bytes back within seconds.
   */
  const readBody = (req: IncomingMessage, res: ServerResponse, route: string, then: (body: Buffer) => void, scanner?: JsonBudgetScanner) => {
    const max = limits.maxBodyBytes;
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > max) {
      fail(req, res, route, httpError('body-too-large', `the request body exceeds ${max} bytes`), { Connection: 'close' });
      return;
    }
    const chunks: Buffer[] = [];
    const share: BodyShare = { size: 0, large: false };
    /** Bytes received, also those read after a refusal and dropped. */
    let received = 0;
    let stopped = false;
    const release = () => {
      clearInterval(rateCheck);
      bodies.release(share);
    };
    const stop = (e: HttpError) => {
      stopped = true;
      chunks.length = 0;
      release();
      req.off('data', onData);
      // A body of a declared length (at most maxBodyBytes) that still arrives is read and dropped,
      // not held: the client can read the answer and keep the connection. Closing while it still
      // writes would reset the connection, and the answer be lost with it. A body of unknown length,
      // or one that stalls, gets its connection closed instead.
      if (declared !== undefined && e.code !== 'body-too-slow') {
        fail(req, res, route, e);
        // The rest must still come at the minimum rate, or the connection is closed.
        const rest = Number(declared) - received;
        const drainMs = (rest / limits.minBodyBytesPerSecond) * 1000 + limits.bodyRateWindowMs;
        const drainTimer = setTimeout(() => req.socket.destroy(), drainMs).unref();
        req.once('end', () => clearTimeout(drainTimer));
        return;
      }
      req.pause();
      fail(req, res, route, e, { Connection: 'close' });
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
      chunks.push(c);
      // One chunk per turn of the event loop: a large body arriving fast cannot hold the loop for
      // many chunks in a row while other connections (a probe, the next review) wait.
      req.pause();
      setImmediate(() => stopped || req.resume());
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
        then(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, share.size));
      } catch (e) {
        log.error('request failed', { route, ...errorFields(e, true) });
        fail(req, res, route, httpError('internal-error', BUG_SEE_LOG));
      } finally {
        release();
      }
    });
    // A client that goes away mid-body: its bytes are released.
    req.once('close', release);
    // 'error'/'aborted': the client went away; there is no one to answer.
    req.on('error', () => {});
  };

  /** The checks /mutate and /explain share, in order: content type, body (read in full), its parse cost, profiles loaded. */
  const readJsonRequest = (req: IncomingMessage, res: ServerResponse, route: 'mutate' | 'explain', then: (body: Buffer, cfg: HandlerConfig) => void) => {
    if (!isJsonContentType(req.headers['content-type'])) {
      fail(
        req,
        res,
        route,
        httpError('unsupported-media-type', `Content-Type must be application/json, got ${JSON.stringify(truncate(req.headers['content-type'] ?? '', 100))}`),
      );
      return;
    }
    // The parse cost is counted as the body arrives: a body over the budget is refused at once.
    readBody(
      req,
      res,
      route,
      (body) => {
        const cfg = ctx.config();
        if (!cfg) {
          fail(req, res, route, httpError('not-ready', 'no profiles are loaded yet'));
          return;
        }
        then(body, cfg);
      },
      createJsonBudgetScanner(limits.json),
    );
  };

  const mutate = (req: IncomingMessage, res: ServerResponse, start: number) => {
    metrics.inFlight.inc();
    res.once('close', () => metrics.inFlight.dec());
    readJsonRequest(req, res, 'mutate', (body, cfg) => {
      const result = handleDecoded(decodeReview(body), cfg);
      if (!('response' in result)) {
        fail(req, res, 'mutate', result);
        return;
      }
      send(res, 200, 'application/json', result.body);
      const seconds = (performance.now() - start) / 1000;
      metrics.http.inc(['mutate', '200']);
      record(result, seconds);
      if (!result.dryRun && ctx.sideEffects) {
        try {
          ctx.sideEffects(result);
        } catch (e) {
          log.error('admission side effect failed', { uid: result.uid, ...errorFields(e, true) });
        }
      }
    });
  };

  const record = (r: AdmissionResult, seconds: number) => {
    const set = r.profileSet;
    metrics.requests.inc([r.outcome, r.reason]);
    metrics.duration.observe(seconds, [r.outcome]);
    const admitted = r.outcome === 'injected' || r.outcome === 'unchanged';
    let ignored = false;
    for (const p of r.profiles) {
      const label = profileLabel(set, p.profile, ctx.clusterWide);
      metrics.injections.inc([label, p.reason]);
      if (admitted && ERROR_REASONS.has(p.reason as ReasonCode) && set?.byName.get(p.profile)?.failurePolicy === 'ignore') {
        metrics.ignoredFailures.inc([label, p.reason]);
        ignored = true;
      }
    }
    // Every field from the request is cut: a log line stays small whatever a client sends.
    const fields: Record<string, unknown> = {
      uid: truncate(r.uid, 128),
      namespace: truncate(r.namespace, 253),
      name: truncate(r.name, 253),
      operation: truncate(r.operation, 20),
      resource: truncate(r.resource, 253),
      outcome: r.outcome,
      reason: r.reason,
      profiles: r.profiles.map((p) => ({ profile: truncate(p.profile, 63), reason: p.reason, ...(p.version !== undefined ? { version: p.version } : {}) })),
      durationMs: Math.round(seconds * 1e6) / 1000,
      dryRun: r.dryRun,
    };
    const warnings = r.response.response.warnings;
    if (warnings) fields.warnings = warnings;
    if (r.outcome === 'denied' || r.outcome === 'errored') fields.message = truncate(r.message, 1024);
    if (r.error !== undefined) Object.assign(fields, errorFields(r.error, true));
    const level = r.reason === 'internal-error' ? 'error' : r.outcome === 'denied' || r.outcome === 'errored' || ignored ? 'warn' : 'info';
    log[level]('admission', fields);
  };

  const explainRoute = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    readJsonRequest(req, res, 'explain', (body, cfg) => {
      const parsed = parseJsonBody(body);
      if (!parsed.ok) {
        fail(req, res, 'explain', parsed);
        return;
      }
      const r = explain(parsed.value, query.get('namespace') ?? undefined, cfg);
      if (!r.ok) {
        fail(req, res, 'explain', r);
        return;
      }
      let text: string;
      try {
        text = `${JSON.stringify(r.explanation, null, 2)}\n`;
      } catch {
        fail(req, res, 'explain', httpError('nesting-too-deep', 'the pod nests JSON too deeply to be written back'));
        return;
      }
      metrics.http.inc(['explain', '200']);
      send(res, 200, 'application/json', text);
    });
  };

  const readyz = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    const verbose = query.has('verbose') || req.headers.accept?.includes('application/json') === true;
    if (verbose && listener !== 'admin') {
      fail(req, res, 'readyz', httpError('not-found', 'verbose readiness is served on the admin listener (--admin-address), not on the webhook port'));
      return;
    }
    const r = ctx.readiness();
    const status = r.ready ? 200 : 503;
    metrics.http.inc(['readyz', String(status)]);
    if (verbose) {
      send(res, status, 'application/json', `${JSON.stringify({ ready: r.ready, ...r.detail }, null, 2)}\n`, { 'Cache-Control': 'no-store' });
    } else {
      send(res, status, 'text/plain; charset=utf-8', r.ready ? 'ok\n' : 'not ready\n', { 'Cache-Control': 'no-store' });
    }
  };

  return (req, res) => {
    const start = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const entry = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
    try {
      if (!entry) {
        fail(req, res, 'other', httpError('not-found', `no route for ${truncate(path, 100)}; this port serves ${served(listener)}`));
        return;
      }
      if (!entry.on.includes(listener)) {
        const where = listener === 'webhook' ? 'the admin listener (--admin-address)' : 'the webhook port';
        fail(req, res, entry.route, httpError('not-found', `${path} is served on ${where}, not here; this port serves ${served(listener)}`));
        return;
      }
      if (!entry.methods.includes(req.method ?? '')) {
        fail(
          req,
          res,
          entry.route,
          httpError('method-not-allowed', `${truncate(req.method ?? '', 20)} ${path} is not allowed; use ${entry.methods.join(' or ')}`),
          {
            Allow: entry.methods.join(', '),
          },
        );
        return;
      }
      if (opts.clientAuth && (entry.route === 'mutate' || entry.route === 'explain') && !(req.socket as TLSSocket).authorized) {
        const why = (req.socket as TLSSocket).authorizationError;
        fail(
          req,
          res,
          entry.route,
          httpError('client-certificate-required', `${path} needs a client certificate signed by the --client-ca${why ? ` (${String(why)})` : ''}`),
        );
        return;
      }
      const query = () => new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
      switch (entry.route) {
        case 'mutate':
          mutate(req, res, start);
          return;
        case 'explain':
          explainRoute(req, res, query());
          return;
        case 'healthz':
          metrics.http.inc(['healthz', '200']);
          send(res, 200, 'text/plain; charset=utf-8', 'ok\n', { 'Cache-Control': 'no-store' });
          return;
        case 'readyz':
          readyz(req, res, query());
          return;
        case 'metrics':
          metrics.http.inc(['metrics', '200']);
          send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', metrics.registry.render());
          return;
      }
    } catch (e) {
      log.error('request failed', { route: entry?.route ?? 'other', ...errorFields(e, true) });
      fail(req, res, entry?.route ?? 'other', httpError('internal-error', BUG_SEE_LOG));
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
