/**
 * The engine's self-check through the handler: a patch that does not reproduce the injected pod is
 * never sent. With failurePolicy fail the engine denies it and the handler answers 500 (it is
 * Outrigger's bug, not a policy decision); with failurePolicy ignore the pod is admitted unchanged,
 * with a warning. The verifier is replaced here, as no real patch fails it (patch.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import { pod, review } from '../../test/support/webhook.ts';
import { inject, type JsonObject, type PatchVerifier, patchReproducesPod } from '../engine/index.ts';
import { type AdmissionResult, type HandlerConfig, handleDecoded } from './handle.ts';
import { decodeReview } from './review.ts';

const set = profilesFromYaml(
  [
    profileYaml('must', { version: '1.0.0', sidecarMode: 'classic', containers: [{ name: 'must', image: 'example.com/must:1' }] }),
    profileYaml('may', { version: '1.0.0', sidecarMode: 'classic', failurePolicy: 'ignore', containers: [{ name: 'may', image: 'example.com/may:1' }] }),
    profileYaml('envy', { version: '1.0.0', env: [{ name: 'ENVY', value: '1' }] }),
  ].join('\n---\n'),
);
const kubeVersion = { major: 1, minor: 33 };
const MESSAGE = 'the computed patch did not reproduce the injected pod; this is a bug in Outrigger';

/** A verifier that refuses every patch, counting the patches it was shown. */
function refusing(): PatchVerifier & { calls: number } {
  const v = Object.assign(
    () => {
      v.calls += 1;
      return false;
    },
    { calls: 0 },
  );
  return v;
}

function run(object: JsonObject, verifyPatch?: PatchVerifier): AdmissionResult {
  const cfg: HandlerConfig = { profiles: set, kubeVersion, ...(verifyPatch ? { verifyPatch } : {}) };
  const r = handleDecoded(decodeReview(Buffer.from(JSON.stringify(review(object)))), cfg);
  assert.ok('response' in r);
  return r;
}

describe('a patch that fails the self-check', () => {
  test('failurePolicy fail: the engine denies, the handler answers 500 and sends no patch', () => {
    const verify = refusing();
    const r = run(pod({ 'outrigger.dev/inject': 'must' }), verify);
    assert.equal(verify.calls, 1);
    assert.equal(r.decision?.outcome, 'denied');
    assert.equal(r.outcome, 'errored');
    assert.equal(r.reason, 'patch-verification-failed');
    assert.deepStrictEqual(r.response.response, {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      allowed: false,
      status: { code: 500, reason: 'InternalError', message: MESSAGE },
    });
    assert.deepStrictEqual(r.profiles.at(-1), { profile: '*', reason: 'patch-verification-failed', message: MESSAGE });
  });

  test('failurePolicy ignore: admitted unchanged, with a warning, and no patch', () => {
    const r = run(pod({ 'outrigger.dev/inject': 'may' }), refusing());
    assert.equal(r.decision?.outcome, 'unchanged');
    assert.equal(r.outcome, 'unchanged');
    assert.equal(r.reason, 'patch-verification-failed');
    assert.deepStrictEqual(r.response.response, {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      allowed: true,
      warnings: [`${MESSAGE} (the pod is admitted unchanged)`],
    });
  });

  test('one fail profile among ignore ones is enough for the 500', () => {
    const r = run(pod({ 'outrigger.dev/inject': 'may, must' }), refusing());
    assert.equal(r.outcome, 'errored');
    assert.equal(r.response.response.status?.code, 500);
    assert.equal(r.response.response.patch, undefined);
  });

  test('extending to a container added after injection is checked too', () => {
    const first = inject(pod({ 'outrigger.dev/inject': 'envy' }), set, { namespace: 'shop', kubeVersion });
    assert.equal(first.outcome, 'injected');
    const spec = first.pod.spec as JsonObject;
    const later = { ...first.pod, spec: { ...spec, containers: [...(spec.containers as JsonObject[]), { name: 'late', image: 'example.com/late:1' }] } };
    assert.equal(run(later).outcome, 'injected', 'the real self-check passes the extension');
    const verify = refusing();
    const r = run(later, verify);
    assert.equal(verify.calls, 1);
    assert.equal(r.outcome, 'errored');
    assert.equal(r.reason, 'patch-verification-failed');
    assert.equal(r.response.response.status?.code, 500);
  });

  test('a pod left unchanged sends no patch to check', () => {
    const verify = refusing();
    assert.equal(run(pod(), verify).outcome, 'unchanged');
    assert.equal(verify.calls, 0);
  });

  test('the verifier is shown the admitted pod, the patch and the pod the engine wants', () => {
    let seen: Parameters<PatchVerifier> | undefined;
    const r = run(pod({ 'outrigger.dev/inject': 'must' }), (...args) => {
      seen = args;
      return patchReproducesPod(...args);
    });
    assert.equal(r.outcome, 'injected');
    assert.ok(seen);
    assert.deepStrictEqual(seen[0], pod({ 'outrigger.dev/inject': 'must' }));
    assert.deepStrictEqual(seen[1], r.decision?.patch);
    assert.deepStrictEqual(seen[2], r.decision?.pod);
  });
});
