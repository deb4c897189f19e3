/** `/explain` answers in full: their fields for a pod and for a review, the namespace rules, and each refusal. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml } from '../../test/support/profiles.ts';
import { pod, review, TEST_PROFILES } from '../../test/support/webhook.ts';
import type { JsonObject, JsonValue } from '../engine/index.ts';
import { type Explanation, explain } from './explain.ts';
import type { HandlerConfig } from './handle.ts';
import { REDACTED, redactEnv, redactPatch } from './redact.ts';

const set = profilesFromYaml(Object.values(TEST_PROFILES).join('\n---\n'));
const cfg: HandlerConfig = { profiles: set, kubeVersion: { major: 1, minor: 31 } };
const explained = (body: JsonValue, namespace?: string): Explanation => {
  const r = explain(body, namespace, cfg);
  assert.ok(r.ok, JSON.stringify(r));
  return r.explanation;
};
const refused = (body: JsonValue, namespace?: string) => {
  const r = explain(body, namespace, cfg);
  assert.equal(r.ok, false);
  return [(r as { code: string }).code, (r as { message: string }).message, (r as { status: number }).status];
};
const probeHash = set.byName.get('probe')?.hash;

describe('explain', () => {
  test('a pod: the whole decision, with the cluster version, each profile’s reason in words and its version', () => {
    const e = explained(pod({ 'outrigger.dev/inject': 'probe, soft, nope' }));
    assert.equal(e.namespace, 'default');
    assert.equal(e.kubeVersion, '1.31');
    assert.deepEqual([e.outcome, e.reason, e.reasonText], ['injected', 'injected', 'The profile was injected.']);
    assert.deepEqual(
      e.profiles.map((p) => [p.profile, p.reason, p.version]),
      [
        ['nope', 'unknown-profile', undefined],
        ['probe', 'injected', '1.0.0'],
        ['soft', 'name-conflict', '2.0.0'],
      ],
    );
    assert.ok(!('version' in (e.profiles[0] as object)), 'no version key for a profile that does not exist');
    for (const p of e.profiles) assert.ok(p.reasonText.length > 10 && p.message.length > 10, JSON.stringify(p));
    assert.equal(e.warnings.length, 2);
    assert.deepEqual(e.patch[1], { op: 'add', path: '/spec/containers/1', value: { name: 'probe', image: 'example.com/probe:1' } });
    assert.match(
      String((e.pod as { metadata: { annotations: Record<string, string> } }).metadata.annotations['outrigger.dev/status']),
      new RegExp(String(probeHash)),
    );
    assert.equal(e.response, undefined, 'a pod gets no AdmissionReview response');
  });

  test('the namespace: ?namespace=, else the pod’s own, else default', () => {
    const p = pod();
    assert.equal(explained(p).namespace, 'default');
    assert.equal(explained({ ...p, metadata: { ...(p.metadata as JsonObject), namespace: 'mine' } }).namespace, 'mine');
    assert.equal(explained({ ...p, metadata: { ...(p.metadata as JsonObject), namespace: '' } }).namespace, 'default');
    assert.equal(explained({ ...p, metadata: { ...(p.metadata as JsonObject), namespace: 'mine' } }, 'query').namespace, 'query');
    assert.equal(explained({ ...p, metadata: 'x' }).namespace, 'default');
    assert.equal(explained({ spec: { containers: [] } }).outcome, 'unchanged', 'a pod without kind is a pod');
  });

  test('an AdmissionReview: the decision, the response /mutate sends, and ?namespace= overriding the request’s', () => {
    const e = explained(review(pod({ 'outrigger.dev/inject': 'probe' }), { namespace: 'payments' }), 'override');
    assert.equal(e.namespace, 'override');
    assert.equal(e.outcome, 'injected');
    assert.equal(e.response?.response.allowed, true);
    assert.equal(e.response?.response.patchType, 'JSONPatch');
    const sent = JSON.parse(Buffer.from(String(e.response?.response.patch), 'base64').toString('utf8'));
    assert.deepEqual(sent, e.patch);
  });

  test('a review the engine never saw (not a pod create, or malformed): its result, no patch and no pod', () => {
    const notPod = explained(review(pod(), { operation: 'DELETE' }));
    assert.deepEqual(
      { ...notPod, response: undefined },
      {
        namespace: 'shop',
        kubeVersion: '1.31',
        outcome: 'unchanged',
        reason: 'not-a-pod-create',
        reasonText: 'Only pod creation is mutated; this request is allowed unchanged.',
        message: 'Only pod creation is mutated; this request is allowed unchanged.',
        profiles: [],
        warnings: [],
        patch: [],
        pod: null,
        response: undefined,
      },
    );
    assert.deepEqual(notPod.response?.response, { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
    const malformed = explained(review(pod(), { namespace: '' }));
    assert.deepEqual([malformed.outcome, malformed.reason], ['errored', 'malformed-request']);
    assert.equal(malformed.reasonText, 'The AdmissionReview has a uid but a field the webhook needs is missing or has the wrong type.');
    // ?namespace= on a review without a request object changes nothing: it is refused as it is.
    assert.deepEqual(refused({ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1', request: 'x' }, 'ns'), [
      'missing-request',
      'AdmissionReview.request must be an object, got a string',
      400,
    ]);
  });

  test('refusals: a bad ?namespace=, a body that is not an object, a kind that is not a pod', () => {
    assert.deepEqual(refused(pod(), 'Not_A_Namespace'), ['invalid-query', '?namespace="Not_A_Namespace" is not a namespace name', 400]);
    assert.deepEqual(refused([pod()]), ['not-a-pod', 'expected a JSON Pod or AdmissionReview object', 400]);
    assert.deepEqual(refused({ kind: 'Deployment' }), [
      'not-a-pod',
      'expected a Pod or an AdmissionReview, got kind "Deployment"; for workloads use outrigger explain -f',
      400,
    ]);
    assert.deepEqual(refused({ kind: 5 }), [
      'not-a-pod',
      'expected a Pod or an AdmissionReview, got kind a number; for workloads use outrigger explain -f',
      400,
    ]);
  });

  test('a pod nested past any real one is refused as such, not as a bug', () => {
    let deep: JsonValue = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const p = pod({ 'outrigger.dev/inject': 'probe' }, { containers: [{ name: 'web', image: 'w', args: deep as JsonValue[] }] });
    assert.deepEqual(refused(p), ['nesting-too-deep', 'the pod nests JSON more than 200 levels deep; no Kubernetes Pod does', 400]);
  });
});

describe('redaction', () => {
  test('env values in every env list, at any depth; names, valueFrom and other fields stay', () => {
    const v: JsonValue = {
      spec: {
        containers: [{ name: 'a', env: [{ name: 'A', value: 's' }, { name: 'B', valueFrom: { secretKeyRef: { name: 'x', key: 'y' } } }, 'odd'] }],
        ephemeralContainers: [{ env: [{ name: 'C', value: 's2' }] }],
      },
      value: 'not env',
      env: 'not a list',
    };
    assert.deepEqual(redactEnv(v), {
      spec: {
        containers: [{ name: 'a', env: [{ name: 'A', value: REDACTED }, { name: 'B', valueFrom: { secretKeyRef: { name: 'x', key: 'y' } } }, 'odd'] }],
        ephemeralContainers: [{ env: [{ name: 'C', value: REDACTED }] }],
      },
      value: 'not env',
      env: 'not a list',
    });
  });

  test('a patch op adding a list, one var or one value is redacted at its level; other ops are left alone', () => {
    const ops: { op: string; path: string; value?: JsonValue }[] = [
      { op: 'add', path: '/spec/containers/0/env', value: [{ name: 'A', value: 's' }] },
      { op: 'add', path: '/spec/containers/0/env/-', value: { name: 'B', value: 's' } },
      { op: 'add', path: '/spec/containers/0/env/12', value: { name: 'C', value: 's' } },
      { op: 'replace', path: '/spec/containers/0/env/3/value', value: 's' },
      { op: 'replace', path: '/spec/containers/0/env/3/value', value: 7 },
      { op: 'add', path: '/spec/containers/1', value: { name: 'x', env: [{ name: 'D', value: 's' }] } },
      { op: 'add', path: '/metadata/labels/env', value: 'keep' },
      { op: 'add', path: '/spec/containers/0/env/3/valueFrom', value: { fieldRef: { fieldPath: 'x' } } },
      { op: 'remove', path: '/spec/containers/0/env/0' },
    ];
    assert.deepEqual(redactPatch(ops), [
      { op: 'add', path: '/spec/containers/0/env', value: [{ name: 'A', value: REDACTED }] },
      { op: 'add', path: '/spec/containers/0/env/-', value: { name: 'B', value: REDACTED } },
      { op: 'add', path: '/spec/containers/0/env/12', value: { name: 'C', value: REDACTED } },
      { op: 'replace', path: '/spec/containers/0/env/3/value', value: REDACTED },
      { op: 'replace', path: '/spec/containers/0/env/3/value', value: 7 },
      { op: 'add', path: '/spec/containers/1', value: { name: 'x', env: [{ name: 'D', value: REDACTED }] } },
      { op: 'add', path: '/metadata/labels/env', value: 'keep' },
      { op: 'add', path: '/spec/containers/0/env/3/valueFrom', value: { fieldRef: { fieldPath: 'x' } } },
      { op: 'remove', path: '/spec/containers/0/env/0' },
    ]);
  });
});
