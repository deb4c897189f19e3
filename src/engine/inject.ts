/**
 * The engine: (pod, profiles, context) → decision + RFC 6902 patch. Pure: no I/O, no clock, no
 * randomness, so the webhook and the CLI give the same answer for the same pod.
 *
 * select → (uninject a stale record) → per profile: render → merge → validate → record status
 * → diff original → desired → apply the patch independently and compare (self-check).
 */
import { isObject, type JsonObject, listOf, nameOf, stringMap } from './json.ts';
import { globList } from './k8s-names.ts';
import { type MergeState, mergeProfile } from './merge.ts';
import { patchReproduces } from './patch-apply.ts';
import { diff, type PatchOp } from './patch-diff.ts';
import { addedBytes, podSize, TOO_LARGE } from './pod-size.ts';
import type { ProfileSet, SidecarProfile } from './profile.ts';
import { ERROR_REASONS, REASONS, type ReasonCode } from './reasons.ts';
import { type CheckOptions, type InitOrder, initOrderMismatch, recordMismatch } from './record-check.ts';
import { recordScope } from './record-scope.ts';
import { type RenderBudget, RenderError, renderBudget, renderParts } from './render.ts';
import { selectProfiles } from './select.ts';
import { NULL_SUFFIX, type ProfileRecord, readStatus, STATUS_ANNOTATION, type StatusRecord } from './status.ts';
import { tooManyTargetChecks } from './target-bound.ts';
import type { TemplateValues } from './template.ts';
import { removeRecorded } from './uninject.ts';
import { annotationsTooLarge, introducedErrors, MAX_ANNOTATION_BYTES, validatePod } from './validate-pod.ts';

export interface KubeVersion {
  major: number;
  minor: number;
}

export interface InjectContext {
  /** Namespace the pod is created in. */
  namespace: string;
  namespaceLabels?: Readonly<Record<string, string>>;
  /** Version of the API server; decides native vs classic sidecars for `sidecarMode: auto`. */
  kubeVersion: KubeVersion;
}

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

/** Kubernetes 1.29 turned native sidecars (SidecarContainers) on by default. */
export function supportsNativeSidecars(v: KubeVersion): boolean {
  return v.major > 1 || (v.major === 1 && v.minor >= 29);
}

/** The mode a profile's sidecars get on this cluster. */
export function sidecarModeFor(p: SidecarProfile, v: KubeVersion): 'native' | 'classic' {
  if (p.sidecarMode !== 'auto') return p.sidecarMode;
  return supportsNativeSidecars(v) ? 'native' : 'classic';
}

/**
 * Template values for each profile of one request. The pod's and namespace's part is the same for
 * all of them, so it is built once, and only when a profile has templates.
 */
function templateValuesFor(pod: JsonObject, ctx: InjectContext): (profile: SidecarProfile) => TemplateValues {
  let shared: Omit<TemplateValues, 'profile'> | undefined;
  return (profile) => {
    shared ??= podTemplateValues(pod, ctx);
    return { ...shared, profile: { name: profile.name, version: profile.version } };
  };
}

function podTemplateValues(pod: JsonObject, ctx: InjectContext): Omit<TemplateValues, 'profile'> {
  const meta = isObject(pod.metadata) ? pod.metadata : {};
  const spec = isObject(pod.spec) ? pod.spec : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  // An undefined field reads as absent (see lookup).
  return {
    pod: {
      name: str(meta.name),
      generateName: str(meta.generateName),
      serviceAccountName: str(spec.serviceAccountName),
      namespace: ctx.namespace,
      labels: stringMap(meta.labels),
      annotations: stringMap(meta.annotations),
    },
    namespace: { name: ctx.namespace, labels: { ...ctx.namespaceLabels } },
  };
}

/** Names of the pod's own containers (by name), i.e. not recorded as injected. */
function ownNames(pod: JsonObject, field: 'containers' | 'initContainers'): Set<string> {
  const spec = isObject(pod.spec) ? pod.spec : {};
  const names = new Set<string>();
  for (const c of listOf(spec[field])) {
    const name = nameOf(c);
    if (name !== undefined) names.add(name);
  }
  return names;
}

