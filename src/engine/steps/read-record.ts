/**
 * Step 1 of inject(): read the pod's status record and decide whether to trust it. The result is
 * the pod as it was before injection (`base`), which every later step reads.
 */

import { REASONS, type ReasonCode } from '../../common/errors.ts';
import { type JsonObject, nameOf } from '../../common/json.ts';
import { STATUS_ANNOTATION } from '../../common/labels.ts';
import type { ProfileSet } from '../profile.ts';
import { type CheckOptions, type InitOrder, initOrderMismatch, recordMismatch } from '../record-check.ts';
import { recordScope } from '../record-scope.ts';
import { type RenderBudget, RenderError, renderBudget, renderParts } from '../render.ts';
import { selectProfiles } from '../select.ts';
import type { StatusRecord } from '../status.ts';
import { tooManyTargetChecks } from '../target-bound.ts';
import { removeRecorded } from '../uninject.ts';
import { type InjectContext, podAnnotations, sidecarModeFor, templateValuesFor } from './context.ts';
import { type Decision, type ProfileOutcome, settled } from './decision.ts';

export interface ReadRecord {
  /** The record, when the pod holds what it claims. */
  status?: StatusRecord;
  /** The pod before injection: what selection and templates read, and what a new injection starts from. */
  base: JsonObject;
  warnings: string[];
}

/**
 * The record, when the pod holds what it claims, and the pod before injection. A record the pod
 * does not hold (copied from another pod, or edited) is not trusted at all: nothing it names is
 * removed (it may name another webhook's sidecar), and the profiles are injected as into a pod that
 * has none, so a look-alike of a sidecar is a name conflict that conflictPolicy settles.
 */
export function readRecord(pod: JsonObject, status: StatusRecord | undefined, set: ProfileSet, ctx: InjectContext, budget: RenderBudget): ReadRecord {
  if (!status) return { base: pod, warnings: [] };
  // Entries that are not checked (unknown profile, older version) remove only what is replaced anyway.
  const scope = recordScope(status, set);
  const base = removeRecorded(pod, scope.removable);
  const mismatch = recordMismatchIn(pod, status, set, ctx, { unrecordedTargets: 'extend' }, base, budget);
  if (!mismatch) return { status, base, warnings: scope.warnings };
  return {
    base: removeRecorded(pod, { v: 1, profiles: [] }),
    warnings: [`${STATUS_ANNOTATION} does not match the pod (${mismatch}); it is ignored, and the pod is treated as not injected`],
  };
}

/**
 * Why the pod does not hold what its status record claims, or undefined when it does. Checked are
 * the entries whose profile exists at the recorded hash: an older version cannot be rendered again,
 * so of those injection removes only what the current version replaces (record-scope.ts). `base`
 * is the pod before injection (what templates read).
 */
export function recordMismatchIn(
  pod: JsonObject,
  status: StatusRecord,
  set: ProfileSet,
  ctx: InjectContext,
  o: CheckOptions,
  base: JsonObject = removeRecorded(pod, status),
  budget: RenderBudget = renderBudget(),
): string | undefined {
  const checked = status.profiles.flatMap((r) => {
    const p = set.byName.get(r.name);
    return p && p.hash === r.hash ? [p] : [];
  });
  const tooMany = tooManyTargetChecks(pod, checked);
  if (tooMany) return tooMany;
  const injected = new Set(status.profiles.flatMap((r) => [...(r.containers ?? []), ...(r.initContainers ?? [])]));
  const annotations = podAnnotations(pod);
  const values = templateValuesFor(base, ctx);
  const order: InitOrder = { rendered: [], recorded: new Set() };
  for (const r of status.profiles) {
    const p = set.byName.get(r.name);
    if (!p || p.hash !== r.hash) continue;
    let detail: string | undefined;
    try {
      const parts = renderParts(p, () => values(p), annotations, budget);
      detail = recordMismatch(pod, r, p, parts, { injected, mode: sidecarModeFor(p, ctx.kubeVersion) }, o);
      const native = r.mode === 'native' ? parts.containers : [];
      for (const c of [...parts.initContainers, ...native]) order.rendered.push(nameOf(c) as string);
      for (const n of r.initContainers ?? []) order.recorded.add(n);
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      detail = e.message;
    }
    if (detail) return `profile ${JSON.stringify(p.name)} at version ${p.version}: ${detail}`;
  }
  return initOrderMismatch(pod, order);
}

/**
 * Without a readable record nothing can be injected safely (the pod may already carry sidecars).
 * That only matters when some profile applies; then the profiles' failurePolicy decides.
 */
export function corruptRecord(pod: JsonObject, set: ProfileSet, ctx: InjectContext, statusError: string): Decision {
  const sel = selectProfiles(pod, set, ctx.namespaceLabels ?? {});
  const message = `${statusError}; remove the annotation or restore it from the injected pod`;
  const outcomes: ProfileOutcome[] = [
    ...sel.skipped.map((s) => ({ profile: s.profile, reason: s.reason, message: s.message })),
    ...sel.profiles.map((p) => ({ profile: p.name, reason: 'invalid-annotation' as const, message, version: p.version })),
  ];
  if (sel.profiles.length === 0) {
    const reason: ReasonCode = sel.optedOut ? 'opted-out' : 'nothing-requested';
    return settled(pod, 'unchanged', reason, REASONS[reason], { outcomes, warnings: [...sel.warnings, statusError] });
  }
  if (sel.profiles.some((p) => p.failurePolicy === 'fail')) return settled(pod, 'denied', 'invalid-annotation', message, { outcomes, warnings: sel.warnings });
  const warnings = [...sel.warnings, `${message} (admitted without injection: failurePolicy ignore)`];
  return settled(pod, 'unchanged', 'invalid-annotation', message, { outcomes, warnings });
}
