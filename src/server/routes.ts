/**
 * The routes, as data: path, methods, which listener serves it, whether it needs a client
 * certificate, and its handler. The handlers decide what to answer; the guards (guards.ts) check
 * the request first and the responder (respond.ts) counts and writes the answer.
 */
import { explain } from '../admission/explain.ts';
import { handleDecoded } from '../admission/handle.ts';
import { decodeReview, httpError, parseJsonBody } from '../admission/review.ts';
import { guardNesting } from '../common/errors.ts';
import type { BodyBudget } from './body-budget.ts';
import { allowedMethod, type Check, clientCertificate, guarded, type JsonHandler, jsonRequest, type Step } from './guards.ts';
import type { Listener, WebhookContext } from './http.ts';
import { countedInFlight, instrumentedAdmission } from './instrument.ts';
import type { Answer, Exchange, Responder, Route } from './respond.ts';

export interface RouteSpec {
  path: string;
  route: Route;
  methods: readonly string[];
  /**
   * Which listener serves it. The webhook port is reachable by every pod in the cluster, so it
   * serves only what the API server, the kubelet and Prometheus need, none of it tenant data. What
   * shows profiles or cluster detail (/explain, verbose readiness) is on the admin listener, which
   * listens on loopback by default: `kubectl port-forward` and `kubectl exec` reach it, other pods do not.
   */
  on: readonly Listener[];
  /** Needs a client certificate the --client-ca signed, when there is one. */
  auth: boolean;
  /** Runs once the route is found, behind its guards. */
  handler: Step;
}

const NO_STORE = { 'Cache-Control': 'no-store' };

/** The routes of one listener. Method first, then the client certificate: a wrong method on /mutate is a 405 whoever asks. */
export function routeTable(ctx: WebhookContext, o: { listener: Listener; clientAuth: boolean; respond: Responder; bodies: BodyBudget }): RouteSpec[] {
  const { respond, bodies } = o;
  const simple =
    (route: Route, handle: (x: Exchange) => Answer): Step =>
    (x) =>
      respond.answer(x, route, handle(x));
  const json = (route: Route, handle: JsonHandler) => jsonRequest(ctx, bodies, respond, route, handle);
  const admit = instrumentedAdmission(ctx, respond, (body, cfg) => handleDecoded(decodeReview(body), cfg));
  const table: RouteSpec[] = [
    { path: '/mutate', route: 'mutate', methods: ['POST'], on: ['webhook'], auth: true, handler: countedInFlight(ctx.metrics, json('mutate', admit)) },
    {
      path: '/explain',
      route: 'explain',
      methods: ['POST'],
      on: ['admin'],
      auth: true,
      handler: json('explain', (x, body, cfg) => respond.answer(x, 'explain', explainAnswer(body, x.query(), cfg))),
    },
    {
      path: '/healthz',
      route: 'healthz',
      methods: ['GET', 'HEAD'],
      on: ['webhook', 'admin'],
      auth: false,
      handler: simple('healthz', () => ({ status: 200, contentType: 'text/plain; charset=utf-8', body: 'ok\n', headers: NO_STORE })),
    },
    {
      path: '/readyz',
      route: 'readyz',
      methods: ['GET', 'HEAD'],
      on: ['webhook', 'admin'],
      auth: false,
      handler: simple('readyz', (x) => readyzAnswer(ctx, o.listener, x)),
    },
    {
      path: '/metrics',
      route: 'metrics',
      methods: ['GET', 'HEAD'],
      on: ['webhook', 'admin'],
      auth: false,
      handler: simple('metrics', () => ({ status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8', body: () => ctx.metrics.registry.render() })),
    },
  ];
  return table.map((r) => {
    const checks: Check[] = [allowedMethod(r.methods), ...(o.clientAuth && r.auth ? [clientCertificate] : [])];
    return { ...r, handler: guarded(respond, r.route, checks, r.handler) };
  });
}

/** The routes a listener serves, for the not-found message. */
export const served = (table: readonly RouteSpec[], l: Listener) =>
  table
    .filter((r) => r.on.includes(l))
    .map((r) => `${r.methods[0]} ${r.path}`)
    .join(', ');

function explainAnswer(body: Buffer, query: URLSearchParams, cfg: Parameters<typeof explain>[2]): Answer {
  const parsed = parseJsonBody(body);
  if (!parsed.ok) return { error: parsed };
  const r = explain(parsed.value, query.get('namespace') ?? undefined, cfg);
  if (!r.ok) return { error: r };
  return guardNesting<Answer>(
    r.explanation,
    () => ({ status: 200, contentType: 'application/json', body: `${JSON.stringify(r.explanation, null, 2)}\n` }),
    () => ({ error: httpError('nesting-too-deep', 'the pod nests JSON too deeply to be written back') }),
  );
}

function readyzAnswer(ctx: WebhookContext, listener: Listener, x: Exchange): Answer {
  const verbose = x.query().has('verbose') || x.req.headers.accept?.includes('application/json') === true;
  if (verbose && listener !== 'admin') {
    return { error: httpError('not-found', 'verbose readiness is served on the admin listener (--admin-address), not on the webhook port') };
  }
  const r = ctx.readiness();
  const status = r.ready ? 200 : 503;
  if (verbose) return { status, contentType: 'application/json', body: `${JSON.stringify({ ready: r.ready, ...r.detail }, null, 2)}\n`, headers: NO_STORE };
  return { status, contentType: 'text/plain; charset=utf-8', body: r.ready ? 'ok\n' : 'not ready\n', headers: NO_STORE };
}
