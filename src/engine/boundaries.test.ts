/**
 * The engine at its exact edges, through inject(): the annotation limit to the byte (multibyte
 * included) and the Kubernetes version where `sidecarMode: auto` turns native.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import { deepEqual, type JsonObject } from '../common/json.ts';
import { inject, type KubeVersion, supportsNativeSidecars } from './inject.ts';
import { applyPatch } from './patch-apply.ts';

const LIMIT = 262_144;
const agent = { name: 'agent', image: 'example.com/agent:1' };
const profiles = (extra: object = {}) => profilesFromYaml(profileYaml('agent', { version: '1', containers: [agent], ...extra }));
const podWith = (annotations: Record<string, string>): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', annotations: { 'outrigger.dev/inject': 'agent', ...annotations } },
  spec: { containers: [{ name: 'app', image: 'app:1' }] },
});
const at = (minor: number, major = 1): { namespace: string; kubeVersion: KubeVersion } => ({ namespace: 'shop', kubeVersion: { major, minor } });
const annotationBytes = (pod: JsonObject) =>
  Object.entries(((pod.metadata as JsonObject).annotations ?? {}) as Record<string, string>).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v),
    0,
  );

describe('the annotation limit after injection, to the byte', () => {
  // The record Outrigger adds does not depend on the filler, so one injection tells how many bytes
  // of filler bring the injected pod's annotations to any total.
  const probe = inject(podWith({ 'example.com/filler': '' }), profiles(), at(33));
  assert.equal(probe.outcome, 'injected');
  const overhead = annotationBytes(probe.pod);
  const filler = (bytes: number, unit: string) => {
    const u = Buffer.byteLength(unit);
    return unit.repeat(Math.floor(bytes / u)) + 'x'.repeat(bytes % u);
  };

  for (const unit of ['x', 'é', '€', '😀']) {
    test(`${JSON.stringify(unit)}: annotations of exactly ${LIMIT} bytes once injected are accepted, ${LIMIT + 1} refused`, () => {
      const fits = podWith({ 'example.com/filler': filler(LIMIT - overhead, unit) });
      const d = inject(fits, profiles(), at(33));
      assert.equal(d.outcome, 'injected', d.message);
      assert.equal(annotationBytes(d.pod), LIMIT);
      assert.ok(deepEqual(applyPatch(fits, d.patch), d.pod));

      const over = podWith({ 'example.com/filler': filler(LIMIT - overhead + 1, unit) });
      assert.equal(annotationBytes(over) <= LIMIT, true, 'the pod itself is within the limit');
      const refused = inject(over, profiles(), at(33));
      assert.equal(refused.outcome, 'denied');
      assert.equal(refused.reason, 'invalid-result');
      assert.match(refused.message, /262144 bytes/);
      // failurePolicy ignore: admitted unchanged instead, with the same reason.
      const ignored = inject(over, profiles({ failurePolicy: 'ignore' }), at(33));
      assert.equal(ignored.outcome, 'unchanged');
      assert.equal(ignored.reason, 'invalid-result');
    });
  }
});

describe('sidecarMode auto: native sidecars from Kubernetes 1.29 exactly', () => {
  const cases: [KubeVersion, boolean][] = [
    [{ major: 1, minor: 28 }, false],
    [{ major: 1, minor: 29 }, true],
    [{ major: 1, minor: 30 }, true],
    [{ major: 0, minor: 99 }, false],
    [{ major: 2, minor: 0 }, true],
  ];
  for (const [v, native] of cases) {
    test(`${v.major}.${v.minor}: ${native ? 'native' : 'classic'}`, () => {
      assert.equal(supportsNativeSidecars(v), native);
      const pod = podWith({});
      const d = inject(pod, profiles(), at(v.minor, v.major));
      assert.equal(d.outcome, 'injected', d.message);
      const spec = d.pod.spec as JsonObject;
      if (native) {
        assert.deepEqual(spec.initContainers, [{ ...agent, restartPolicy: 'Always' }]);
        assert.deepEqual(spec.containers, [{ name: 'app', image: 'app:1' }]);
      } else {
        assert.equal(spec.initContainers, undefined);
        assert.deepEqual(spec.containers, [{ name: 'app', image: 'app:1' }, agent]);
      }
      // sidecarMode native is refused exactly where auto falls back to classic.
      const forced = inject(pod, profiles({ sidecarMode: 'native' }), at(v.minor, v.major));
      assert.equal(forced.outcome, native ? 'injected' : 'denied', forced.message);
      if (!native) assert.equal(forced.reason, 'unsupported-kube-version');
      // sidecarMode classic is classic everywhere.
      const classic = inject(pod, profiles({ sidecarMode: 'classic' }), at(v.minor, v.major));
      assert.deepEqual((classic.pod.spec as JsonObject).containers, [{ name: 'app', image: 'app:1' }, agent]);
    });
  }
});
