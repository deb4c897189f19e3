/**
 * Step 4 of inject(): merge the wanted profiles into the pod before injection, within the API
 * server's limits, and attach the status record. A profile that cannot be merged fails alone, and
 * its failurePolicy decides whether the pod is denied or admitted without it.
 */

import type { ReasonCode } from '../../common/errors.ts';
import { isObject, type JsonObject } from '../../common/json.ts';
import { type MergeState, mergeProfile } from '../merge.ts';
import { addedBytes, type PodSize, podSize, TOO_LARGE } from '../pod-size.ts';
import type { SidecarProfile } from '../profile.ts';
import { type RenderBudget, RenderError, renderParts } from '../render.ts';
import type { ProfileRecord, StatusRecord } from '../status.ts';
import type { TemplateValues } from '../template.ts';
import { introducedErrors, validatePod } from '../validate-pod.ts';
import { recordCrossesLimit, withStatus } from './attach-status.ts';
import { type InjectContext, ownNames, podAnnotations, sidecarModeFor, supportsNativeSidecars, templateValuesFor } from './context.ts';
import { admittedWithout, cannotInject, type Decision, joinNotes, type Notes, noNotes, RECORD_TOO_LARGE, recordTooLarge, settled } from './decision.ts';

/** What every merge attempt of one injection starts from. */
export interface MergePlan {
  /** The pod as admitted: what a decision that sends nothing returns. */
  pod: JsonObject;
  start: MergeState;
  previous: ReadonlyMap<string, ProfileRecord>;
  ctx: InjectContext;
  budget: RenderBudget;
  values: (p: SidecarProfile) => TemplateValues;
  annotations: Readonly<Record<string, string>>;
  /** The pod before injection, the one `start` merges into. */
  base: JsonObject;
  /** The pod's own validation errors, looked up only when a merged pod has any (most pods have none). */
  baseErrors: () => ReadonlySet<string>;
}

/** A pod with an outdated or different record is rebuilt from its pre-injection state (`base`). */
export function mergePlan(pod: JsonObject, base: JsonObject, status: StatusRecord | undefined, ctx: InjectContext, budget: RenderBudget): MergePlan {
  let baseErrors: ReadonlySet<string> | undefined;
  return {
    pod,
    start: { pod: base, initInsertAt: 0, created: [], own: { containers: ownNames(base, 'containers'), initContainers: ownNames(base, 'initContainers') } },
    previous: new Map((status?.profiles ?? []).map((r) => [r.name, r])),
    ctx,
    budget,
    values: templateValuesFor(base, ctx),
    annotations: podAnnotations(pod),
    base,
    baseErrors: () => {
      baseErrors ??= new Set(validatePod(base));
      return baseErrors;
    },
  };
}

/** The profiles merged, the pod with its record, and the profiles that were being injected. */
export interface Merged {
  desired: JsonObject;
  records: ProfileRecord[];
  notes: Notes;
  active: readonly SidecarProfile[];
}

/**
 * Merges `wanted`; when the status record would take the annotations over the limit, a second and
 * last attempt merges only the failurePolicy fail profiles: an ignore profile must never be the
 * reason a pod is denied. When that is still too large (or there was nothing to drop), every
 * profile fails and failurePolicy decides.
 */
export function mergeWithinRecordLimit(plan: MergePlan, wanted: readonly SidecarProfile[], before: Notes): Merged | { decision: Decision } {
  const first = attempt(plan, wanted, [], before);
  if ('decision' in first || !first.tooLarge) return first;
  const mandatory = wanted.filter((p) => p.failurePolicy === 'fail');
  if (mandatory.length === 0 || mandatory.length === wanted.length) return { decision: recordTooLarge(plan.pod, first.records, first.notes, wanted) };
  const second = attempt(
    plan,
    mandatory,
    wanted.filter((p) => p.failurePolicy !== 'fail'),
    before,
  );
  if ('decision' in second || !second.tooLarge) return second;
  return { decision: recordTooLarge(plan.pod, second.records, second.notes, mandatory) };
}

/** One attempt: merge `active`, note the `dropped` ones as failed, attach the record. */
function attempt(
  plan: MergePlan,
  active: readonly SidecarProfile[],
  dropped: readonly SidecarProfile[],
  before: Notes,
): (Merged & { tooLarge: boolean }) | { decision: Decision } {
  const merged = mergeValidated(plan, active);
  const notes = joinNotes(before, merged.notes, droppedNotes(dropped));
  if (merged.denial) return { decision: settled(plan.pod, 'denied', merged.denial.reason, merged.denial.message, notes) };
  const { state, records } = merged;
  // The record grows with the containers a profile targets.
  const desired = records.length > 0 ? withStatus(state.pod, { v: 1, profiles: records }, [...state.created]) : state.pod;
  return { desired, records, notes, active, tooLarge: records.length > 0 && recordCrossesLimit(state.pod, desired) };
}

function droppedNotes(dropped: readonly SidecarProfile[]): Notes {
  const notes = noNotes();
  for (const p of dropped) {
    const m = cannotInject(p, RECORD_TOO_LARGE);
    notes.outcomes.push({ profile: p.name, reason: 'invalid-result', message: m, version: p.version });
    notes.warnings.push(admittedWithout(m));
  }
  return notes;
}

interface Attempt {
  state: MergeState;
  records: ProfileRecord[];
  notes: Notes;
  /** Set when a profile with failurePolicy fail could not be merged: the pod is denied. */
  denial?: { reason: ReasonCode; message: string };
}

