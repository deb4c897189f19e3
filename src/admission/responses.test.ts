import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowed, cleanWarnings, denied, errored, oneLine, patched, reviewJson, WARNING_MAX_CHARS } from './responses.ts';
import type { ReviewHeader } from './review.ts';

const h: ReviewHeader = { apiVersion: 'admission.k8s.io/v1', uid: 'u-1' };
const hb: ReviewHeader = { apiVersion: 'admission.k8s.io/v1beta1', uid: 'u-2' };

test('allowed: uid, allowed, nothing else', () => {
  assert.deepStrictEqual(allowed(h), { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u-1', allowed: true } });
  assert.deepStrictEqual(allowed(hb, ['careful']), {
    apiVersion: 'admission.k8s.io/v1beta1',
    kind: 'AdmissionReview',
    response: { uid: 'u-2', allowed: true, warnings: ['careful'] },
  });
});

test('patched: base64 JSON Patch with patchType; an empty patch has neither', () => {
  const ops = [{ op: 'add' as const, path: '/metadata/labels/a', value: 'b' }];
  const r = patched(h, ops);
  assert.deepStrictEqual(r, {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: 'u-1', allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(ops)).toString('base64') },
  });
  assert.deepStrictEqual(patched(h, []), allowed(h));
});

test('denied: 403 Forbidden with the message; errored: 400 BadRequest or 500 InternalError', () => {
  assert.deepStrictEqual(denied(h, 'profile "x" cannot be injected: reason'), {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: 'u-1', allowed: false, status: { code: 403, reason: 'Forbidden', message: 'profile "x" cannot be injected: reason' } },
  });
  assert.deepStrictEqual(errored(h, 400, 'bad').response.status, { code: 400, reason: 'BadRequest', message: 'bad' });
  assert.deepStrictEqual(errored(h, 500, 'bug').response.status, { code: 500, reason: 'InternalError', message: 'bug' });
});

test('warnings: one line each, cut at a word under 256 characters, deduplicated, bounded in total', () => {
  assert.equal(oneLine('a\nb\r\n\tc\u0000d\u2028e', 100), 'a b c d e');
  const long = `profile "x" cannot be injected: ${'word '.repeat(100)}end`;
  const cut = oneLine(long, WARNING_MAX_CHARS);
  assert.ok(Array.from(cut).length <= WARNING_MAX_CHARS, `${cut.length}`);
  assert.ok(cut.endsWith('word…'), cut);
  assert.equal(oneLine('\ud800 lone surrogate', 100), '\ufffd lone surrogate');
  assert.deepEqual(cleanWarnings(['same', 'same', '', '  ', 'other']), ['same', 'other']);
  const many = cleanWarnings(Array.from({ length: 40 }, (_, i) => `warning ${i} ${'x'.repeat(200)}`));
  const total = many.reduce((n, w) => n + w.length, 0);
  assert.ok(total <= 4096, `${total}`);
  assert.match(many.at(-1) as string, /^\d+ more warnings not shown/);
});

test('reviewJson: the same bytes as JSON.stringify, whatever the uid, warnings and patch hold', () => {
  const ops = [{ op: 'add' as const, path: '/metadata/labels/a', value: '"patch":"" ü \u2028' }];
  const uids = ['u-1', '"patch":""', 'a"b\\c', '\u0000\u001f', '😀'];
  const warnings = [[], ['"patch":"" careful'], ['x\ny', 'é']];
  for (const uid of uids) {
    for (const w of warnings) {
      for (const apiVersion of ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const) {
        const header = { apiVersion, uid };
        for (const r of [patched(header, ops, w), allowed(header, w), denied(header, 'no "patch":""', w), errored(header, 500, 'bug', w)])
          assert.equal(reviewJson(r), JSON.stringify(r), `${uid} ${JSON.stringify(w)} ${r.response.allowed}`);
      }
    }
  }
});
