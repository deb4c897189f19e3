/**
 * AdmissionReview decoding: bytes → JSON → a checked request, for `admission.k8s.io/v1` and
 * `v1beta1` (the two are the same shape). Pure: no I/O, no clock.
 *
 * Two kinds of failure, because the API server can only read an AdmissionReview that echoes a uid:
 * - `HttpError`: the body is so broken that there is no uid to answer to (not UTF-8, not JSON, not
 *   an AdmissionReview, no `request.uid`). The server answers with an HTTP 4xx and a small JSON body.
 * - `ReviewError`: the review has a uid but a field the webhook needs is malformed. The server
 *   answers HTTP 200 with an AdmissionReview that refuses the request and says which field.
 */
import { isUtf8 } from 'node:buffer';
import { HTTP_ERRORS, type HttpErrorCode } from '../common/errors.ts';
import { isObject, type JsonObject, type JsonValue } from '../common/json.ts';

export const REVIEW_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type ReviewVersion = (typeof REVIEW_VERSIONS)[number];

export interface HttpError {
  ok: false;
  status: number;
  code: HttpErrorCode;
  message: string;
}

export function httpError(code: HttpErrorCode, message: string): HttpError {
  return { ok: false, status: HTTP_ERRORS[code], code, message };
}

/** What every response must echo: the review's apiVersion (kind is always AdmissionReview) and the request uid. */
export interface ReviewHeader {
  apiVersion: ReviewVersion;
  uid: string;
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
const OPERATIONS: ReadonlySet<string> = new Set<Operation>(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

/** The parts of an AdmissionRequest the webhook reads, checked. */
export interface AdmissionRequest {
  header: ReviewHeader;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource: string;
  operation: Operation;
  /** `request.namespace`: where the pod is created (the pod's own metadata.namespace is often empty). */
  namespace: string;
  /** `request.name`: empty for pods created with generateName. */
  name: string;
  object: JsonValue | undefined;
  dryRun: boolean;
}

/** A review with a uid whose request the webhook cannot use: answered with an AdmissionReview, allowed: false. */
export interface ReviewError {
  ok: 'review-error';
  header: ReviewHeader;
  message: string;
}

export type Decoded = { ok: true; request: AdmissionRequest } | ReviewError | HttpError;

/**
 * Strict UTF-8 then JSON. The API server always sends UTF-8 JSON (Go's encoder replaces invalid
 * sequences), so invalid bytes mean the sender is not an API server; they are refused rather than
 * silently replaced by U+FFFD, which would change names and values.
 */
export function parseJsonBody(body: Buffer): { ok: true; value: JsonValue } | HttpError {
  if (body.length === 0) return httpError('empty-body', 'the request body is empty; expected a JSON AdmissionReview');
  if (!isUtf8(body)) return httpError('invalid-utf8', 'the request body is not valid UTF-8');
  let value: JsonValue;
  try {
    // V8's JSON parser is iterative: deep nesting does not overflow the stack here.
    value = JSON.parse(body.toString('utf8')) as JsonValue;
  } catch (e) {
    return httpError('invalid-json', `the request body is not valid JSON: ${(e as Error).message}`);
  }
  return { ok: true, value };
}

const describeType = (v: unknown): string =>
  v === undefined ? 'nothing' : v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;

/**
 * A value as an error message shows it: a string quoted and cut, anything else named by its type.
 * Bounded work, and never recursion into a value a client sent.
 */
export function preview(v: unknown, max = 40): string {
  return typeof v === 'string' ? JSON.stringify(v.length > max ? `${v.slice(0, max)}…` : v) : describeType(v);
}

/** The envelope: kind, apiVersion, request.uid. Anything wrong here has no uid to answer to. */
export function readHeader(value: JsonValue): { ok: true; header: ReviewHeader; request: JsonObject } | HttpError {
  if (!isObject(value)) return httpError('not-an-admission-review', `expected a JSON object (an AdmissionReview), got ${describeType(value)}`);
  if (value.kind !== 'AdmissionReview') {
    return httpError('not-an-admission-review', `expected kind "AdmissionReview", got ${preview(value.kind)}`);
  }
  const apiVersion = value.apiVersion;
  if (typeof apiVersion !== 'string' || !(REVIEW_VERSIONS as readonly string[]).includes(apiVersion)) {
    return httpError('unsupported-version', `unsupported AdmissionReview apiVersion ${preview(apiVersion)}; supported: ${REVIEW_VERSIONS.join(', ')}`);
  }
  const request = value.request;
  if (!isObject(request)) return httpError('missing-request', `AdmissionReview.request must be an object, got ${describeType(request)}`);
  const uid = request.uid;
  if (typeof uid !== 'string' || uid === '') {
    return httpError(
      'missing-uid',
      `AdmissionReview.request.uid must be a non-empty string, got ${typeof uid === 'string' ? 'an empty string' : describeType(uid)}`,
    );
  }
  return { ok: true, header: { apiVersion: apiVersion as ReviewVersion, uid }, request };
}

function optionalString(req: JsonObject, field: string, errors: string[]): string {
  const v = Object.hasOwn(req, field) ? req[field] : undefined;
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') {
    errors.push(`request.${field} must be a string, got ${describeType(v)}`);
    return '';
  }
  return v;
}

function readGroupVersion<K extends 'kind' | 'resource'>(req: JsonObject, field: K, errors: string[]): Record<'group' | 'version' | K, string> {
  const v = Object.hasOwn(req, field) ? req[field] : undefined;
  if (isObject(v)) {
    const group = Object.hasOwn(v, 'group') ? v.group : undefined;
    const version = Object.hasOwn(v, 'version') ? v.version : undefined;
    const name = Object.hasOwn(v, field) ? v[field] : undefined;
    // The common case first: three strings (an absent group is the core group).
    if ((typeof group === 'string' || group === undefined || group === null) && typeof version === 'string' && typeof name === 'string') {
      const out = field === 'kind' ? { group: group ?? '', version, kind: name } : { group: group ?? '', version, resource: name };
      return out as unknown as Record<'group' | 'version' | K, string>;
    }
    if (!(typeof group === 'string' || group === undefined || group === null))
      errors.push(`request.${field}.group must be a string, got ${describeType(group)}`);
    if (typeof version !== 'string') errors.push(`request.${field}.version must be a string, got ${describeType(version)}`);
    if (typeof name !== 'string') errors.push(`request.${field}.${field} must be a string, got ${describeType(name)}`);
  } else {
    errors.push(`request.${field} must be an object with group, version and ${field}, got ${describeType(v)}`);
  }
  return { group: '', version: '', [field]: '' } as Record<'group' | 'version' | K, string>;
}

/**
 * Checks the fields the webhook reads. The object itself is only required for a pod CREATE
 * (see `isPodCreate`); other requests are allowed unchanged whatever their object holds.
 */
export function readRequest(header: ReviewHeader, req: JsonObject): { ok: true; request: AdmissionRequest } | ReviewError {
  const errors: string[] = [];
  const kind = readGroupVersion(req, 'kind', errors);
  const resource = readGroupVersion(req, 'resource', errors);
  const op = Object.hasOwn(req, 'operation') ? req.operation : undefined;
  if (typeof op !== 'string' || !OPERATIONS.has(op)) {
    errors.push(`request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got ${preview(op)}`);
  }
  const subResource = optionalString(req, 'subResource', errors);
  const namespace = optionalString(req, 'namespace', errors);
  const name = optionalString(req, 'name', errors);
  const dry = Object.hasOwn(req, 'dryRun') ? req.dryRun : undefined;
  if (dry !== undefined && dry !== null && typeof dry !== 'boolean') errors.push(`request.dryRun must be a boolean, got ${describeType(dry)}`);
  if (errors.length > 0) return { ok: 'review-error', header, message: `malformed AdmissionReview: ${errors.join('; ')}` };
  return {
    ok: true,
    request: {
      header,
      kind,
      resource,
      subResource,
      operation: op as Operation,
      namespace,
      name,
      object: Object.hasOwn(req, 'object') ? req.object : undefined,
      dryRun: dry === true,
    },
  };
}

/** Only a Pod CREATE (core/v1 pods, no subresource) is mutated. */
export function isPodCreate(r: AdmissionRequest): boolean {
  return (
    r.operation === 'CREATE' &&
    r.subResource === '' &&
    r.kind.group === '' &&
    r.kind.version === 'v1' &&
    r.kind.kind === 'Pod' &&
    r.resource.group === '' &&
    r.resource.version === 'v1' &&
    r.resource.resource === 'pods'
  );
}

/** Body bytes → checked request, or the precise reason it cannot be one. */
export function decodeReview(body: Buffer): Decoded {
  const parsed = parseJsonBody(body);
  if (!parsed.ok) return parsed;
  return decodeReviewValue(parsed.value);
}

export function decodeReviewValue(value: JsonValue): Decoded {
  const h = readHeader(value);
  if (!h.ok) return h;
  return readRequest(h.header, h.request);
}
