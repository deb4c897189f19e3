/**
 * Whether `mandatory` holds. The bundle's webhook configuration carries a matchCondition that keeps
 * pods annotated `outrigger.dev/inject: "false"` from ever reaching Outrigger (it saves a call per
 * opted-out pod); behind it a mandatory profile is not injected into those pods, and the engine,
 * never called, cannot object. `--webhook-opt-out=false` tells the server it runs behind a
 * configuration without that condition (`outrigger manifests --no-opt-out-condition` sets both);
 * otherwise every loaded mandatory profile is reported: a log line, a metric and, for cluster
 * profiles, a `MandatoryBypassable` condition.
 */
import type { SidecarProfile } from '../engine/index.ts';
import type { Logger } from './log.ts';
import type { WebhookMetrics } from './metrics.ts';

export const BYPASS_MESSAGE =
  'the webhook configuration skips pods annotated outrigger.dev/inject: "false" (its opt-out matchCondition), so they never get this profile; ' +
  'install with `outrigger manifests --no-opt-out-condition` (which runs serve with --webhook-opt-out=false) to make it mandatory';

/** The message for a mandatory profile pods can skip, or undefined when the webhook sees every pod. */
export function bypassMessage(webhookOptOut: boolean): string | undefined {
  return webhookOptOut ? BYPASS_MESSAGE : undefined;
}

/** Names (namespace/name for cluster profiles) of the mandatory profiles that pods can still skip. */
export function bypassableMandatory(profiles: readonly SidecarProfile[], webhookOptOut: boolean): string[] {
  if (!webhookOptOut) return [];
  return profiles.filter((p) => p.mandatory).map((p) => (p.namespace ? `${p.namespace}/${p.name}` : p.name));
}

/** Sets the gauge on every call; logs a warning when the set of bypassable mandatory profiles changes and is not empty. */
export function mandatoryBypassReporter(webhookOptOut: boolean, log: Logger, metrics: WebhookMetrics): (profiles: readonly SidecarProfile[]) => void {
  let last = '';
  return (profiles) => {
    const names = bypassableMandatory(profiles, webhookOptOut).sort();
    metrics.mandatoryBypassable.set(names.length);
    const key = names.join('\n');
    if (key !== last && names.length > 0) log.warn('mandatory profiles can be skipped by pods', { profiles: names, reason: BYPASS_MESSAGE });
    last = key;
  };
}
