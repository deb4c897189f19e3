/**
 * What inject() returns, and the ways a step ends it early. Each step collects its own outcomes
 * and warnings (Notes); the pipeline joins them in step order.
 */

import { ERROR_REASONS, REASONS, type ReasonCode } from '../../common/errors.ts';
import type { JsonObject } from '../../common/json.ts';
import { STATUS_ANNOTATION } from '../../common/labels.ts';
import type { PatchOp } from '../patch-diff.ts';
import type { SidecarProfile } from '../profile.ts';
import type { ProfileRecord } from '../status.ts';
import { MAX_ANNOTATION_BYTES } from '../validate-pod.ts';

export interface ProfileOutcome {
  profile: string;
  reason: ReasonCode;
  message: string;
  version?: string;
}

export interface Decision {
  /** `injected`: the patch changes the pod. `unchanged`: admit as is. `denied`: a profile with failurePolicy fail could not be injected. */
  outcome: 'injected' | 'unchanged' | 'denied';
  /** Headline reason: the first error, else `injected`/`updated`, else why nothing happened. */
  reason: ReasonCode;
  /** One sentence for people (the deny message when denied). */
  message: string;
  profiles: ProfileOutcome[];
  warnings: string[];
  patch: PatchOp[];
  /** The pod after injection (the input pod when unchanged or denied). */
  pod: JsonObject;
}

/** Per-profile outcomes and warnings, in the order they arose. */
export interface Notes {
  outcomes: ProfileOutcome[];
  warnings: string[];
}

export const noNotes = (): Notes => ({ outcomes: [], warnings: [] });

export function joinNotes(...parts: readonly Notes[]): Notes {
  return { outcomes: parts.flatMap((n) => n.outcomes), warnings: parts.flatMap((n) => n.warnings) };
}

/** A decision that sends no patch: the pod is admitted as it came, or denied. */
export function settled(pod: JsonObject, outcome: 'unchanged' | 'denied', reason: ReasonCode, message: string, notes: Notes): Decision {
  return { outcome, reason, message, profiles: notes.outcomes, warnings: notes.warnings, patch: [], pod };
}

/** Unchanged, headed by the first profile that failed, else by `fallback`. */
export function unchangedAfter(pod: JsonObject, notes: Notes, fallback: ReasonCode): Decision {
  const failed = notes.outcomes.find((o) => ERROR_REASONS.has(o.reason));
  return failed ? settled(pod, 'unchanged', failed.reason, failed.message, notes) : settled(pod, 'unchanged', fallback, REASONS[fallback], notes);
}

/** The warning for a profile with failurePolicy ignore that could not be injected. */
export const admittedWithout = (message: string) => `${message} (the pod is admitted without it: failurePolicy ignore)`;

export const cannotInject = (p: { name: string }, detail: string) => `profile ${JSON.stringify(p.name)} cannot be injected: ${detail}`;

export const RECORD_TOO_LARGE = `the status record ${STATUS_ANNOTATION} would take the pod's annotations over the API server's limit of ${MAX_ANNOTATION_BYTES} bytes`;

/** Every wanted profile fails for one reason about the whole pod, before any work; failurePolicy decides. */
export function failAll(pod: JsonObject, wanted: readonly SidecarProfile[], detail: string, before: Notes): Decision {
  const own = noNotes();
  for (const p of wanted) {
    const m = cannotInject(p, detail);
    own.outcomes.push({ profile: p.name, reason: 'invalid-result', message: m, version: p.version });
    if (p.failurePolicy !== 'fail') own.warnings.push(admittedWithout(m));
  }
  const deny = wanted.some((p) => p.failurePolicy === 'fail');
  const message = `cannot inject ${wanted.map((p) => p.name).join(', ')}: ${detail}`;
  return settled(pod, deny ? 'denied' : 'unchanged', 'invalid-result', message, joinNotes(before, own));
}

/**
 * The status record would push the pod's annotations over the API server's limit (a pod with very
 * many targeted containers): every profile that was to be injected fails, and failurePolicy decides.
 */
export function recordTooLarge(pod: JsonObject, records: readonly ProfileRecord[], notes: Notes, wanted: readonly SidecarProfile[]): Decision {
  const names = new Set(records.map((r) => r.name));
  let deny = false;
  const warnings = [...notes.warnings];
  const outcomes = notes.outcomes.map((o) => {
    if (!names.has(o.profile)) return o;
    const m = cannotInject({ name: o.profile }, RECORD_TOO_LARGE);
    if (wanted.find((p) => p.name === o.profile)?.failurePolicy === 'fail') deny = true;
    else warnings.push(admittedWithout(m));
    return { ...o, reason: 'invalid-result' as const, message: m };
  });
  const first = `cannot inject ${[...names].join(', ')}: ${RECORD_TOO_LARGE}`;
  return settled(pod, deny ? 'denied' : 'unchanged', 'invalid-result', first, { outcomes, warnings });
}
