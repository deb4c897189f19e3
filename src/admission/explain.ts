/**
 * `POST /explain`: the engine's whole decision for a Pod or an AdmissionReview, as JSON, for
 * people debugging why a pod got (or did not get) a sidecar. Pure. For an AdmissionReview it also
 * shows the response `/mutate` would send. Env values are redacted everywhere in the answer (pod,
 * patch and the response's patch): they are tenant data, and no decision depends on showing them.
 */

import { bugMessage, guardNesting, MAX_DEPTH, REASONS, type ReasonCode, sentence } from '../common/errors.ts';
import { isObject } from '../common/json.ts';
import { dns1123Label } from '../common/k8s-names.ts';
import type { Decision, JsonValue, KubeVersion } from '../engine/index.ts';
import { type AdmissionReason, decide, type HandlerConfig, handleDecoded } from './handle.ts';
import { redactEnv, redactPatch } from './redact.ts';
import type { AdmissionReviewResponse } from './responses.ts';
import { decodeReviewValue, type HttpError, httpError, preview } from './review.ts';

export interface ExplainProfile {
  profile: string;
  reason: ReasonCode;
  reasonText: string;
  message: string;
  version?: string;
}

export interface Explanation {
  namespace: string;
  kubeVersion: string;
  outcome: Decision['outcome'] | 'errored';
  reason: AdmissionReason;
  reasonText: string;
  message: string;
  profiles: ExplainProfile[];
  warnings: string[];
  patch: Decision['patch'];
  /** The pod as it would be admitted. */
  pod: JsonValue | null;
  /** For an AdmissionReview input: the response `/mutate` sends. */
  response?: AdmissionReviewResponse;
}

const reasonText = (r: AdmissionReason): string => sentence(r);
const version = (v: KubeVersion) => `${v.major}.${v.minor}`;

function fromDecision(d: Decision, namespace: string, cfg: HandlerConfig): Explanation {
  return {
    namespace,
    kubeVersion: version(cfg.kubeVersion),
    outcome: d.outcome,
    reason: d.reason,
    reasonText: reasonText(d.reason),
    message: d.message,
    profiles: d.profiles.map((p) => ({
      profile: p.profile,
      reason: p.reason,
      reasonText: REASONS[p.reason],
      message: p.message,
      ...(p.version !== undefined ? { version: p.version } : {}),
    })),
    warnings: d.warnings,
    patch: d.patch,
    pod: d.pod,
  };
}

function redacted(e: Explanation): Explanation {
  const out: Explanation = { ...e, pod: redactEnv(e.pod), patch: redactPatch(e.patch) };
  const patch = e.response?.response.patch;
  if (e.response && patch !== undefined) {
    const ops = redactPatch(JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as Decision['patch']);
    out.response = { ...e.response, response: { ...e.response.response, patch: Buffer.from(JSON.stringify(ops)).toString('base64') } };
  }
  return out;
}

/**
 * @param body parsed JSON: a Pod, or an AdmissionReview
 * @param namespace `?namespace=`: overrides the review's or the pod's namespace
 */
export function explain(body: JsonValue, namespace: string | undefined, cfg: HandlerConfig): { ok: true; explanation: Explanation } | HttpError {
  if (namespace !== undefined && dns1123Label(namespace)) return httpError('invalid-query', `?namespace=${JSON.stringify(namespace)} is not a namespace name`);
  if (!isObject(body)) return httpError('not-a-pod', 'expected a JSON Pod or AdmissionReview object');

  if (body.kind === 'AdmissionReview') {
    let value: JsonValue = body;
    if (namespace !== undefined && isObject(body.request)) value = { ...body, request: { ...body.request, namespace } };
    const result = handleDecoded(decodeReviewValue(value), cfg);
    if (!('response' in result)) return result;
    const explanation: Explanation = result.decision
      ? fromDecision(result.decision, result.namespace, cfg)
      : {
          namespace: result.namespace,
          kubeVersion: version(cfg.kubeVersion),
          outcome: result.outcome,
          reason: result.reason,
          reasonText: reasonText(result.reason),
          message: result.message,
          profiles: [],
          warnings: [...result.warnings],
          patch: [],
          pod: null,
        };
    explanation.response = result.response;
    return { ok: true, explanation: redacted(explanation) };
  }

  if (Object.hasOwn(body, 'kind') && body.kind !== 'Pod') {
    return httpError('not-a-pod', `expected a Pod or an AdmissionReview, got kind ${preview(body.kind, 60)}; for workloads use outrigger explain -f`);
  }
  const meta = isObject(body.metadata) ? body.metadata : undefined;
  const ns = namespace ?? (meta && typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default');
  try {
    return guardNesting<{ ok: true; explanation: Explanation } | HttpError>(
      body,
      () => ({ ok: true, explanation: redacted(fromDecision(decide(body, ns, cfg), ns, cfg)) }),
      () => httpError('nesting-too-deep', `the pod nests JSON more than ${MAX_DEPTH} levels deep; no Kubernetes Pod does`),
    );
  } catch (e) {
    return httpError('internal-error', bugMessage(e));
  }
}
