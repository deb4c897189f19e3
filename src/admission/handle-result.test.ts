/**
 * What the handler reports beside the response — uid, operation, resource, namespace, name,
 * reason, message — which logs, metrics and Events are built from; and the one-line clean-up of
 * messages and warnings.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml } from '../../test/support/profiles.ts';
import { pod, review, TEST_PROFILES } from '../../test/support/webhook.ts';
import { nestsDeeperThan } from '../common/errors.ts';
import type { JsonObject, JsonValue } from '../engine/index.ts';
import { type AdmissionResult, type HandlerConfig, handleDecoded } from './handle.ts';
import { cleanWarnings, oneLine, WARNING_MAX_CHARS, WARNINGS_MAX_TOTAL_CHARS } from './responses.ts';
import { decodeReviewValue } from './review.ts';

const cfg: HandlerConfig = { profiles: profilesFromYaml(Object.values(TEST_PROFILES).join('\n---\n')), kubeVersion: { major: 1, minor: 33 } };
const run = (v: JsonValue): AdmissionResult => {
  const r = handleDecoded(decodeReviewValue(v), cfg);
  assert.ok('response' in r, JSON.stringify(r));
  return r;
};
const facts = (r: AdmissionResult) => ({
  uid: r.uid,
  operation: r.operation,
  resource: r.resource,
  namespace: r.namespace,
  name: r.name,
  dryRun: r.dryRun,
  outcome: r.outcome,
  reason: r.reason,
});

describe('the facts of a result', () => {
  test('a pod CREATE: core resource, the pod’s generateName when it has no name, its name when it has one', () => {
    const r = run(review(pod({ 'outrigger.dev/inject': 'probe' }), { uid: 'u1', dryRun: true }));
    assert.deepEqual(facts(r), {
      uid: 'u1',
      operation: 'CREATE',
      resource: 'v1/pods',
      namespace: 'shop',
      name: 'shop-frontend-7d9f8c6b5-',
      dryRun: true,
      outcome: 'injected',
      reason: 'injected',
    });
    assert.deepEqual(
      r.profiles.map((p) => [p.profile, p.reason]),
      [['probe', 'injected']],
    );
    const named = pod();
    (named.metadata as JsonObject).name = 'web-0';
    assert.equal(run(review(named)).name, 'web-0');
    const nameless = pod();
    (nameless.metadata as JsonObject).generateName = '';
    const withName = review(nameless);
    (withName.request as JsonObject).name = 'from-request';
    assert.equal(run(withName).name, 'from-request');
  });

  test('other resources are named group/version/resource[/subresource], and are allowed unchanged', () => {
    const deployment = run(
      review(
        { metadata: { name: 'd' } },
        {
          operation: 'UPDATE',
          kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
          resource: { group: 'apps', version: 'v1', resource: 'deployments' },
        },
      ),
    );
    assert.deepEqual(facts(deployment), {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      operation: 'UPDATE',
      resource: 'apps/v1/deployments',
      namespace: 'shop',
      name: 'd',
      dryRun: false,
      outcome: 'unchanged',
      reason: 'not-a-pod-create',
    });
    assert.equal(deployment.message, 'Only pod creation is mutated; this request is allowed unchanged.');
    assert.equal(run(review(pod(), { subResource: 'ephemeralcontainers', operation: 'UPDATE' })).resource, 'v1/pods/ephemeralcontainers');
  });

  test('the namespace falls back to the pod’s own; with neither, the request is malformed', () => {
    const p = pod({ 'outrigger.dev/inject': 'probe' });
    (p.metadata as JsonObject).namespace = 'from-pod';
    assert.equal(run(review(p, { namespace: '' })).namespace, 'from-pod');
    const r = run(review(pod(), { namespace: '' }));
    assert.deepEqual(
      [r.outcome, r.reason, r.message],
      ['errored', 'malformed-request', 'malformed AdmissionReview: request.namespace is empty; a pod is always created in a namespace'],
    );
    assert.deepEqual(r.response.response.status, { code: 400, reason: 'BadRequest', message: r.message });
  });

  test('a pod CREATE whose object is not a pod is malformed, saying what it got', () => {
    const notObject = run(review([1, 2]));
    assert.equal(notObject.message, 'malformed AdmissionReview: request.object must be the Pod being created, got an array');
    const otherKind = run(review({ ...pod(), kind: 'Service' }));
    assert.equal(otherKind.message, 'malformed AdmissionReview: request.object.kind must be "Pod" for a pods CREATE, got "Service"');
    for (const r of [notObject, otherKind]) assert.deepEqual([r.outcome, r.reason, r.profiles, r.warnings], ['errored', 'malformed-request', [], []]);
    // A pod without kind is a pod (the API server may leave it out).
    const { kind: _k, ...kindless } = pod();
    assert.equal(run(review(kindless)).outcome, 'unchanged');
  });

  test('a malformed review with a uid: 400 with the fields at fault, and empty facts', () => {
    const r = run({ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1', request: { uid: 'u9', operation: 'NOPE' } });
    assert.deepEqual(facts(r), {
      uid: 'u9',
      operation: '',
      resource: '',
      namespace: '',
      name: '',
      dryRun: false,
      outcome: 'errored',
      reason: 'malformed-request',
    });
    assert.match(r.message, /^malformed AdmissionReview: request\.kind must be an object/);
    assert.deepEqual(r.response.response.status?.code, 400);
  });

  test('a misplaced inject annotation on a workload is warned about on CREATE and UPDATE, not on DELETE or other kinds', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', annotations: { 'outrigger.dev/inject': 'probe' } },
      spec: { template: { metadata: {}, spec: { containers: [{ name: 'a', image: 'a' }] } } },
    };
    const as = (operation: string, object: JsonValue, kind = 'Deployment') =>
      run(review(object, { operation, kind: { group: 'apps', version: 'v1', kind }, resource: { group: 'apps', version: 'v1', resource: 'deployments' } }));
    for (const op of ['CREATE', 'UPDATE']) {
      const r = as(op, deployment);
      assert.equal(r.warnings.length, 1, op);
      assert.match(r.warnings[0] ?? '', /the outrigger\.dev\/inject annotation is on the Deployment's own metadata, where it has no effect/);
      assert.deepEqual(r.response.response.warnings, r.warnings);
    }
    assert.deepEqual(as('DELETE', deployment).warnings, []);
    assert.deepEqual(as('CREATE', { ...deployment, kind: 'DeploymentList' }).warnings, []);
    assert.deepEqual(as('CREATE', 'not an object').warnings, []);
    assert.deepEqual(as('CREATE', { ...deployment, metadata: { name: 'd' } }).warnings, []);
  });
});

describe('helpers', () => {
  test('nestsDeeperThan counts object and array levels, not scalars', () => {
    assert.equal(nestsDeeperThan(undefined, 0), false);
    assert.equal(nestsDeeperThan(1, 0), false);
    assert.equal(nestsDeeperThan({}, 0), true);
    assert.equal(nestsDeeperThan({}, 1), false);
    assert.equal(nestsDeeperThan({ a: { b: 1 } }, 1), true);
    assert.equal(nestsDeeperThan({ a: { b: 1 } }, 2), false);
    assert.equal(nestsDeeperThan([[[]]], 2), true);
    assert.equal(nestsDeeperThan([[[]]], 3), false);
    assert.equal(nestsDeeperThan({ a: 1, b: [null, 'x', { c: [] }] }, 3), true);
    assert.equal(nestsDeeperThan({ a: 1, b: [null, 'x', { c: [] }] }, 4), false);
  });
});

describe('one-line messages and warnings', () => {
  test('control characters and line separators become single spaces; the ends are trimmed', () => {
    assert.equal(oneLine(' a\nb\r\n\tc\u2028d\u0085e  f ', 100), 'a b c d e f');
    assert.equal(oneLine('lone \ud800 surrogate', 100), 'lone \ufffd surrogate');
  });

  test('at most max code points: within is kept whole, longer is cut at a space near the end, else mid-word, with an ellipsis', () => {
    assert.equal(oneLine('x'.repeat(10), 10), 'x'.repeat(10));
    assert.equal(oneLine('😀'.repeat(10), 10), '😀'.repeat(10), 'code points, not UTF-16 units');
    assert.equal(oneLine('x'.repeat(11), 10), `${'x'.repeat(9)}…`);
    assert.equal(oneLine('aaaaaaa bbbbbbbb', 10), 'aaaaaaa…', 'a space past 60% of the limit is where it is cut');
    assert.equal(oneLine('aaaaa bbbbbbbbbb', 10), 'aaaaa bbb…', 'at 60% or before, the cut is mid-word');
    assert.equal(oneLine('😀'.repeat(11), 10), `${'😀'.repeat(9)}…`);
  });

  test('warnings: cut one by one, repeats and empty ones dropped, and past the total an "n more" line', () => {
    assert.deepEqual(cleanWarnings(['a', 'a', ' ', 'b\nc']), ['a', 'b c']);
    assert.equal(cleanWarnings(['w'.repeat(1000)])[0]?.length, WARNING_MAX_CHARS);
    const many = Array.from({ length: 40 }, (_, i) => `${String(i).padStart(2, '0')} ${'w'.repeat(197)}`);
    const out = cleanWarnings(many);
    const shown = out.slice(0, -1);
    assert.equal(shown.length, Math.floor((WARNINGS_MAX_TOTAL_CHARS - 80) / 200));
    assert.equal(out.at(-1), `${40 - shown.length} more warnings not shown; run outrigger explain on this pod to see all`);
    assert.ok(out.join('').length <= WARNINGS_MAX_TOTAL_CHARS);
    // Exactly at the room left for the "more" line, one more is still shown.
    const fit = Array.from({ length: 2 }, (_, i) => `${i}${'w'.repeat((WARNINGS_MAX_TOTAL_CHARS - 80) / 2 - 1)}`);
    assert.deepEqual(
      cleanWarnings(fit),
      fit.map((w) => oneLine(w, WARNING_MAX_CHARS)),
    );
    // Twenty lines of 200 leave 16 characters before the room kept for the "more" line.
    const twenty = many.slice(0, 20);
    assert.deepEqual(cleanWarnings([...twenty, 'x'.repeat(16)]), [...twenty, 'x'.repeat(16)]);
    assert.equal(cleanWarnings([...twenty, 'x'.repeat(17)]).at(-1), '1 more warning not shown; run outrigger explain on this pod to see all');
    // Once one is left out, every later one is too, however short.
    assert.equal(cleanWarnings([...twenty, 'x'.repeat(17), 'y']).at(-1), '2 more warnings not shown; run outrigger explain on this pod to see all');
  });
});