/**
 * Fast path: merge everything and validate once. Only when that fails (or a profile is refused)
 * merge again validating after each profile, to pin a rule break on the profile that caused it.
 */
function mergeValidated(plan: MergePlan, active: readonly SidecarProfile[]): Attempt {
  const fast = mergeEach(plan, active, undefined);
  if (!fast.denial) {
    if (introducedErrors(plan.base, fast.state.pod, plan.baseErrors).length === 0) return fast;
  }
  return mergeEach(plan, active, plan.baseErrors);
}

/** Merges the profiles in order; with `baseErrors`, validates after each one against the pod's own errors. */
function mergeEach(plan: MergePlan, active: readonly SidecarProfile[], baseErrors: (() => ReadonlySet<string>) | undefined): Attempt {
  const notes = noNotes();
  let state = plan.start;
  const size = podSize(plan.base);
  const records: ProfileRecord[] = [];
  for (const profile of active) {
    const step = mergeOne(plan, profile, state, size, baseErrors);
    if (!step.ok) {
      const message = cannotInject(profile, step.detail);
      notes.outcomes.push({ profile: profile.name, reason: step.reason, message, version: profile.version });
      if (profile.failurePolicy === 'fail') return { state, records, notes, denial: { reason: step.reason, message } };
      notes.warnings.push(admittedWithout(message));
      continue;
    }
    ({ state } = step);
    notes.warnings.push(...step.warnings);
    records.push(step.record);
    notes.outcomes.push(mergedOutcome(profile, plan.previous.get(profile.name)));
  }
  return { state, records, notes };
}

type ProfileStep = { ok: true; state: MergeState; record: ProfileRecord; warnings: string[] } | { ok: false; reason: ReasonCode; detail: string };

/** One profile: render, merge, and check the pod's size (and, with `baseErrors`, its validity). */
function mergeOne(
  plan: MergePlan,
  profile: SidecarProfile,
  state: MergeState,
  size: PodSize,
  baseErrors: (() => ReadonlySet<string>) | undefined,
): ProfileStep {
  const kube = plan.ctx.kubeVersion;
  const mode = sidecarModeFor(profile, kube);
  if (mode === 'native' && !supportsNativeSidecars(kube) && profile.containers.length > 0)
    return {
      ok: false,
      reason: 'unsupported-kube-version',
      detail: `sidecarMode native needs Kubernetes 1.29 or newer, and the cluster is ${kube.major}.${kube.minor}`,
    };
  let parts: ReturnType<typeof renderParts>;
  try {
    parts = renderParts(profile, () => plan.values(profile), plan.annotations, plan.budget);
  } catch (e) {
    if (!(e instanceof RenderError)) throw e;
    return { ok: false, reason: e.reason, detail: e.message };
  }
  const merged = mergeProfile(state, profile, parts, mode);
  if (!merged.ok) return { ok: false, reason: 'name-conflict', detail: merged.message };
  const tooLarge = size.add(addedBytes(profile, parts, merged.record));
  if (tooLarge !== undefined) return { ok: false, reason: 'invalid-result', detail: TOO_LARGE(tooLarge) };
  if (baseErrors) {
    const introduced = introducedErrors(plan.base, merged.state.pod, baseErrors);
    if (introduced.length > 0) return { ok: false, reason: 'invalid-result', detail: `the API server would reject the pod: ${introduced.join('; ')}` };
  }
  const completing = runToCompletion(profile, merged.record, merged.state.pod, kube);
  return { ok: true, state: merged.state, record: merged.record, warnings: completing ? [...merged.warnings, completing] : merged.warnings };
}

/**
 * A classic sidecar in a pod meant to run to completion (restartPolicy Never or OnFailure, as every
 * Job's pod has) keeps the pod running after its app has finished, so the Job never completes.
 */
function runToCompletion(profile: SidecarProfile, record: ProfileRecord, pod: JsonObject, kube: InjectContext['kubeVersion']): string | undefined {
  const policy = isObject(pod.spec) ? pod.spec.restartPolicy : undefined;
  if (record.mode !== 'classic' || !record.containers?.length || (policy !== 'Never' && policy !== 'OnFailure')) return undefined;
  const why =
    profile.sidecarMode === 'auto'
      ? `Kubernetes ${kube.major}.${kube.minor} has no native sidecars (1.29 and later do)`
      : 'the profile sets sidecarMode: classic';
  const names = record.containers.map((n) => JSON.stringify(n)).join(', ');
  return `profile ${JSON.stringify(profile.name)}: ${why}, so ${names} ${record.containers.length === 1 ? 'runs as an ordinary container' : 'run as ordinary containers'} in a pod with restartPolicy ${policy}: the pod does not complete while ${record.containers.length === 1 ? 'it runs' : 'they run'} (a Job never finishes) unless the sidecar exits on its own`;
}

function mergedOutcome(profile: SidecarProfile, before: ProfileRecord | undefined) {
  const pn = JSON.stringify(profile.name);
  const v = profile.version;
  if (before === undefined) return { profile: profile.name, reason: 'injected' as const, message: `profile ${pn} injected at version ${v}`, version: v };
  if (before.hash === profile.hash)
    return { profile: profile.name, reason: 'already-injected' as const, message: `profile ${pn} is already injected at version ${v}`, version: v };
  return { profile: profile.name, reason: 'updated' as const, message: `profile ${pn} updated from version ${before.version} to ${v}`, version: v };
}
