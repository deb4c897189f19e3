/** Decoding a review field by field: every refusal with its exact words, and what counts as a pod CREATE. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JsonObject, JsonValue } from '../engine/index.ts';
import { type AdmissionRequest, decodeReviewValue, isPodCreate, preview } from './review.ts';

const UID = 'u-1';
type Over = Record<string, JsonValue | undefined>;
// undefined stands for a field left out.
const request = (over: Over = {}): JsonObject =>
  JSON.parse(
    JSON.stringify({
      uid: UID,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE',
      namespace: 'shop',
      object: {},
      ...over,
    }),
  );
const reviewOf = (req: JsonValue, apiVersion: JsonValue = 'admission.k8s.io/v1'): JsonValue => ({ kind: 'AdmissionReview', apiVersion, request: req });
const decoded = (v: JsonValue) => decodeReviewValue(v);
const httpMessage = (v: JsonValue) => {
  const d = decoded(v);
  assert.equal(d.ok, false, JSON.stringify(d));
  return [(d as { code: string }).code, (d as { message: string }).message];
};
const reviewError = (over: Over) => {
  const d = decoded(reviewOf(request(over)));
  assert.equal(d.ok, 'review-error', JSON.stringify(d));
  return (d as { message: string }).message;
};
const ok = (over: Over = {}): AdmissionRequest => {
  const d = decoded(reviewOf(request(over)));
  assert.equal(d.ok, true, JSON.stringify(d));
  return (d as { request: AdmissionRequest }).request;
};

describe('preview', () => {
  test('a string quoted and cut at the limit, anything else by its type', () => {
    assert.equal(preview('abc'), '"abc"');
    assert.equal(preview('x'.repeat(40)), JSON.stringify('x'.repeat(40)));
    assert.equal(preview('x'.repeat(41)), JSON.stringify(`${'x'.repeat(40)}…`));
    assert.equal(preview('abcdef', 3), '"abc…"');
    assert.equal(preview(undefined), 'nothing');
    assert.equal(preview(null), 'null');
    assert.equal(preview([1]), 'an array');
    assert.equal(preview({}), 'an object');
    assert.equal(preview(1), 'a number');
    assert.equal(preview(true), 'a boolean');
  });
});

describe('the envelope: no uid to answer to, so an HTTP error', () => {
  test('each way of not being an AdmissionReview, in its own words', () => {
    assert.deepEqual(httpMessage([]), ['not-an-admission-review', 'expected a JSON object (an AdmissionReview), got an array']);
    assert.deepEqual(httpMessage('x'), ['not-an-admission-review', 'expected a JSON object (an AdmissionReview), got a string']);
    assert.deepEqual(httpMessage({ kind: 'Pod' }), ['not-an-admission-review', 'expected kind "AdmissionReview", got "Pod"']);
    assert.deepEqual(httpMessage({ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v2' }), [
      'unsupported-version',
      'unsupported AdmissionReview apiVersion "admission.k8s.io/v2"; supported: admission.k8s.io/v1, admission.k8s.io/v1beta1',
    ]);
    assert.deepEqual(httpMessage({ kind: 'AdmissionReview', apiVersion: 1 }), [
      'unsupported-version',
      'unsupported AdmissionReview apiVersion a number; supported: admission.k8s.io/v1, admission.k8s.io/v1beta1',
    ]);
    assert.deepEqual(httpMessage(reviewOf(null)), ['missing-request', 'AdmissionReview.request must be an object, got null']);
    assert.deepEqual(httpMessage(reviewOf(request({ uid: '' }))), [
      'missing-uid',
      'AdmissionReview.request.uid must be a non-empty string, got an empty string',
    ]);
    assert.deepEqual(httpMessage(reviewOf(request({ uid: 7 }))), ['missing-uid', 'AdmissionReview.request.uid must be a non-empty string, got a number']);
    assert.deepEqual(httpMessage(reviewOf(request({ uid: undefined }))), [
      'missing-uid',
      'AdmissionReview.request.uid must be a non-empty string, got nothing',
    ]);
  });

  test('both versions are read, and the header keeps the version and uid', () => {
    for (const v of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1']) {
      const d = decoded(reviewOf(request(), v));
      assert.equal(d.ok, true);
      assert.deepEqual((d as { request: AdmissionRequest }).request.header, { apiVersion: v, uid: UID });
    }
  });
});

describe('the request: a uid to answer to, so a review error naming every bad field', () => {
  test('kind and resource must be objects of strings; a missing or null group is the core group', () => {
    assert.equal(reviewError({ kind: 'Pod' }), 'malformed AdmissionReview: request.kind must be an object with group, version and kind, got a string');
    assert.equal(
      reviewError({ resource: undefined }),
      'malformed AdmissionReview: request.resource must be an object with group, version and resource, got nothing',
    );
    assert.equal(
      reviewError({ kind: { group: 1, version: 'v1', kind: 'Pod' } }),
      'malformed AdmissionReview: request.kind.group must be a string, got a number',
    );
    assert.equal(
      reviewError({ kind: { group: '', version: null, kind: 'Pod' } }),
      'malformed AdmissionReview: request.kind.version must be a string, got null',
    );
    assert.equal(
      reviewError({ resource: { group: '', version: 'v1', resource: [] } }),
      'malformed AdmissionReview: request.resource.resource must be a string, got an array',
    );
    assert.equal(
      reviewError({ kind: { group: {}, kind: 1 } }),
      'malformed AdmissionReview: request.kind.group must be a string, got an object; request.kind.version must be a string, got nothing; request.kind.kind must be a string, got a number',
    );
    assert.deepEqual(ok({ kind: { version: 'v1', kind: 'Pod' } }).kind, { group: '', version: 'v1', kind: 'Pod' });
    assert.deepEqual(ok({ resource: { group: null, version: 'v1', resource: 'pods' } }).resource, { group: '', version: 'v1', resource: 'pods' });
    assert.deepEqual(ok({ resource: { group: 'apps', version: 'v1', resource: 'deployments' } }).resource, {
      group: 'apps',
      version: 'v1',
      resource: 'deployments',
    });
  });

  test('operation is one of four; subResource, namespace and name are strings or absent; dryRun a boolean or absent', () => {
    assert.equal(
      reviewError({ operation: 'PATCH' }),
      'malformed AdmissionReview: request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got "PATCH"',
    );
    assert.equal(
      reviewError({ operation: undefined }),
      'malformed AdmissionReview: request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got nothing',
    );
    assert.equal(reviewError({ subResource: 1 }), 'malformed AdmissionReview: request.subResource must be a string, got a number');
    assert.equal(reviewError({ namespace: {} }), 'malformed AdmissionReview: request.namespace must be a string, got an object');
    assert.equal(reviewError({ name: true }), 'malformed AdmissionReview: request.name must be a string, got a boolean');
    assert.equal(reviewError({ dryRun: 'yes' }), 'malformed AdmissionReview: request.dryRun must be a boolean, got a string');
    assert.equal(
      reviewError({ operation: 'X', dryRun: 1 }),
      'malformed AdmissionReview: request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got "X"; request.dryRun must be a boolean, got a number',
    );
    for (const op of ['CREATE', 'UPDATE', 'DELETE', 'CONNECT']) assert.equal(ok({ operation: op }).operation, op);
  });

  test('what is read, with absent and null optional fields as empty', () => {
    const r = ok({ subResource: null, namespace: undefined, name: 'p', dryRun: null, object: { a: 1 } });
    assert.deepEqual(r, {
      header: { apiVersion: 'admission.k8s.io/v1', uid: UID },
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      subResource: '',
      operation: 'CREATE',
      namespace: '',
      name: 'p',
      object: { a: 1 },
      dryRun: false,
    });
    assert.equal(ok({ dryRun: true }).dryRun, true);
    assert.equal(ok({ dryRun: false }).dryRun, false);
    assert.equal(ok({ object: undefined }).object, undefined);
  });
});

describe('isPodCreate', () => {
  test('only a CREATE of core v1 pods, without a subresource', () => {
    assert.equal(isPodCreate(ok()), true);
    const not: JsonObject[] = [
      { operation: 'UPDATE' },
      { subResource: 'ephemeralcontainers' },
      { kind: { group: 'x', version: 'v1', kind: 'Pod' } },
      { kind: { group: '', version: 'v2', kind: 'Pod' } },
      { kind: { group: '', version: 'v1', kind: 'Binding' } },
      { resource: { group: 'x', version: 'v1', resource: 'pods' } },
      { resource: { group: '', version: 'v2', resource: 'pods' } },
      { resource: { group: '', version: 'v1', resource: 'bindings' } },
    ];
    for (const over of not) assert.equal(isPodCreate(ok(over)), false, JSON.stringify(over));
  });
});
