/**
 * The only way AdmissionReview responses are made (as controller-runtime's admission.Allowed /
 * Patched / Denied / Errored). Pure. Every response echoes the request's apiVersion and uid and
 * carries `kind: AdmissionReview`, which is all the API server checks before reading `allowed`.
 *
 * Status codes: the API server turns a refusal into an API error with our `status.code` (any code
 * below 400 becomes 400) and prefixes our message with `admission webhook "<name>" denied the
 * request:`. So:
 * - denied (a profile with failurePolicy fail cannot be injected): 403 Forbidden, the Kubernetes
 *   convention for "policy refuses this request" (kubectl prints `Error from server (Forbidden)`).
 *   The pod is well formed and the webhook works; a policy says no. Not 422: the pod is valid on
 *   its own, it is the combination with a required profile that fails.
 * - errored 400 BadRequest: the AdmissionReview itself is malformed (not something an API server sends).
 * - errored 500 InternalError: Outrigger failed (a bug); the message says so.
 */
import type { PatchOp } from '../engine/index.ts';
import type { ReviewHeader, ReviewVersion } from './review.ts';

/** metav1.Status fields the API server passes on to the client. `reason` is Kubernetes' closed StatusReason list. */
export interface AdmissionStatus {
  code: number;
  reason: 'Forbidden' | 'BadRequest' | 'InternalError';
  message: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  /** base64 of the RFC 6902 JSON Patch. */
  patch?: string;
  status?: AdmissionStatus;
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: ReviewVersion;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/**
 * The API server shows each warning as a `Warning:` line (kubectl prints ≤ 120 characters nicely),
 * truncates any warning above 256 characters mid-word, and drops everything past 4096 characters in
 * total. We keep every warning on one line, cut long ones at a word boundary ourselves, and say how
 * many were left out instead of letting them vanish.
 */
export const WARNING_MAX_CHARS = 256;
export const WARNINGS_MAX_TOTAL_CHARS = 4096;
const MESSAGE_MAX_CHARS = 4096;

// C0/C1 controls, DEL, and the Unicode line/paragraph separators: a warning or message is one line.
const CONTROL = /[\p{Cc}\u2028\u2029]+/gu;

/** One line, well-formed UTF-16 (no lone surrogates), at most `max` code points, cut at a space when one is near. */
export function oneLine(text: string, max: number): string {
  const flat = text.toWellFormed().replace(CONTROL, ' ').replace(/ {2,}/g, ' ').trim();
  if (flat.length <= max) return flat;
  const points = Array.from(flat);
  if (points.length <= max) return flat;
  let cut = points.slice(0, max - 1).join('');
  const space = cut.lastIndexOf(' ');
  if (space > max * 0.6) cut = cut.slice(0, space);
  return `${cut.trimEnd()}…`;
}

export function cleanWarnings(warnings: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  let total = 0;
  let left = 0;
  for (const w of warnings) {
    const line = oneLine(w, WARNING_MAX_CHARS);
    if (line === '' || seen.has(line)) continue;
    // Keep room for the "n more" line.
    if (left > 0 || total + line.length > WARNINGS_MAX_TOTAL_CHARS - 80) {
      left++;
      continue;
    }
    seen.add(line);
    out.push(line);
    total += line.length;
  }
  if (left > 0) out.push(`${left} more warning${left === 1 ? '' : 's'} not shown; run outrigger explain on this pod to see all`);
  return out;
}

function review(h: ReviewHeader, response: Omit<AdmissionResponse, 'uid'>, warnings: readonly string[]): AdmissionReviewResponse {
  const w = warnings.length > 0 ? cleanWarnings(warnings) : [];
  return {
    apiVersion: h.apiVersion,
    kind: 'AdmissionReview',
    response: { uid: h.uid, ...response, ...(w.length > 0 ? { warnings: w } : {}) },
  };
}

const PATCH_KEY = '"patch":"';

/**
 * JSON.stringify(review), without stringify's escape scan of the longest string in it: the base64
 * patch, whose alphabet never needs escaping. The patch is spliced into its own slot, so the bytes
 * are the same. No string before the slot can hold `"patch":""`: quotes inside strings are escaped.
 */
export function reviewJson(r: AdmissionReviewResponse): string {
  const { patch } = r.response;
  if (patch === undefined) return JSON.stringify(r);
  const text = JSON.stringify({ ...r, response: { ...r.response, patch: '' } });
  const at = text.indexOf(`${PATCH_KEY}"`) + PATCH_KEY.length;
  return text.slice(0, at) + patch + text.slice(at);
}

/** Admit unchanged. */
export function allowed(h: ReviewHeader, warnings: readonly string[] = []): AdmissionReviewResponse {
  return review(h, { allowed: true }, warnings);
}

/** Admit with a JSON Patch; an empty patch is the same as `allowed` (no patch field at all). */
export function patched(h: ReviewHeader, patch: readonly PatchOp[], warnings: readonly string[] = []): AdmissionReviewResponse {
  if (patch.length === 0) return allowed(h, warnings);
  return review(h, { allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch), 'utf8').toString('base64') }, warnings);
}

/** Refuse by policy: 403 Forbidden with a message a person can act on. */
export function denied(h: ReviewHeader, message: string, warnings: readonly string[] = []): AdmissionReviewResponse {
  return review(h, { allowed: false, status: { code: 403, reason: 'Forbidden', message: oneLine(message, MESSAGE_MAX_CHARS) } }, warnings);
}

/** Refuse because the request is malformed (400) or Outrigger failed (500). */
export function errored(h: ReviewHeader, code: 400 | 500, message: string, warnings: readonly string[] = []): AdmissionReviewResponse {
  const reason = code === 400 ? 'BadRequest' : 'InternalError';
  return review(h, { allowed: false, status: { code, reason, message: oneLine(message, MESSAGE_MAX_CHARS) } }, warnings);
}
