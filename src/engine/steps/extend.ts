/**
 * Step 3 of inject(): a pod that already carries exactly the wanted profiles keeps them. Reinvoked
 * after another webhook added containers, those get the profiles' env, envFrom and mounts too,
 * recorded in the status. A profile that cannot be extended (a conflict, a template error, an
 * invalid result, a record too large) fails as in a first injection, and its failurePolicy decides:
 * the new containers do not carry it, and a record cannot tell them from the pod's own.
 */

import { REASONS, type ReasonCode } from '../../common/errors.ts';
import type { JsonObject } from '../../common/json.ts';
import { globList } from '../../common/k8s-names.ts';
import { type MergeState, mergeProfile } from '../merge.ts';
import { addedBytes, type PodSize, podSize, TOO_LARGE } from '../pod-size.ts';
import type { SidecarProfile } from '../profile.ts';
import { type Parts, type RenderBudget, RenderError, renderParts } from '../render.ts';
import type { ProfileRecord, StatusRecord } from '../status.ts';
import { introducedErrors, validatePod } from '../validate-pod.ts';
import { recordCrossesLimit, withStatus } from './attach-status.ts';
import { type InjectContext, ownNames, podAnnotations, templateValuesFor } from './context.ts';
import { admittedWithout, type Decision, joinNotes, type Notes, type ProfileOutcome, RECORD_TOO_LARGE, settled } from './decision.ts';
import { type PatchVerifier, verifiedDecision } from './verify.ts';

export interface Kept {
  pod: JsonObject;
  base: JsonObject;
  status: StatusRecord;
  wanted: readonly SidecarProfile[];
  ctx: InjectContext;
  budget: RenderBudget;
}

/** True when the record names exactly the wanted profiles, in order, at their current hashes. */
export function recordsExactly(status: StatusRecord | undefined, wanted: readonly SidecarProfile[]): status is StatusRecord {
  if (!status || status.profiles.length !== wanted.length) return false;
  return wanted.every((p, i) => {
    const r = status.profiles[i] as ProfileRecord;
    return r.name === p.name && r.hash === p.hash;
  });
}

export function keepOrExtend(k: Kept, before: Notes, verify: PatchVerifier): Decision {
  const extended = extendToNewContainers(k);
  const outcomes = k.wanted.map((p) => keptOutcome(p, extended?.added.get(p.name)));
  const warnings = [...(extended?.warnings ?? [])];
  for (const f of extended?.failed ?? []) {
    const i = outcomes.findIndex((o) => o.profile === f.profile.name);
    outcomes[i] = { profile: f.profile.name, reason: f.reason, message: f.message, version: f.profile.version };
    if (f.profile.failurePolicy === 'fail') return settled(k.pod, 'denied', f.reason, f.message, joinNotes(before, { outcomes, warnings }));
    warnings.push(admittedWithout(f.message));
  }
  const notes = joinNotes(before, { outcomes, warnings });
  if (!extended || extended.added.size === 0) {
    const failed = extended?.failed[0];
    if (failed) return settled(k.pod, 'unchanged', failed.reason, failed.message, notes);
    return settled(k.pod, 'unchanged', 'already-injected', REASONS['already-injected'], notes);
  }
  const message = `extended ${[...extended.added.keys()].join(', ')} to new containers`;
  return verifiedDecision({ pod: k.pod, desired: extended.pod, headline: 'injected', message, notes, wanted: k.wanted }, verify);
}

function keptOutcome(p: SidecarProfile, added: readonly string[] | undefined): ProfileOutcome {
  const message = added
    ? `profile ${JSON.stringify(p.name)} extended to container(s) added after injection: ${added.join(', ')}`
    : `profile ${JSON.stringify(p.name)} is already injected at version ${p.version}`;
  return { profile: p.name, reason: added ? 'injected' : 'already-injected', message, version: p.version };
}

interface ExtensionFailure {
  profile: SidecarProfile;
  reason: ReasonCode;
  message: string;
}

interface Extension {
  pod: JsonObject;
  /** Per profile, the containers it was extended to. */
  added: Map<string, string[]>;
  warnings: string[];
  failed: ExtensionFailure[];
}

/** A profile with env or mounts to give, the index of its record, and the new containers it targets. */
interface Plan {
  p: SidecarProfile;
  i: number;
  record: ProfileRecord;
  own: MergeState['own'];
}

/** The profiles that target containers added since injection; none when there is nothing to extend. */
function extensionPlans(pod: JsonObject, status: StatusRecord, wanted: readonly SidecarProfile[]): Plan[] {
  const injected = new Set(status.profiles.flatMap((r) => [...(r.containers ?? []), ...(r.initContainers ?? [])]));
  const current = { containers: ownNames(pod, 'containers'), initContainers: ownNames(pod, 'initContainers') };
  for (const n of injected) {
    current.containers.delete(n);
    current.initContainers.delete(n);
  }
  const fresh = (names: Set<string>, globs: readonly string[], done: Record<string, unknown> | undefined) => {
    const patterns = globList(globs);
    return new Set([...names].filter((n) => !Object.hasOwn(done ?? {}, n) && patterns.test(n)));
  };
  return wanted.flatMap((p, i) => {
    const record = status.profiles[i] as ProfileRecord;
    if (p.env.length === 0 && p.envFrom.length === 0 && p.volumeMounts.length === 0) return [];
    const own = {
      containers: fresh(current.containers, p.targets, record.targets),
      initContainers: fresh(current.initContainers, p.initContainerTargets, record.initTargets),
    };
    return own.containers.size + own.initContainers.size > 0 ? [{ p, i, record, own }] : [];
  });
}

