/**
 * Metrics and logs of admissions, as a wrapper around the admission handler (the way
 * controller-runtime wraps a webhook Handler in an instrumenting one): the handler only decides,
 * the wrapper answers, counts, times, logs the admission line and runs the side effects.
 */
import type { AdmissionResult, HandlerConfig } from '../admission/handle.ts';
import type { HttpError } from '../admission/review.ts';
import { ERROR_REASONS, type ReasonCode } from '../common/errors.ts';
import type { ProfileSet } from '../engine/index.ts';
import type { JsonHandler, Step } from './guards.ts';
import type { WebhookContext } from './http.ts';
import { errorFields } from './log.ts';
import type { WebhookMetrics } from './metrics.ts';
import { type Responder, truncate } from './respond.ts';

/** Decides one admission: a result to answer with, or an error for a body with no uid to answer to. */
export type Admit = (body: Buffer, cfg: HandlerConfig) => AdmissionResult | HttpError;

/** Counts the request in flight from its arrival until its connection's response closes. */
export function countedInFlight(metrics: WebhookMetrics, next: Step): Step {
  return (x) => {
    metrics.inFlight.inc();
    x.res.once('close', () => metrics.inFlight.dec());
    next(x);
  };
}

export function instrumentedAdmission(ctx: WebhookContext, respond: Responder, admit: Admit): JsonHandler {
  const { log } = ctx;
  return (x, body, cfg) => {
    const result = admit(body, cfg);
    if (!('response' in result)) return respond.fail(x, 'mutate', result);
    respond.reply(x, 'mutate', { status: 200, contentType: 'application/json', body: result.body });
    recordAdmission(ctx, result, (performance.now() - x.start) / 1000);
    if (!result.dryRun && ctx.sideEffects) {
      try {
        ctx.sideEffects(result);
      } catch (e) {
        log.error('admission side effect failed', { uid: result.uid, ...errorFields(e, true) });
      }
    }
  };
}

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

/** The admission's metrics and its log line. */
function recordAdmission(ctx: WebhookContext, r: AdmissionResult, seconds: number): void {
  const { metrics, log } = ctx;
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
}
