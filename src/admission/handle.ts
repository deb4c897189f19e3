/**
 * One admission request → the engine → one AdmissionReview response, plus what logs and metrics
 * need to know about it. Pure given the profile set and the cluster facts passed in: no I/O, no
 * clock (the server times the call), so tests can drive it directly with the exact wire JSON.
 */

import { type AdmissionErrorCode, bugMessage, guardNesting, MAX_DEPTH, REASONS, type ReasonCode } from '../common/errors.ts';
import { isObject as isObjectValue } from '../common/json.ts';
import {
  type Decision,
  type InjectContext,
  inject,
  type JsonObject,
  type JsonValue,
  type KubeVersion,
  type PatchVerifier,
  type ProfileOutcome,
  type ProfileSet,
  type UnknownProfiles,
} from '../engine/index.ts';
import { CHECKED_WORKLOADS, findPodSites, misplacedAnnotationWarning } from '../manifest/workloads.ts';
import { type AdmissionReviewResponse, allowed, denied, errored, patched, reviewJson } from './responses.ts';
import { type AdmissionRequest, type Decoded, type HttpError, isPodCreate, preview, type ReviewError } from './review.ts';

export type AdmissionOutcome = 'injected' | 'unchanged' | 'denied' | 'errored';
export type AdmissionReason = ReasonCode | AdmissionErrorCode;

export interface HandlerConfig {
  /** The profiles for every namespace (or, with `profilesFor`, the cluster-wide ones). */
  profiles: ProfileSet;
  /** Per-namespace profile sets (tenant profiles), when profiles are namespaced; else `profiles` applies everywhere. */
  profilesFor?: (namespace: string) => ProfileSet;
  kubeVersion: KubeVersion;
  /** Pods that request a profile that does not exist: admitted without it (default) or denied; a namespace label overrides. */
  unknownProfiles?: UnknownProfiles;
  /** Labels of a namespace, from a cache (never an API call on the hot path); undefined when unknown. */
  namespaceLabels?: (namespace: string) => Readonly<Record<string, string>> | undefined;
  /** The engine's self-check of each patch; its own unless replaced (tests hand it one that fails). */
  verifyPatch?: PatchVerifier;
}

export interface AdmissionResult {
  response: AdmissionReviewResponse;
  /** `response` serialised: what goes on the wire. */
  body: string;
  outcome: AdmissionOutcome;
  reason: AdmissionReason;
  message: string;
  uid: string;
  operation: string;
  /** `group/version/resource[/subresource]` of the request, for logs. */
  resource: string;
  namespace: string;
  /** The pod's name, else its generateName (pods made by controllers have no name yet). */
  name: string;
  dryRun: boolean;
  profiles: readonly ProfileOutcome[];
  /** The engine's warnings as sent (before one-line clean-up). */
  warnings: readonly string[];
  /** The engine's decision, when the engine ran, and the profile set it ran with. */
  decision?: Decision;
  profileSet?: ProfileSet;
  /** The exception behind an internal error, for the log. */
  error?: unknown;
}

function podName(obj: JsonValue | undefined, fallback: string): string {
  const meta = isObjectValue(obj) && isObjectValue(obj.metadata) ? obj.metadata : undefined;
  if (meta && typeof meta.name === 'string' && meta.name !== '') return meta.name;
  if (meta && typeof meta.generateName === 'string' && meta.generateName !== '') return meta.generateName;
  return fallback;
}

function resourceOf(r: AdmissionRequest): string {
  const gv = r.resource.group === '' ? r.resource.version : `${r.resource.group}/${r.resource.version}`;
  return `${gv}/${r.resource.resource}${r.subResource ? `/${r.subResource}` : ''}`;
}

/** Adds the serialised response (in place: this runs once per admission). */
function withBody(base: Omit<AdmissionResult, 'body'>): AdmissionResult {
  const r = base as AdmissionResult;
  r.body = reviewJson(base.response);
  return r;
}

/** A review that has a uid but is malformed: refused with 400 and the field at fault. */
export function handleReviewError(err: ReviewError): AdmissionResult {
  return withBody({
    response: errored(err.header, 400, err.message),
    outcome: 'errored',
    reason: 'malformed-request',
    message: err.message,
    uid: err.header.uid,
    operation: '',
    resource: '',
    namespace: '',
    name: '',
    dryRun: false,
    profiles: [],
    warnings: [],
  });
}

/** Runs the engine for one pod. Throws only on engine bugs (the caller turns them into `internal-error`). */
export function decide(pod: JsonObject, namespace: string, cfg: HandlerConfig, set: ProfileSet = profilesFor(namespace, cfg)): Decision {
  const labels = cfg.namespaceLabels?.(namespace);
  const ctx: InjectContext = {
    namespace,
    kubeVersion: cfg.kubeVersion,
    ...(labels ? { namespaceLabels: labels } : {}),
    ...(cfg.unknownProfiles ? { unknownProfiles: cfg.unknownProfiles } : {}),
  };
  return inject(pod, set, ctx, cfg.verifyPatch ? { verifyPatch: cfg.verifyPatch } : {});
}