/** Undefined when no profile targets a new container. */
function extendToNewContainers(k: Kept): Extension | undefined {
  const { pod } = k;
  const plans = extensionPlans(pod, k.status, k.wanted);
  if (plans.length === 0) return undefined;
  let before: ReadonlySet<string> | undefined;
  const run: ExtensionRun = {
    values: templateValuesFor(k.base, k.ctx),
    annotations: podAnnotations(pod),
    budget: k.budget,
    pod,
    before: () => (before ??= new Set(validatePod(pod))),
  };
  const ext: Extension = { pod, added: new Map(), warnings: [], failed: [] };
  const records = [...k.status.profiles];
  let state: MergeState = { pod, initInsertAt: 0, created: [], own: { containers: new Set(), initContainers: new Set() } };
  const size = podSize(pod);
  for (const plan of plans) {
    const step = extendOne(run, plan, state, size);
    if ('detail' in step) {
      ext.failed.push(extensionFailure(plan.p, step.reason, step.detail));
      continue;
    }
    if (step.names.length === 0) continue;
    state = step.state;
    ext.warnings.push(...step.warnings);
    records[plan.i] = step.record;
    ext.added.set(plan.p.name, step.names);
  }
  if (ext.added.size === 0) return ext;
  const extended = withStatus(state.pod, { v: 1, profiles: records }, [...(k.status.created ?? []), ...state.created]);
  if (recordCrossesLimit(pod, extended)) {
    for (const { p } of plans) if (ext.added.has(p.name)) ext.failed.push(extensionFailure(p, 'invalid-result', RECORD_TOO_LARGE));
    return { ...ext, added: new Map() };
  }
  return { ...ext, pod: extended };
}

interface ExtensionRun {
  values: ReturnType<typeof templateValuesFor>;
  annotations: Readonly<Record<string, string>>;
  budget: RenderBudget;
  /** The pod being extended. */
  pod: JsonObject;
  /** The pod's own validation errors (asked for only when needed): only new ones are the profile's. */
  before: () => ReadonlySet<string>;
}

const extensionFailure = (p: SidecarProfile, reason: ReasonCode, detail: string): ExtensionFailure => ({
  profile: p,
  reason,
  message: `profile ${JSON.stringify(p.name)} cannot be extended to new containers: ${detail}`,
});

type ExtensionStep = { state: MergeState; record: ProfileRecord; names: string[]; warnings: string[] } | { reason: ReasonCode; detail: string };

/** One profile's env, envFrom and mounts into the new containers it targets (no sidecars, volumes or metadata). */
function extendOne(run: ExtensionRun, { p, record, own }: Plan, state: MergeState, size: PodSize): ExtensionStep {
  let parts: ReturnType<typeof renderParts>;
  try {
    parts = renderParts(p, () => run.values(p), run.annotations, run.budget);
  } catch (e) {
    if (!(e instanceof RenderError)) throw e;
    return { reason: e.reason, detail: e.message };
  }
  // Built field by field: a copy of `parts` would carry its sidecars along (nativeContainers).
  const targetsOnly: Parts = {
    containers: [],
    initContainers: [],
    volumes: [],
    imagePullSecrets: [],
    labels: {},
    annotations: {},
    env: parts.env,
    envFrom: parts.envFrom,
    volumeMounts: parts.volumeMounts,
  };
  const merged = mergeProfile({ ...state, own }, p, targetsOnly, record.mode);
  if (!merged.ok) return { reason: 'name-conflict', detail: merged.message };
  const tooLarge = size.add(addedBytes(p, parts, merged.record, true));
  if (tooLarge !== undefined) return { reason: 'invalid-result', detail: TOO_LARGE(tooLarge) };
  const introduced = introducedErrors(run.pod, merged.state.pod, run.before);
  // Its size stays counted (size.add kept it): the estimate only ever errs high.
  if (introduced.length > 0) return { reason: 'invalid-result', detail: `the API server would reject the pod: ${introduced.join('; ')}` };
  const names = [...Object.keys(merged.record.targets ?? {}), ...Object.keys(merged.record.initTargets ?? {})];
  const extendedRecord: ProfileRecord = {
    ...record,
    ...(merged.record.targets ? { targets: { ...record.targets, ...merged.record.targets } } : {}),
    ...(merged.record.initTargets ? { initTargets: { ...record.initTargets, ...merged.record.initTargets } } : {}),
  };
  return { state: merged.state, record: extendedRecord, names, warnings: merged.warnings };
}
