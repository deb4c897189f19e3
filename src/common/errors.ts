/**
 * Every code Outrigger reports, as one closed table: the engine's reasons for each decision, the
 * admission errors, and the HTTP errors for bodies with no uid to answer to. Logs, metric labels,
 * `/explain`, warnings, HTTP error bodies and the CLI all use these codes and sentences, so an
 * operator sees the same words everywhere. Adding or changing a code is an API change: dashboards
 * and clients key on them, and the README lists every one (test/unit/errors.test.ts keeps the two
 * in step). A leaf: the engine, the admission handler and the server all import it.
 *
 * `layers` says where a code is reported: `engine` (a reason in a Decision), `admission` (an
 * AdmissionReview that refuses the request), `http` (an HTTP error body). `status` is the HTTP
 * status, or the AdmissionReview's `status.code`, when the request is refused for this reason
 * (200 for reasons that refuse nothing; a failurePolicy `ignore` profile turns a refusal into an
 * admission with a warning).
 */

export type Layer = 'engine' | 'admission' | 'http';

export interface CodeEntry {
  readonly status: number;
  readonly layers: readonly Layer[];
  readonly sentence: string;
}

export const CODES = {
  // The engine's reasons.
  injected: { status: 200, layers: ['engine'], sentence: 'The profile was injected.' },
  'already-injected': { status: 200, layers: ['engine'], sentence: 'The pod already carries this profile at its current version; nothing to do.' },
  updated: { status: 200, layers: ['engine'], sentence: 'The pod carried an older version of this profile; it was replaced by the current one.' },
  'opted-out': { status: 200, layers: ['engine'], sentence: 'The pod opted out with outrigger.dev/inject: "false".' },
  'nothing-requested': {
    status: 200,
    layers: ['engine'],
    sentence: 'No profile was requested by the outrigger.dev/inject annotation or selected by a profile selector.',
  },
  'unknown-profile': { status: 403, layers: ['engine'], sentence: 'The pod requested a profile that does not exist.' },
  'invalid-annotation': { status: 403, layers: ['engine'], sentence: 'An outrigger.dev annotation on the pod is malformed.' },
  'name-conflict': {
    status: 403,
    layers: ['engine'],
    sentence: 'The pod already uses a name that the profile adds, and the profile does not allow sharing it.',
  },
  'template-error': {
    status: 403,
    layers: ['engine'],
    sentence: 'A value from the pod or its namespace, needed by the profile, is missing or breaks the rule the profile sets for it.',
  },
  'invalid-override': { status: 403, layers: ['engine'], sentence: 'A per-pod override annotation is malformed or not allowed by the profile.' },
  'unsupported-kube-version': {
    status: 403,
    layers: ['engine'],
    sentence: 'The profile needs native sidecars, which this Kubernetes version does not support.',
  },
  'invalid-result': { status: 403, layers: ['engine'], sentence: 'Injecting the profile would produce a pod the API server rejects.' },
  'patch-verification-failed': {
    status: 500,
    layers: ['engine'],
    sentence: 'The computed patch did not reproduce the injected pod; nothing was changed.',
  },
  'not-a-pod-create': { status: 200, layers: ['engine'], sentence: 'Only pod creation is mutated; this request is allowed unchanged.' },

  // Admission errors (the webhook could not decide: an AdmissionReview that refuses) and HTTP errors
  // (no uid to answer to: a plain HTTP status and `{"error":{"code","message"}}`).
  'malformed-request': {
    status: 400,
    layers: ['admission'],
    sentence: 'The AdmissionReview has a uid but a field the webhook needs is missing or has the wrong type.',
  },
  'client-certificate-required': { status: 401, layers: ['http'], sentence: 'The route needs a client certificate signed by the --client-ca.' },
  'not-found': { status: 404, layers: ['http'], sentence: 'No route for this path on this listener.' },
  'method-not-allowed': { status: 405, layers: ['http'], sentence: 'The route does not take this HTTP method.' },
  'unsupported-media-type': { status: 415, layers: ['http'], sentence: 'The request body must be application/json.' },
  'body-too-large': { status: 413, layers: ['http'], sentence: 'The request body is larger than the server accepts.' },
  'body-too-complex': { status: 413, layers: ['http'], sentence: 'Parsing the request body would cost more (objects, tokens, keys) than the server allows.' },
  'empty-body': { status: 400, layers: ['http'], sentence: 'The request body is empty.' },
  'invalid-utf8': { status: 400, layers: ['http'], sentence: 'The request body is not valid UTF-8.' },
  'invalid-json': { status: 400, layers: ['http'], sentence: 'The request body is not valid JSON.' },
  'not-an-admission-review': { status: 400, layers: ['http'], sentence: 'The request body is not an AdmissionReview.' },
  'unsupported-version': { status: 400, layers: ['http'], sentence: 'The AdmissionReview apiVersion is not one Outrigger reads.' },
  'missing-request': { status: 400, layers: ['http'], sentence: 'The AdmissionReview has no request object.' },
  'missing-uid': { status: 400, layers: ['http'], sentence: 'The AdmissionReview request has no uid to answer to.' },
  'invalid-query': { status: 400, layers: ['http'], sentence: 'A query parameter is malformed.' },
  'not-a-pod': { status: 400, layers: ['http'], sentence: '/explain was sent something other than a Pod or an AdmissionReview.' },
  'nesting-too-deep': { status: 400, layers: ['admission', 'http'], sentence: 'The object nests JSON more deeply than any Kubernetes object does.' },
  'request-timeout': { status: 408, layers: ['http'], sentence: 'The request was not received in time.' },
  'body-too-slow': { status: 408, layers: ['http'], sentence: 'The request body arrived slower than the server accepts.' },
  'headers-too-large': { status: 431, layers: ['http'], sentence: 'The request headers are too large.' },
  'bad-request': { status: 400, layers: ['http'], sentence: 'The HTTP request is malformed.' },
  'not-ready': { status: 503, layers: ['http'], sentence: 'No profiles are loaded yet.' },
  overloaded: { status: 503, layers: ['http'], sentence: 'Request bodies in progress hold as many bytes as the server allows; retry.' },
  'internal-error': {
    status: 500,
    layers: ['admission', 'http'],
    sentence: 'Outrigger failed while handling the request; this is a bug. Nothing was changed.',
  },
} as const satisfies Record<string, CodeEntry>;

