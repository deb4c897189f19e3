/**
 * The engine: (pod, profiles, context) → decision + RFC 6902 patch. Pure: no I/O, no clock, no
 * randomness, so the webhook and the CLI give the same answer for the same pod.
 *
 * inject() is the algorithm; each step lives in steps/ and returns its own outcomes and warnings.
 */

import { ERROR_REASONS, REASONS, type ReasonCode } from '../common/errors.ts';
import type { JsonObject } from '../common/json.ts';
import { UNKNOWN_PROFILES_LABEL } from '../common/labels.ts';
import type { ProfileSet } from './profile.ts';
import { renderBudget } from './render.ts';
import { selectProfiles } from './select.ts';
import { readStatus } from './status.ts';
import type { InjectContext } from './steps/context.ts';
import { type Decision, failAll, type Notes, type ProfileOutcome, settled } from './steps/decision.ts';
import { keepOrExtend, recordsExactly } from './steps/extend.ts';
import { type Merged, mergePlan, mergeWithinRecordLimit } from './steps/merge-profiles.ts';
import { corruptRecord, readRecord } from './steps/read-record.ts';
import { type PatchVerifier, patchReproducesPod, verifiedDecision } from './steps/verify.ts';
import { tooManyTargetChecks } from './target-bound.ts';

export { type InjectContext, type KubeVersion, sidecarModeFor, supportsNativeSidecars, type UnknownProfiles } from './steps/context.ts';
export type { Decision, ProfileOutcome } from './steps/decision.ts';
export { recordMismatchIn } from './steps/read-record.ts';
export { type PatchVerifier, patchReproducesPod } from './steps/verify.ts';

export interface InjectOptions {
  /** The self-check of the patch; the strict second applier unless replaced (tests hand it a failing one). */
  verifyPatch?: PatchVerifier;
}

/**
 * read record → select → keep or extend → merge within the record limit (attaching the status
 * record) → verify.
 *
 * @example
 * const d = inject(pod, profiles, { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } });
 * if (d.outcome === 'denied') deny(d.message); else respond(d.patch, d.warnings);
 */
export function inject(pod: JsonObject, set: ProfileSet, ctx: InjectContext, options: InjectOptions = {}): Decision {
  const verify = options.verifyPatch ?? patchReproducesPod;
  const { status: recorded, error: statusError } = readStatus(pod);
  if (statusError) return corruptRecord(pod, set, ctx, statusError);
  // One budget for everything this admission renders, whichever profile and step renders it.
  const budget = renderBudget();
  const { status, base, warnings } = readRecord(pod, recorded, set, ctx, budget);

  const selected = select(base, set, ctx, warnings);
  const { wanted, notes } = selected;
  const unknown = unknownProfileDenial(pod, notes, ctx);
  if (unknown) return unknown;
  const tooMany = tooManyTargetChecks(base, wanted);
  if (tooMany) return failAll(pod, wanted, tooMany, notes);

  if (recordsExactly(status, wanted)) return keepOrExtend({ pod, base, status, wanted, ctx, budget }, notes, verify);
  if (wanted.length === 0 && !status) return nothingWanted(pod, selected.optedOut, notes);

  const merged = mergeWithinRecordLimit(mergePlan(pod, base, status, ctx, budget), wanted, notes);
  if ('decision' in merged) return merged.decision;
  return verifiedDecision({ pod, desired: merged.desired, ...headline(merged), notes: merged.notes, wanted: merged.active }, verify);
}

/**
 * The profiles to inject, with the skipped ones as outcomes. Selection looks at the pod as it was
 * before injection: labels a profile added must not pull in further profiles on the next run (that
 * would make injection depend on how often it ran). `recordWarnings` follow selection's own.
 */
function select(base: JsonObject, set: ProfileSet, ctx: InjectContext, recordWarnings: readonly string[]) {
  const selection = selectProfiles(base, set, ctx.namespaceLabels ?? {});
  const skipped: ProfileOutcome[] = selection.skipped.map((s) => ({ profile: s.profile, reason: s.reason, message: s.message }));
  const notes: Notes = { outcomes: skipped, warnings: [...selection.warnings, ...recordWarnings] };
  return { wanted: selection.profiles, optedOut: selection.optedOut, notes };
}

/**
 * A pod that requests a profile that does not exist, where unknown profiles are denied (the
 * namespace's label, else the server's setting): denied, naming the profile. Admitted without it
 * otherwise, as selection already said in a warning.
 */
function unknownProfileDenial(pod: JsonObject, notes: Notes, ctx: InjectContext): Decision | undefined {
  const unknown = notes.outcomes.find((o) => o.reason === 'unknown-profile');
  if (!unknown) return undefined;
  const label = ctx.namespaceLabels?.[UNKNOWN_PROFILES_LABEL];
  if (label !== undefined && label !== 'deny' && label !== 'admit') {
    notes.warnings.push(
      `namespace label ${UNKNOWN_PROFILES_LABEL}: ${JSON.stringify(label.slice(0, 63))} is neither deny nor admit; the server's setting applies`,
    );
  }
  const policy = label === 'deny' || label === 'admit' ? label : (ctx.unknownProfiles ?? 'admit');
  if (policy !== 'deny') return undefined;
  const by = label === 'deny' ? `the namespace's label ${UNKNOWN_PROFILES_LABEL}=deny` : '--unknown-profiles deny';
  // The denial says what selection's warning for this profile said: sent once, not twice.
  const warnings = notes.warnings.filter((w) => w !== unknown.message);
  return settled(pod, 'denied', 'unknown-profile', `${unknown.message}; pods that request an unknown profile are denied by ${by}`, { ...notes, warnings });
}

/** No profile applies and none was injected before: why, from the selection. */
function nothingWanted(pod: JsonObject, optedOut: boolean, notes: Notes): Decision {
  const { outcomes } = notes;
  const reason: ReasonCode = optedOut ? 'opted-out' : (outcomes.find((o) => ERROR_REASONS.has(o.reason))?.reason ?? 'nothing-requested');
  return settled(pod, 'unchanged', reason, outcomes.find((o) => o.reason === reason)?.message ?? REASONS[reason], notes);
}

/** The decision's reason and message when the merged patch is sent. */
function headline(m: Merged): { headline: ReasonCode; message: string } {
  const { outcomes } = m.notes;
  const reason =
    outcomes.find((o) => o.reason === 'updated')?.reason ??
    (m.records.length > 0 ? 'injected' : (outcomes.find((o) => ERROR_REASONS.has(o.reason))?.reason ?? 'injected'));
  const names = m.records.map((r) => `${r.name}@${r.version}`).join(', ');
  return { headline: reason, message: m.records.length > 0 ? `injected ${names}` : 'removed profiles that no longer apply' };
}
