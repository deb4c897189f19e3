/**
 * Last step of inject(): diff the original pod against the desired one, then check the patch with
 * the independent applier. A patch that does not reproduce the desired pod is never sent.
 */

import type { ReasonCode } from '../../common/errors.ts';
import type { JsonObject } from '../../common/json.ts';
import { patchReproduces } from '../patch-apply.ts';
import { diff, type PatchOp } from '../patch-diff.ts';
import type { SidecarProfile } from '../profile.ts';
import { type Decision, joinNotes, type Notes, settled, unchangedAfter } from './decision.ts';

/** True when applying `patch` to `pod` gives exactly `desired`. */
export type PatchVerifier = (pod: JsonObject, patch: readonly PatchOp[], desired: JsonObject) => boolean;

/** The self-check inject() runs unless told otherwise: the strict second applier, then a compare of what it touched. */
export const patchReproducesPod: PatchVerifier = (pod, patch, desired) => {
  try {
    return patchReproduces(pod, patch, desired);
  } catch {
    // A patch the applier refuses reproduces nothing.
    return false;
  }
};

export const VERIFICATION_FAILED = 'the computed patch did not reproduce the injected pod; this is a bug in Outrigger';

export interface Verified {
  pod: JsonObject;
  desired: JsonObject;
  /** The reason and message of the decision when the patch is sent. */
  headline: ReasonCode;
  message: string;
  notes: Notes;
  /** The profiles being injected: whether any has failurePolicy fail decides a failed check. */
  wanted: readonly SidecarProfile[];
}

export function verifiedDecision(v: Verified, verify: PatchVerifier): Decision {
  const { pod, desired, notes } = v;
  const patch = diff(pod, desired);
  if (patch.length === 0) return unchangedAfter(pod, notes, 'already-injected');
  if (!verify(pod, patch, desired)) {
    const failed = { outcomes: [{ profile: '*', reason: 'patch-verification-failed' as const, message: VERIFICATION_FAILED }], warnings: [] };
    if (v.wanted.some((p) => p.failurePolicy === 'fail'))
      return settled(pod, 'denied', 'patch-verification-failed', VERIFICATION_FAILED, joinNotes(notes, failed));
    const warned = { ...failed, warnings: [`${VERIFICATION_FAILED} (the pod is admitted unchanged)`] };
    return settled(pod, 'unchanged', 'patch-verification-failed', VERIFICATION_FAILED, joinNotes(notes, warned));
  }
  return { outcome: 'injected', reason: v.headline, message: v.message, profiles: notes.outcomes, warnings: notes.warnings, patch, pod: desired };
}