export type Code = keyof typeof CODES;
/** The codes reported at one layer. */
export type CodeAt<L extends Layer> = { [K in Code]: L extends (typeof CODES)[K]['layers'][number] ? K : never }[Code];

export type ReasonCode = CodeAt<'engine'>;
export type AdmissionErrorCode = CodeAt<'admission'>;
export type HttpErrorCode = CodeAt<'http'>;

const codesAt = <L extends Layer>(layer: L): CodeAt<L>[] =>
  (Object.keys(CODES) as Code[]).filter((c) => (CODES[c].layers as readonly Layer[]).includes(layer)) as CodeAt<L>[];

/** The sentence for a code. */
export const sentence = (code: Code): string => CODES[code].sentence;

/** The engine's reasons and their sentences. */
export const REASONS = Object.fromEntries(codesAt('engine').map((c) => [c, CODES[c].sentence])) as Readonly<Record<ReasonCode, string>>;
/** Reasons that mean the profile could not be applied because of an error (used for deny/ignore and events). */
export const ERROR_REASONS: ReadonlySet<ReasonCode> = new Set(codesAt('engine').filter((c) => CODES[c].status >= 400));
/** Reasons for an `errored` admission outcome: the webhook could not decide. */
export const ADMISSION_ERRORS = Object.fromEntries(codesAt('admission').map((c) => [c, CODES[c].sentence])) as Readonly<Record<AdmissionErrorCode, string>>;
/** HTTP errors and their statuses. */
export const HTTP_ERRORS = Object.fromEntries(codesAt('http').map((c) => [c, CODES[c].status])) as Readonly<Record<HttpErrorCode, number>>;

/** The one way to say Outrigger itself failed on a pod: a bug, to be reported, with what went wrong. */
export const bugMessage = (e: unknown): string => `Outrigger failed on this pod (a bug; please report it): ${e instanceof Error ? e.message : String(e)}`;
/** The same, when the details went to the log instead (HTTP handler failures). */
export const BUG_SEE_LOG = 'Outrigger failed while handling the request (a bug); see its log';

/** Deeper than any Kubernetes object nests JSON. */
export const MAX_DEPTH = 200;

/** True when a value nests deeper than `max` (iterative: this runs exactly when recursion already overflowed). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [];
  if (value !== undefined) stack.push([value, 0]);
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (d >= max) return true;
    for (const x of Array.isArray(v) ? v : Object.values(v)) if (typeof x === 'object' && x !== null) stack.push([x, d + 1]);
  }
  return false;
}

export function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}

/**
 * Runs `run` over a JSON value; when it overflows the stack because the value nests deeper than
 * MAX_DEPTH, answers `tooDeep()` instead. Any other failure is thrown on.
 */
export function guardNesting<T>(value: unknown, run: () => T, tooDeep: () => T): T {
  try {
    return run();
  } catch (e) {
    if (isStackOverflow(e) && nestsDeeperThan(value, MAX_DEPTH)) return tooDeep();
    throw e;
  }
}