export function profilesFor(namespace: string, cfg: HandlerConfig): ProfileSet {
  return cfg.profilesFor ? cfg.profilesFor(namespace) : cfg.profiles;
}

/** The response for an engine decision. */
export function respond(r: AdmissionRequest, d: Decision): { response: AdmissionReviewResponse; outcome: AdmissionOutcome } {
  switch (d.outcome) {
    case 'injected':
      return { response: patched(r.header, d.patch, d.warnings), outcome: 'injected' };
    case 'unchanged':
      return { response: allowed(r.header, d.warnings), outcome: 'unchanged' };
    case 'denied':
      // The engine's own self-check failing is Outrigger's bug, not a policy decision.
      if (d.reason === 'patch-verification-failed') return { response: errored(r.header, 500, d.message, d.warnings), outcome: 'errored' };
      return { response: denied(r.header, d.message, d.warnings), outcome: 'denied' };
  }
}

const WORKLOAD_KINDS: ReadonlySet<string> = new Set(CHECKED_WORKLOADS.map((w) => w.kind));

/**
 * A workload created or updated with the inject annotation on its own metadata, where it has no
 * effect: the user is told to move it to the pod template (the same words as the CLI's).
 */
function workloadWarnings(r: AdmissionRequest): string[] {
  if ((r.operation !== 'CREATE' && r.operation !== 'UPDATE') || !isObjectValue(r.object)) return [];
  // Only the kinds the workloads webhook is registered for: each is read at fixed paths (a kind
  // ending in List would be walked recursively).
  if (typeof r.object.kind !== 'string' || !WORKLOAD_KINDS.has(r.object.kind)) return [];
  return findPodSites(r.object)
    .filter((s) => s.misplacedAnnotation)
    .map(misplacedAnnotationWarning);
}

/** A checked request → response. Never throws: an engine failure becomes a 500 that says it is a bug. */
export function handleRequest(r: AdmissionRequest, cfg: HandlerConfig): AdmissionResult {
  const base = {
    uid: r.header.uid,
    operation: r.operation,
    resource: resourceOf(r),
    namespace: r.namespace,
    name: podName(r.object, r.name),
    dryRun: r.dryRun,
  };
  if (!isPodCreate(r)) {
    const warnings = workloadWarnings(r);
    return withBody({
      ...base,
      response: allowed(r.header, warnings),
      outcome: 'unchanged',
      reason: 'not-a-pod-create',
      message: REASONS['not-a-pod-create'],
      profiles: [],
      warnings,
    });
  }
  const malformed = (message: string): AdmissionResult =>
    withBody({ ...base, response: errored(r.header, 400, message), outcome: 'errored', reason: 'malformed-request', message, profiles: [], warnings: [] });
  const pod = r.object;
  if (!isObjectValue(pod)) return malformed(`malformed AdmissionReview: request.object must be the Pod being created, got ${preview(pod)}`);
  if (Object.hasOwn(pod, 'kind') && pod.kind !== 'Pod') {
    return malformed(`malformed AdmissionReview: request.object.kind must be "Pod" for a pods CREATE, got ${preview(pod.kind, 60)}`);
  }
  const meta = isObjectValue(pod.metadata) ? pod.metadata : undefined;
  const namespace = r.namespace !== '' ? r.namespace : meta && typeof meta.namespace === 'string' ? meta.namespace : '';
  if (namespace === '') return malformed('malformed AdmissionReview: request.namespace is empty; a pod is always created in a namespace');
  base.namespace = namespace;

  const tooDeep = () => {
    const message = `request.object nests JSON more than ${MAX_DEPTH} levels deep; no Kubernetes Pod does`;
    return withBody({
      ...base,
      response: errored(r.header, 400, message),
      outcome: 'errored',
      reason: 'nesting-too-deep',
      message,
      profiles: [],
      warnings: [],
    });
  };
  try {
    return guardNesting(
      pod,
      () => {
        const set = profilesFor(namespace, cfg);
        const d = decide(pod, namespace, cfg, set);
        const { response, outcome } = respond(r, d);
        return withBody({
          ...base,
          response,
          outcome,
          reason: d.reason,
          message: d.message,
          profiles: d.profiles,
          warnings: d.warnings,
          decision: d,
          profileSet: set,
        });
      },
      tooDeep,
    );
  } catch (e) {
    const message = `${bugMessage(e)}. The pod was not changed.`;
    return withBody({
      ...base,
      response: errored(r.header, 500, message),
      outcome: 'errored',
      reason: 'internal-error',
      message,
      profiles: [],
      warnings: [],
      error: e,
    });
  }
}

/** Decoded body → result, or the HTTP error to answer when there is no uid. */
export function handleDecoded(decoded: Decoded, cfg: HandlerConfig): AdmissionResult | HttpError {
  if (decoded.ok === true) return handleRequest(decoded.request, cfg);
  if (decoded.ok === 'review-error') return handleReviewError(decoded);
  return decoded;
}
