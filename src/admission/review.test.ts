import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pod, review } from '../../test/support/webhook.ts';
import { decodeReview, isPodCreate } from './review.ts';

const body = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('decodeReview: no uid to answer to → HTTP error with a stable code', () => {
  const cases: [string, Buffer, string, number][] = [
    ['empty body', Buffer.alloc(0), 'empty-body', 400],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'invalid-utf8', 400],
    ['truncated JSON', body('{"apiVersion":"admission.k8s.io/v1","kind":"Adm'), 'invalid-json', 400],
    ['100k unclosed [', body('['.repeat(100_000)), 'invalid-json', 400],
    ['100k nested arrays', body(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), 'not-an-admission-review', 400],
    ['a JSON string', body('"hello"'), 'not-an-admission-review', 400],
    ['null', body('null'), 'not-an-admission-review', 400],
    ['wrong kind', body({ apiVersion: 'admission.k8s.io/v1', kind: 'Pod', request: { uid: 'a' } }), 'not-an-admission-review', 400],
    ['unknown apiVersion', body({ apiVersion: 'admission.k8s.io/v2', kind: 'AdmissionReview', request: { uid: 'a' } }), 'unsupported-version', 400],
    ['apiVersion not a string', body({ apiVersion: 1, kind: 'AdmissionReview', request: { uid: 'a' } }), 'unsupported-version', 400],
    ['missing request', body({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), 'missing-request', 400],
    ['request is an array', body({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: [] }), 'missing-request', 400],
    ['missing uid', body({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { operation: 'CREATE' } }), 'missing-uid', 400],
    ['uid is a number', body({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 42 } }), 'missing-uid', 400],
    ['uid is empty', body({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: '' } }), 'missing-uid', 400],
  ];
  for (const [name, b, code, status] of cases) {
    test(name, () => {
      const d = decodeReview(b);
      assert.equal(d.ok, false);
      assert.equal((d as { code: string }).code, code);
      assert.equal((d as { status: number }).status, status);
      assert.ok((d as { message: string }).message.length > 10);
    });
  }
});

describe('decodeReview: a uid but malformed fields → review error naming the field', () => {
  const base = review(pod());
  const withRequest = (patch: Record<string, unknown>) => ({ ...base, request: { ...(base.request as object), ...patch } });
  const cases: [string, unknown, RegExp][] = [
    ['operation missing', withRequest({ operation: undefined }), /request\.operation must be one of/],
    ['operation unknown', withRequest({ operation: 'PATCH' }), /request\.operation must be one of .* got "PATCH"/],
    ['kind a string', withRequest({ kind: 'Pod' }), /request\.kind must be an object/],
    ['kind.version a number', withRequest({ kind: { group: '', version: 1, kind: 'Pod' } }), /request\.kind\.version must be a string, got a number/],
    ['resource null', withRequest({ resource: null }), /request\.resource must be an object/],
    ['namespace a number', withRequest({ namespace: 7 }), /request\.namespace must be a string/],
    ['dryRun a string', withRequest({ dryRun: 'true' }), /request\.dryRun must be a boolean/],
    ['subResource an object', withRequest({ subResource: {} }), /request\.subResource must be a string/],
  ];
  for (const [name, v, message] of cases) {
    test(name, () => {
      const d = decodeReview(body(v));
      assert.equal(d.ok, 'review-error');
      if (d.ok !== 'review-error') return;
      assert.deepEqual(d.header, { apiVersion: 'admission.k8s.io/v1', uid: '705ab4f5-6393-11e8-b7cc-42010a800002' });
      assert.match(d.message, message);
    });
  }
  test('a missing group is the core group', () => {
    const d = decodeReview(body(withRequest({ kind: { version: 'v1', kind: 'Pod' }, resource: { version: 'v1', resource: 'pods' } })));
    assert.equal(d.ok, true);
    if (d.ok === true) assert.equal(isPodCreate(d.request), true);
  });
});

describe('isPodCreate', () => {
  const decode = (o: Parameters<typeof review>[1]) => {
    const d = decodeReview(body(review(pod(), o)));
    assert.equal(d.ok, true);
    return d.ok === true ? isPodCreate(d.request) : false;
  };
  test('pod CREATE, v1 and v1beta1 reviews', () => {
    assert.equal(decode({}), true);
    assert.equal(decode({ apiVersion: 'admission.k8s.io/v1beta1' }), true);
  });
  test('everything else is not', () => {
    assert.equal(decode({ operation: 'UPDATE' }), false);
    assert.equal(decode({ operation: 'DELETE' }), false);
    assert.equal(decode({ operation: 'CONNECT' }), false);
    assert.equal(decode({ subResource: 'ephemeralcontainers' }), false);
    assert.equal(decode({ kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' } }), false);
    assert.equal(
      decode({ kind: { group: 'example.com', version: 'v1', kind: 'Pod' }, resource: { group: 'example.com', version: 'v1', resource: 'pods' } }),
      false,
    );
    assert.equal(
      decode({ kind: { group: '', version: 'v1', kind: 'Binding' }, resource: { group: '', version: 'v1', resource: 'pods' }, subResource: 'binding' }),
      false,
    );
  });
});