function withStatus(pod: JsonObject, status: StatusRecord, created: string[]): JsonObject {
  const meta: JsonObject = isObject(pod.metadata) ? { ...pod.metadata } : {};
  if (!isObject(pod.metadata)) created.push(pod.metadata === null ? `metadata${NULL_SUFFIX}` : 'metadata');
  if (!isObject(meta.annotations)) created.push(meta.annotations === null ? `metadata.annotations${NULL_SUFFIX}` : 'metadata.annotations');
  const record: StatusRecord = created.length > 0 ? { ...status, created } : status;
  meta.annotations = { ...(isObject(meta.annotations) ? meta.annotations : {}), [STATUS_ANNOTATION]: JSON.stringify(record) };
  return { ...pod, metadata: meta };
}

/**
 * Without a readable record nothing can be injected safely (the pod may already carry sidecars).
 * That only matters when some profile applies; then the profiles' failurePolicy decides.
 */
function corruptStatus(pod: JsonObject, set: ProfileSet, ctx: InjectContext, statusError: string): Decision {
  const sel = selectProfiles(pod, set, ctx.namespaceLabels ?? {});
  const message = `${statusError}; remove the annotation or restore it from the injected pod`;
  const profiles: ProfileOutcome[] = [
    ...sel.skipped.map((s) => ({ profile: s.profile, reason: s.reason, message: s.message })),
    ...sel.profiles.map((p) => ({ profile: p.name, reason: 'invalid-annotation' as const, message, version: p.version })),
  ];
  const base = { profiles, patch: [], pod };
  if (sel.profiles.length === 0) {
    const reason: ReasonCode = sel.optedOut ? 'opted-out' : 'nothing-requested';
    return { ...base, outcome: 'unchanged', reason, message: REASONS[reason], warnings: [...sel.warnings, statusError] };
  }
  if (sel.profiles.some((p) => p.failurePolicy === 'fail'))
    return { ...base, outcome: 'denied', reason: 'invalid-annotation', message, warnings: sel.warnings };
  return {
    ...base,
    outcome: 'unchanged',
    reason: 'invalid-annotation',
    message,
    warnings: [...sel.warnings, `${message} (admitted without injection: failurePolicy ignore)`],
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
  const annotations = stringMap(isObject(pod.metadata) ? pod.metadata.annotations : undefined);
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
 * The record, when the pod holds what it claims, and the pod before injection. A record the pod
 * does not hold (copied from another pod, or edited) is not trusted at all: nothing it names is
 * removed (it may name another webhook's sidecar), and the profiles are injected as into a pod that
 * has none, so a look-alike of a sidecar is a name conflict that conflictPolicy settles.
 */
function trustedRecord(
  pod: JsonObject,
  status: StatusRecord,
  set: ProfileSet,
  ctx: InjectContext,
  budget: RenderBudget,
): { status?: StatusRecord; base: JsonObject; warnings: string[] } {
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

const sameRecord = (r: ProfileRecord, p: SidecarProfile) => r.name === p.name && r.hash === p.hash;

/**
 * @example
 * const d = inject(pod, profiles, { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } });
 * if (d.outcome === 'denied') deny(d.message); else respond(d.patch, d.warnings);
 */
export function inject(pod: JsonObject, set: ProfileSet, ctx: InjectContext): Decision {
  const { status: recorded, error: statusError } = readStatus(pod);
  if (statusError) return corruptStatus(pod, set, ctx, statusError);
  // Selection looks at the pod as it was before injection: labels a profile added must not pull in
  // further profiles on the next run (that would make injection depend on how often it ran).
  // One budget for everything this admission renders, whichever profile and step renders it.
  const budget = renderBudget();
  const trust = recorded ? trustedRecord(pod, recorded, set, ctx, budget) : { base: pod, warnings: [] };
  const { status, base } = trust;
  const selection = selectProfiles(base, set, ctx.namespaceLabels ?? {});
  const outcomes: ProfileOutcome[] = selection.skipped.map((s) => ({ profile: s.profile, reason: s.reason, message: s.message }));
  const warnings = [...selection.warnings, ...trust.warnings];
  const finish = (outcome: 'unchanged' | 'denied', reason: ReasonCode, message: string): Decision => ({
    outcome,
    reason,
    message,
    profiles: outcomes,
    warnings,
    patch: [],
    pod,
  });
  const unchanged = (reason: ReasonCode, message: string) => finish('unchanged', reason, message);
  const deny = (reason: ReasonCode, message: string) => finish('denied', reason, message);

  const wanted = selection.profiles;
  const tooMany = tooManyTargetChecks(base, wanted);
  if (tooMany) return failAll(wanted, tooMany, outcomes, warnings, finish);
  if (status && status.profiles.length === wanted.length && wanted.every((p, i) => sameRecord(status.profiles[i] as ProfileRecord, p))) {
    // Reinvoked after another webhook added containers: those get the profiles' env and mounts too.
    const extended = extendToNewContainers(pod, base, status, wanted, ctx, budget);
    const start = outcomes.length;
    for (const p of wanted) {
      const added = extended?.added.get(p.name);
      outcomes.push({
        profile: p.name,
        reason: added ? 'injected' : 'already-injected',
        message: added
          ? `profile ${JSON.stringify(p.name)} extended to container(s) added after injection: ${added.join(', ')}`
          : `profile ${JSON.stringify(p.name)} is already injected at version ${p.version}`,
        version: p.version,
      });
    }
    if (extended) warnings.push(...extended.warnings);
    for (const f of extended?.failed ?? []) {
      const i = outcomes.findIndex((o, j) => j >= start && o.profile === f.profile.name);
      outcomes[i] = { profile: f.profile.name, reason: f.reason, message: f.message, version: f.profile.version };
      if (f.profile.failurePolicy === 'fail') return deny(f.reason, f.message);
      warnings.push(admittedWithout(f.message));
    }
    if (!extended || extended.added.size === 0) {
      const failed = extended?.failed[0];
      return failed ? unchanged(failed.reason, failed.message) : unchanged('already-injected', REASONS['already-injected']);
    }
    return verifiedDecision(
      pod,
      extended.pod,
      'injected',
      `extended ${[...extended.added.keys()].join(', ')} to new containers`,
      outcomes,
      warnings,
      wanted,
      finish,
    );
  }
  if (wanted.length === 0 && !status) {
    const reason: ReasonCode = selection.optedOut ? 'opted-out' : (outcomes.find((o) => ERROR_REASONS.has(o.reason))?.reason ?? 'nothing-requested');
    return unchanged(reason, outcomes.find((o) => o.reason === reason)?.message ?? REASONS[reason]);
  }

  // A pod with an outdated or different record is rebuilt from its pre-injection state (`base`).
  const previous = new Map((status?.profiles ?? []).map((r) => [r.name, r]));
  let state: MergeState = {
    pod: base,
    initInsertAt: 0,
    created: [],
    own: { containers: ownNames(base, 'containers'), initContainers: ownNames(base, 'initContainers') },
  };
  const annotations = stringMap(isObject(pod.metadata) ? pod.metadata.annotations : undefined);
  const values = templateValuesFor(base, ctx);
  const initial = { state, outcomes: outcomes.length, warnings: warnings.length };
  // The profiles being merged: all wanted ones, unless the status record would be too large with
  // them (see below), when the failurePolicy ignore ones are dropped.
  let active: readonly SidecarProfile[] = wanted;
  let dropped: readonly SidecarProfile[] = [];
  const noteDropped = () => {
    for (const p of dropped) {
      const m = `profile ${JSON.stringify(p.name)} cannot be injected: ${RECORD_TOO_LARGE}`;
      outcomes.push({ profile: p.name, reason: 'invalid-result', message: m, version: p.version });
      warnings.push(admittedWithout(m));
    }
  };

  /**
   * Merges the wanted profiles in order. With `validateEach`, the pod is validated after every
   * profile so a rule break is pinned on the profile that caused it; without, only the caller
   * validates the final pod. Returns a Decision when a profile with failurePolicy fail cannot be injected.
   */
  const applyProfiles = (validateEach: boolean, baseErrors: ReadonlySet<string>): Decision | { state: MergeState; records: ProfileRecord[] } => {
    outcomes.length = initial.outcomes;
    warnings.length = initial.warnings;
    let current = initial.state;
    const size = podSize(base);
    const records: ProfileRecord[] = [];
    for (const profile of active) {
      const pn = JSON.stringify(profile.name);
      const fail = (reason: ReasonCode, detail: string): Decision | undefined => {
        const message = `profile ${pn} cannot be injected: ${detail}`;
        outcomes.push({ profile: profile.name, reason, message, version: profile.version });
        if (profile.failurePolicy === 'fail') return deny(reason, message);
        warnings.push(admittedWithout(message));
        return undefined;
      };

      const mode = sidecarModeFor(profile, ctx.kubeVersion);
      if (mode === 'native' && !supportsNativeSidecars(ctx.kubeVersion) && profile.containers.length > 0) {
        const d = fail(
          'unsupported-kube-version',
          `sidecarMode native needs Kubernetes 1.29 or newer, and the cluster is ${ctx.kubeVersion.major}.${ctx.kubeVersion.minor}`,
        );
        if (d) return d;
        continue;
      }

      let parts: ReturnType<typeof renderParts>;
      try {
        parts = renderParts(profile, () => values(profile), annotations, budget);
      } catch (e) {
        if (!(e instanceof RenderError)) throw e;
        const d = fail(e.reason, e.message);
        if (d) return d;
        continue;
      }

      const merged = mergeProfile(current, profile, parts, mode);
      if (!merged.ok) {
        const d = fail('name-conflict', merged.message);
        if (d) return d;
        continue;
      }
      const tooLarge = size.add(addedBytes(profile, parts, merged.record));
      if (tooLarge !== undefined) {
        const d = fail('invalid-result', TOO_LARGE(tooLarge));
        if (d) return d;
        continue;
      }
      if (validateEach) {
        const introduced = introducedErrors(base, merged.state.pod, () => baseErrors);
        if (introduced.length > 0) {
          const d = fail('invalid-result', `the API server would reject the pod: ${introduced.join('; ')}`);
          if (d) return d;
          continue;
        }
      }
      current = merged.state;
      warnings.push(...merged.warnings);
      records.push(merged.record);
      const before = previous.get(profile.name);
      const reason: ReasonCode = before === undefined ? 'injected' : before.hash === profile.hash ? 'already-injected' : 'updated';
      const message =
        reason === 'updated'
          ? `profile ${pn} updated from version ${before?.version} to ${profile.version}`
          : reason === 'injected'
            ? `profile ${pn} injected at version ${profile.version}`
            : `profile ${pn} is already injected at version ${profile.version}`;
      outcomes.push({ profile: profile.name, reason, message, version: profile.version });
    }
    return { state: current, records };
  };

  // Fast path: merge everything and validate once. Only when that fails (or a profile is refused)
  // run again validating after each profile, to attribute the problem exactly.
  // The pod's own problems are only looked up when the result has any (most pods have none).
  let baseErrors: ReadonlySet<string> | undefined;
  const errorsOfBase = () => {
    baseErrors ??= new Set(validatePod(base));
    return baseErrors;
  };
  let result: ReturnType<typeof applyProfiles>;
  let desired: JsonObject;
  for (;;) {
    result = applyProfiles(false, new Set());
    if ('outcome' in result) result = applyProfiles(true, errorsOfBase());
    else {
      if (introducedErrors(base, result.state.pod, errorsOfBase).length > 0) result = applyProfiles(true, errorsOfBase());
    }
    noteDropped();
    if ('outcome' in result) return result;
    const { records: recs, state: st } = result;
    desired = recs.length > 0 ? withStatus(st.pod, { v: 1, profiles: recs }, [...st.created]) : st.pod;
    // The record grows with the containers a profile targets.
    if (recs.length === 0 || !recordCrossesLimit(st.pod, desired)) break;
    // Too large: an ignore profile must never be the reason a pod is denied, so those are dropped
    // first and the others tried alone; only then does failurePolicy decide.
    const mandatory = active.filter((p) => p.failurePolicy === 'fail');
    if (mandatory.length === 0 || mandatory.length === active.length) return recordTooLarge(recs, outcomes, warnings, active, finish);
    dropped = active.filter((p) => p.failurePolicy !== 'fail');
    active = mandatory;
  }
  state = result.state;
  const records = result.records;
  const headline =
    outcomes.find((o) => o.reason === 'updated')?.reason ??
    (records.length > 0 ? 'injected' : (outcomes.find((o) => ERROR_REASONS.has(o.reason))?.reason ?? 'injected'));
  const injectedNames = records.map((r) => `${r.name}@${r.version}`).join(', ');
  return verifiedDecision(
    pod,
    desired,
    headline,
    records.length > 0 ? `injected ${injectedNames}` : 'removed profiles that no longer apply',
    outcomes,
    warnings,
    active,
    finish,
  );
}

const RECORD_TOO_LARGE = `the status record ${STATUS_ANNOTATION} would take the pod's annotations over the API server's limit of ${MAX_ANNOTATION_BYTES} bytes`;

/** The pod was validated without its status record: does adding it cross the annotation limit? */
function recordCrossesLimit(without: JsonObject, withRecord: JsonObject): boolean {
  const annotationsOf = (p: JsonObject) => (isObject(p.metadata) ? p.metadata.annotations : undefined);
  return annotationsTooLarge(annotationsOf(withRecord)) && !annotationsTooLarge(annotationsOf(without));
}

/** The warning for a profile with failurePolicy ignore that could not be injected. */
const admittedWithout = (message: string) => `${message} (the pod is admitted without it: failurePolicy ignore)`;

/**
 * The status record would push the pod's annotations over the API server's limit (a pod with very
 * many targeted containers): every profile that was to be injected fails, and failurePolicy decides.
 */
function recordTooLarge(
  records: readonly ProfileRecord[],
  outcomes: ProfileOutcome[],
  warnings: string[],
  wanted: readonly SidecarProfile[],
  finish: (outcome: 'unchanged' | 'denied', reason: ReasonCode, message: string) => Decision,
): Decision {
  const names = new Set(records.map((r) => r.name));
  let deny = false;
  for (const [i, o] of outcomes.entries()) {
    if (!names.has(o.profile)) continue;
    const m = `profile ${JSON.stringify(o.profile)} cannot be injected: ${RECORD_TOO_LARGE}`;
    outcomes[i] = { ...o, reason: 'invalid-result', message: m };
    if (wanted.find((p) => p.name === o.profile)?.failurePolicy === 'fail') deny = true;
    else warnings.push(admittedWithout(m));
  }
  const first = `cannot inject ${[...names].join(', ')}: ${RECORD_TOO_LARGE}`;
  return finish(deny ? 'denied' : 'unchanged', 'invalid-result', first);
}

/** Every wanted profile fails for one reason about the whole pod, before any work; failurePolicy decides. */
function failAll(
  wanted: readonly SidecarProfile[],
  detail: string,
  outcomes: ProfileOutcome[],
  warnings: string[],
  finish: (outcome: 'unchanged' | 'denied', reason: ReasonCode, message: string) => Decision,
): Decision {
  for (const p of wanted) {
    const m = `profile ${JSON.stringify(p.name)} cannot be injected: ${detail}`;
    outcomes.push({ profile: p.name, reason: 'invalid-result', message: m, version: p.version });
    if (p.failurePolicy !== 'fail') warnings.push(admittedWithout(m));
  }
  const deny = wanted.some((p) => p.failurePolicy === 'fail');
  return finish(deny ? 'denied' : 'unchanged', 'invalid-result', `cannot inject ${wanted.map((p) => p.name).join(', ')}: ${detail}`);
}

/**
 * Diff, then the self-check with the independent applier: a patch that does not reproduce the
 * desired pod is never sent.
 */
function verifiedDecision(
  pod: JsonObject,
  desired: JsonObject,
  headline: ReasonCode,
  message: string,
  outcomes: ProfileOutcome[],
  warnings: string[],
  wanted: readonly SidecarProfile[],
  finish: (outcome: 'unchanged' | 'denied', reason: ReasonCode, message: string) => Decision,
): Decision {
  const patch = diff(pod, desired);
  if (patch.length === 0) {
    const failed = outcomes.find((o) => ERROR_REASONS.has(o.reason));
    return failed ? finish('unchanged', failed.reason, failed.message) : finish('unchanged', 'already-injected', REASONS['already-injected']);
  }
  let verified = false;
  try {
    verified = patchReproduces(pod, patch, desired);
  } catch {
    verified = false;
  }
  if (!verified) {
    const m = 'the computed patch did not reproduce the injected pod; this is a bug in Outrigger';
    outcomes.push({ profile: '*', reason: 'patch-verification-failed', message: m });
    if (wanted.some((p) => p.failurePolicy === 'fail')) return finish('denied', 'patch-verification-failed', m);
    warnings.push(`${m} (the pod is admitted unchanged)`);
    return finish('unchanged', 'patch-verification-failed', m);
  }
  return { outcome: 'injected', reason: headline, message, profiles: outcomes, warnings, patch, pod: desired };
}

/**
 * For an already injected pod: the containers added since (by another webhook, before a
 * reinvocation) that a profile targets get its env, envFrom and mounts, recorded in the status.
 * Returns undefined when there is nothing to extend. A profile that cannot be extended (a conflict,
 * a template error, an invalid result, a record too large) fails as in a first injection, and its
 * failurePolicy decides: the new containers do not carry it, and a record cannot tell them from the
 * pod's own.
 */
function extendToNewContainers(
  pod: JsonObject,
  base: JsonObject,
  status: StatusRecord,
  wanted: readonly SidecarProfile[],
  ctx: InjectContext,
  budget: RenderBudget,
): { pod: JsonObject; added: Map<string, string[]>; warnings: string[]; failed: ExtensionFailure[] } | undefined {
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
  const plans = wanted.flatMap((p, i) => {
    const record = status.profiles[i] as ProfileRecord;
    if (p.env.length === 0 && p.envFrom.length === 0 && p.volumeMounts.length === 0) return [];
    const own = {
      containers: fresh(current.containers, p.targets, record.targets),
      initContainers: fresh(current.initContainers, p.initContainerTargets, record.initTargets),
    };
    return own.containers.size + own.initContainers.size > 0 ? [{ p, i, record, own }] : [];
  });
  if (plans.length === 0) return undefined;

  const annotations = stringMap(isObject(pod.metadata) ? pod.metadata.annotations : undefined);
  const warnings: string[] = [];
  const failed: ExtensionFailure[] = [];
  const fail = (p: SidecarProfile, reason: ReasonCode, detail: string) =>
    failed.push({ profile: p, reason, message: `profile ${JSON.stringify(p.name)} cannot be extended to new containers: ${detail}` });
  const added = new Map<string, string[]>();
  const records = [...status.profiles];
  let state: MergeState = { pod, initInsertAt: 0, created: [], own: { containers: new Set(), initContainers: new Set() } };
  let before: ReadonlySet<string> | undefined;
  const errorsBefore = () => (before ??= new Set(validatePod(pod)));
  const values = templateValuesFor(base, ctx);
  const size = podSize(pod);
  for (const { p, i, record, own } of plans) {
    let parts: ReturnType<typeof renderParts>;
    try {
      parts = renderParts(p, () => values(p), annotations, budget);
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      fail(p, e.reason, e.message);
      continue;
    }
    const targetsOnly = { ...parts, containers: [], initContainers: [], volumes: [], imagePullSecrets: [], labels: {}, annotations: {} };
    const merged = mergeProfile({ ...state, own }, p, targetsOnly, record.mode);
    if (!merged.ok) {
      fail(p, 'name-conflict', merged.message);
      continue;
    }
    const tooLarge = size.add(addedBytes(p, parts, merged.record, true));
    if (tooLarge !== undefined) {
      fail(p, 'invalid-result', TOO_LARGE(tooLarge));
      continue;
    }
    const introduced = introducedErrors(pod, merged.state.pod, errorsBefore);
    if (introduced.length > 0) {
      fail(p, 'invalid-result', `the API server would reject the pod: ${introduced.join('; ')}`);
      continue;
    }
    const names = [...Object.keys(merged.record.targets ?? {}), ...Object.keys(merged.record.initTargets ?? {})];
    if (names.length === 0) continue;
    state = merged.state;
    warnings.push(...merged.warnings);
    records[i] = {
      ...record,
      ...(merged.record.targets ? { targets: { ...record.targets, ...merged.record.targets } } : {}),
      ...(merged.record.initTargets ? { initTargets: { ...record.initTargets, ...merged.record.initTargets } } : {}),
    };
    added.set(p.name, names);
  }
  if (added.size === 0) return { pod, added, warnings, failed };
  const created = [...(status.created ?? []), ...state.created];
  const extended = withStatus(state.pod, { v: 1, profiles: records }, created);
  if (recordCrossesLimit(pod, extended)) {
    for (const { p } of plans) if (added.has(p.name)) fail(p, 'invalid-result', RECORD_TOO_LARGE);
    return { pod, added: new Map(), warnings, failed };
  }
  return { pod: extended, added, warnings, failed };
}

interface ExtensionFailure {
  profile: SidecarProfile;
  reason: ReasonCode;
  message: string;
}
