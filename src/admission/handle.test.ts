/**
 * The handler against the exact JSON the API server reads: each outcome, v1 and v1beta1, dry run,
 * and the patch applied to the request's pod giving exactly the engine's pod.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { CORPUS, corpusFiles } from '../../test/support/corpus.ts';
import { exampleProfiles, profilesFromYaml } from '../../test/support/profiles.ts';
import { decodePatch, pod, review, TEST_PROFILES } from '../../test/support/webhook.ts';
import { nestsDeeperThan } from '../common/errors.ts';
import { applyPatch, inject, type JsonObject, type JsonValue } from '../engine/index.ts';
import { parseYamlDocuments } from '../io/yaml.ts';
import { findPodSites } from '../manifest/workloads.ts';
import { type AdmissionResult, type HandlerConfig, handleDecoded } from './handle.ts';
import { decodeReview } from './review.ts';

const set = profilesFromYaml(Object.values(TEST_PROFILES).join('\n---\n'));
const cfg: HandlerConfig = { profiles: set, kubeVersion: { major: 1, minor: 33 } };
const UID = '705ab4f5-6393-11e8-b7cc-42010a800002';
const probeHash = set.byName.get('probe')?.hash;

function run(v: unknown, c: HandlerConfig = cfg): AdmissionResult {
  const r = handleDecoded(decodeReview(Buffer.from(JSON.stringify(v))), c);
  assert.ok('response' in r, `expected an AdmissionReview, got HTTP ${JSON.stringify(r)}`);
  assert.deepStrictEqual(JSON.parse(r.body), r.response, 'body is the serialised response');
  return r;
}

const probeStatus = JSON.stringify({ v: 1, profiles: [{ name: 'probe', version: '1.0.0', hash: probeHash, mode: 'classic', containers: ['probe'] }] });
const probePatch = [
  { op: 'add', path: '/metadata/annotations/outrigger.dev~1status', value: probeStatus },
  { op: 'add', path: '/spec/containers/1', value: { name: 'probe', image: 'example.com/probe:1' } },
];
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

describe('outcomes, as the API server reads them', () => {
  test('injected: allowed with a base64 JSONPatch', () => {
    const r = run(review(pod({ 'outrigger.dev/inject': 'probe' })));
    assert.deepStrictEqual(JSON.parse(r.body), {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: UID, allowed: true, patchType: 'JSONPatch', patch: b64(probePatch) },
    });
    assert.deepStrictEqual(decodePatch(r.response.response.patch), probePatch);
    assert.equal(r.outcome, 'injected');
    assert.equal(r.reason, 'injected');
    assert.equal(r.namespace, 'shop');
    assert.equal(r.name, 'shop-frontend-7d9f8c6b5-');
  });

  test('v1beta1: same response, apiVersion echoed', () => {
    const r = run(review(pod({ 'outrigger.dev/inject': 'probe' }), { apiVersion: 'admission.k8s.io/v1beta1', uid: 'beta-uid' }));
    assert.deepStrictEqual(JSON.parse(r.body), {
      apiVersion: 'admission.k8s.io/v1beta1',
      kind: 'AdmissionReview',
      response: { uid: 'beta-uid', allowed: true, patchType: 'JSONPatch', patch: b64(probePatch) },
    });
  });

  test('dry run: the same patch (no side effects to skip in the handler)', () => {
    const r = run(review(pod({ 'outrigger.dev/inject': 'probe' }), { dryRun: true }));
    assert.deepStrictEqual(JSON.parse(r.body).response.patch, b64(probePatch));
    assert.equal(r.dryRun, true);
  });

  test('unchanged: nothing requested → allowed, no patch', () => {
    const r = run(review(pod()));
    assert.deepStrictEqual(JSON.parse(r.body), { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: UID, allowed: true } });
    assert.equal(r.reason, 'nothing-requested');
  });

  test('unchanged with warnings: failurePolicy ignore → allowed with the warning', () => {
    const r = run(review(pod({ 'outrigger.dev/inject': 'soft' })));
    assert.deepStrictEqual(JSON.parse(r.body), {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: UID,
        allowed: true,
        warnings: [
          'profile "soft" cannot be injected: it adds native sidecar "web", but the pod already has a container or init container named "web" (conflictPolicy: fail) (the pod is admitted without it: failurePolicy ignore)',
        ],
      },
    });
    assert.equal(r.outcome, 'unchanged');
    assert.equal(r.reason, 'name-conflict');
  });

  test('denied: failurePolicy fail → allowed false, 403 Forbidden, message names the profile and the problem', () => {
    const r = run(review(pod({ 'outrigger.dev/inject': 'strict' })));
    assert.deepStrictEqual(JSON.parse(r.body), {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: UID,
        allowed: false,
        status: {
          code: 403,
          reason: 'Forbidden',
          message:
            'profile "strict" cannot be injected: it adds native sidecar "web", but the pod already has a container or init container named "web" (conflictPolicy: fail)',
        },
      },
    });
    assert.equal(r.outcome, 'denied');
  });

  const notPodCreate: [string, Parameters<typeof review>[1], JsonValue][] = [
    ['UPDATE', { operation: 'UPDATE', oldObject: pod() }, pod({ 'outrigger.dev/inject': 'probe' })],
    ['DELETE', { operation: 'DELETE', oldObject: pod({ 'outrigger.dev/inject': 'probe' }) }, null],
    [
      'a ConfigMap',
      { kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' } },
      { data: { a: 'b' } },
    ],
    ['a subresource', { subResource: 'ephemeralcontainers', operation: 'UPDATE' }, pod({ 'outrigger.dev/inject': 'probe' })],
    ['pods/binding CREATE', { subResource: 'binding', kind: { group: '', version: 'v1', kind: 'Binding' } }, { target: { name: 'node-1' } }],
  ];
  for (const [name, o, object] of notPodCreate) {
    test(`not-a-pod-create: ${name} → allowed unchanged`, () => {
      const r = run(review(object, { ...o, uid: `uid-${name}` }));
      assert.deepStrictEqual(JSON.parse(r.body), {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: `uid-${name}`, allowed: true },
      });
      assert.equal(r.reason, 'not-a-pod-create');
      assert.equal(r.outcome, 'unchanged');
    });
  }

  test('the namespace comes from request.namespace, not the pod', () => {
    const p = pod({ 'outrigger.dev/inject': 'log-shipper' });
    const r = run(review(p, { namespace: 'payments' }), { profiles: exampleProfiles(), kubeVersion: { major: 1, minor: 33 } });
    const patched = applyPatch(p, decodePatch(r.response.response.patch) as never) as JsonObject;
    const shipper = ((patched.spec as JsonObject).initContainers as JsonObject[]).find((c) => c.name === 'log-shipper') as JsonObject;
    assert.deepEqual(
      (shipper.env as JsonObject[]).find((e) => e.name === 'NAMESPACE'),
      { name: 'NAMESPACE', value: 'payments' },
    );
  });
});

describe('workloads: read, never changed; a warning when the inject annotation is on the workload', () => {
  const deployment = (own: Record<string, string>, template: Record<string, string>): JsonObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', annotations: own },
    spec: { template: { metadata: { annotations: template }, spec: { containers: [{ name: 'app', image: 'a' }] } } },
  });
  const asWorkload = { kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', version: 'v1', resource: 'deployments' } };

  test('on the workload only: allowed, unchanged, with a warning that says where it belongs', () => {
    for (const operation of ['CREATE', 'UPDATE'] as const) {
      const r = run(review(deployment({ 'outrigger.dev/inject': 'probe' }, {}), { ...asWorkload, operation }));
      assert.deepStrictEqual(JSON.parse(r.body), {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: {
          uid: UID,
          allowed: true,
          warnings: [
            "Deployment shop/web: the outrigger.dev/inject annotation is on the Deployment's own metadata, where it has no effect; move it to spec.template.metadata.annotations",
          ],
        },
      });
    }
  });

  test('a CronJob is told the path of its own pod template', () => {
    const cronJob = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace: 'shop', annotations: { 'outrigger.dev/inject': 'probe' } },
      spec: { schedule: '@daily', jobTemplate: { spec: { template: { spec: { containers: [{ name: 'job', image: 'j' }] } } } } },
    };
    const r = run(
      review(cronJob, { kind: { group: 'batch', version: 'v1', kind: 'CronJob' }, resource: { group: 'batch', version: 'v1', resource: 'cronjobs' } }),
    );
    assert.match(JSON.parse(r.body).response.warnings[0], /move it to spec\.jobTemplate\.spec\.template\.metadata\.annotations$/);
  });

  test('other kinds are not read: a deeply nested list is answered, not walked', () => {
    const nested = `${'{"kind":"XList","items":['.repeat(20_000)}${']}'.repeat(20_000)}`;
    const text = JSON.stringify(review({}, asWorkload)).replace('"object":{}', `"object":${nested}`);
    const r = handleDecoded(decodeReview(Buffer.from(text)), cfg);
    assert.ok('response' in r);
    assert.deepStrictEqual(JSON.parse(r.body), { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: UID, allowed: true } });
  });

  test('on the pod template too, or a DELETE: no warning', () => {
    const both = run(review(deployment({ 'outrigger.dev/inject': 'probe' }, { 'outrigger.dev/inject': 'probe' }), asWorkload));
    assert.equal(JSON.parse(both.body).response.warnings, undefined);
    const gone = run(review(deployment({ 'outrigger.dev/inject': 'probe' }, {}), { ...asWorkload, operation: 'DELETE' }));
    assert.equal(JSON.parse(gone.body).response.warnings, undefined);
  });
});

describe('requests with a uid that the webhook cannot use: allowed false, 400, the field named', () => {
  const cases: [string, (r: JsonObject) => void, RegExp][] = [
    ['object missing', (r) => delete r.object, /request\.object must be the Pod/],
    ['object a string', (r) => (r.object = 'pod'), /request\.object must be the Pod/],
    ['object of another kind', (r) => (r.object = { kind: 'Service', metadata: {} }), /request\.object\.kind must be "Pod"/],
    ['no namespace anywhere', (r) => (r.namespace = ''), /request\.namespace is empty/],
    ['operation a number', (r) => (r.operation = 1), /request\.operation must be one of/],
  ];
  for (const [name, mutate, message] of cases) {
    test(name, () => {
      const rv = review(pod({ 'outrigger.dev/inject': 'probe' }));
      mutate(rv.request as JsonObject);
      const r = run(rv);
      const body = JSON.parse(r.body);
      assert.equal(body.apiVersion, 'admission.k8s.io/v1');
      assert.equal(body.kind, 'AdmissionReview');
      assert.equal(body.response.uid, UID);
      assert.equal(body.response.allowed, false);
      assert.equal(body.response.status.code, 400);
      assert.equal(body.response.status.reason, 'BadRequest');
      assert.match(body.response.status.message, message);
      assert.equal(r.reason, 'malformed-request');
    });
  }

  const deep = `${'['.repeat(100_000)}"x"${']'.repeat(100_000)}`;
  const base = JSON.stringify(review(pod({ 'outrigger.dev/inject': 'probe' })));
  const placements: Record<string, string> = {
    'container args': base.replace('"image":"nginx:1.27"', `"image":"nginx","args":${deep}`),
    'container env': base.replace('"image":"nginx:1.27"', `"image":"nginx","env":${deep}`),
    'pod affinity': base.replace('"restartPolicy":"Always"', `"restartPolicy":"Always","affinity":${deep}`),
    'a label value': base.replace('"app":"shop-frontend"', `"app":${deep}`),
    'userInfo.extra': base.replace('"uid":"u1"', `"uid":"u1","extra":${deep}`),
    'request.object itself': base.replace(/"object":\{.*\},"oldObject"/, `"object":${deep},"oldObject"`),
    'request.object.kind': base.replace('"apiVersion":"v1","kind":"Pod"', `"apiVersion":"v1","kind":${deep}`),
  };
  for (const [where, text] of Object.entries(placements)) {
    test(`100k levels of nesting in ${where}: a valid AdmissionReview, no crash`, () => {
      const r = handleDecoded(decodeReview(Buffer.from(text)), cfg);
      assert.ok('response' in r);
      const body = JSON.parse(r.body);
      assert.equal(body.response.uid, UID);
      assert.equal(typeof body.response.allowed, 'boolean');
      if (where === 'request.object itself') assert.match(body.response.status.message, /request\.object must be the Pod being created, got an array$/);
      if (where === 'request.object.kind') assert.match(body.response.status.message, /request\.object\.kind must be "Pod" for a pods CREATE, got an array$/);
    });
  }

  // The engine walks pods recursively in places; if that ever overflows, the answer depends on the input.
  const overflowing: HandlerConfig = {
    kubeVersion: { major: 1, minor: 33 },
    profiles: {
      byName: new Map(),
      get profiles(): never {
        throw new RangeError('Maximum call stack size exceeded');
      },
    },
  };
  test('a stack overflow on a deeply nested pod: 400 nesting-too-deep', () => {
    const r = handleDecoded(decodeReview(Buffer.from(placements['pod affinity'] as string)), overflowing);
    assert.ok('response' in r);
    assert.equal(r.reason, 'nesting-too-deep');
    assert.deepStrictEqual(JSON.parse(r.body).response.status, {
      code: 400,
      reason: 'BadRequest',
      message: 'request.object nests JSON more than 200 levels deep; no Kubernetes Pod does',
    });
  });
  test('an engine exception on an ordinary pod: 500 internal-error that says it is a bug', () => {
    const r = handleDecoded(decodeReview(Buffer.from(base)), overflowing);
    assert.ok('response' in r);
    assert.equal(r.reason, 'internal-error');
    const status = JSON.parse(r.body).response.status;
    assert.equal(status.code, 500);
    assert.equal(status.reason, 'InternalError');
    assert.match(status.message, /a bug; please report it.*The pod was not changed/);
    assert.ok(r.error instanceof RangeError);
  });

  test('nestsDeeperThan', () => {
    assert.equal(nestsDeeperThan({ a: [{ b: 1 }] }, 3), false);
    assert.equal(nestsDeeperThan({ a: [{ b: {} }] }, 3), true);
    assert.equal(nestsDeeperThan('x', 0), false);
  });
});

describe('the patch applied to the request pod is the engine pod (what the CLI prints)', () => {
  const examples = exampleProfiles();
  const ecfg: HandlerConfig = { profiles: examples, kubeVersion: { major: 1, minor: 33 } };
  const checkPod = (p: JsonObject, namespace: string, c: HandlerConfig) => {
    const r = run(review(p, { namespace }), c);
    const d = inject(p, c.profiles, { namespace, kubeVersion: c.kubeVersion });
    if (d.outcome === 'injected') {
      assert.equal(r.outcome, 'injected');
      const patched = applyPatch(p, decodePatch(r.response.response.patch) as never);
      assert.deepStrictEqual(patched, d.pod);
    } else {
      assert.equal(r.response.response.patch, undefined);
      assert.equal(r.outcome, d.outcome);
    }
    return d.outcome;
  };

  test('examples/workloads/shop.yaml, every pod template, as pods', () => {
    const text = readFileSync(new URL('../../examples/workloads/shop.yaml', import.meta.url), 'utf8');
    let injected = 0;
    for (const doc of parseYamlDocuments(text, 'shop.yaml')) {
      for (const site of findPodSites(doc.value)) {
        const p: JsonObject = { apiVersion: 'v1', kind: 'Pod', ...site.pod };
        if (checkPod(p, site.namespace ?? 'default', ecfg) === 'injected') injected++;
        for (const k of [{ major: 1, minor: 28 }]) checkPod(p, 'shop', { profiles: examples, kubeVersion: k });
      }
    }
    assert.ok(injected >= 2, `${injected}`);
  });

  const corpus = CORPUS;
  // Under CI the corpus must be there (as in test/unit/corpus.test.ts): a missing one fails, not skips.
  const skip = !existsSync(corpus) && !process.env.CI ? `no shared corpus at ${corpus}` : false;
  test('every pod template in the shared corpus, asking for every example profile', { skip }, () => {
    assert.ok(existsSync(corpus), `expected the shared corpus at ${corpus}`);
    let pods = 0;
    let injected = 0;
    for (const file of corpusFiles(corpus)) {
      let docs: ReturnType<typeof parseYamlDocuments>;
      try {
        docs = parseYamlDocuments(readFileSync(file, 'utf8'), file);
      } catch {
        continue; // unparseable files are the CLI's concern (test/unit/corpus.test.ts)
      }
      for (const doc of docs) {
        for (const site of findPodSites(doc.value)) {
          for (const ask of ['log-shipper', 'envoy, log-shipper, secrets-agent', undefined]) {
            const meta = (site.pod.metadata ?? {}) as JsonObject;
            const annotations = { ...((meta.annotations as JsonObject) ?? {}), ...(ask ? { 'outrigger.dev/inject': ask } : {}) };
            const p: JsonObject = { apiVersion: 'v1', kind: 'Pod', ...site.pod, metadata: { ...meta, annotations } };
            pods++;
            if (checkPod(p, site.namespace ?? 'default', ecfg) === 'injected') injected++;
          }
        }
      }
    }
    assert.ok(pods > 100, `${pods} pods`);
    assert.ok(injected > 50, `${injected} injected`);
  });
});
