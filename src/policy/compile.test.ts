/**
 * The compiler's output and every refusal. What the policies do to pods is proven against a real
 * API server (test/e2e/policy.e2e.test.ts); these pin what is refused, with which field and why.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import { bundle, DEFAULTS } from '../deploy/manifests.ts';
import type { JsonObject } from '../engine/index.ts';
import { compilePolicies, UnsupportedKubeVersion } from './compile.ts';
import { ADMITTED_WITHOUT } from './objects.ts';
import { WHY } from './refusals.ts';
import { SET_DENY_POLICY, SET_POLICY } from './set.ts';
import { TEMPLATE_WHY } from './templates.ts';

const KUBE = { major: 1, minor: 36 };
const base = { version: '1', containers: [{ name: 'side', image: 'example.com/side:1' }] };
const compile = (...docs: [string, object][]) => compilePolicies(profilesFromYaml(docs.map(([n, s]) => profileYaml(n, s)).join('\n---\n')), KUBE);
const refusalsOf = (spec: object) => compile(['p', spec]).refusals.map((r) => [r.path, r.why]);

describe('outrigger policy: the compiler', () => {
  it('compiles a profile into a mutating and a validating policy, each with its binding', () => {
    const out = compile(['p', base]);
    assert.deepEqual(out.refusals, []);
    assert.deepEqual(out.compiled, ['p']);
    assert.deepEqual(
      out.objects.map((o) => [o.apiVersion, o.kind, (o.metadata as JsonObject).name]),
      [
        ['admissionregistration.k8s.io/v1', 'MutatingAdmissionPolicy', 'outrigger-p'],
        ['admissionregistration.k8s.io/v1', 'MutatingAdmissionPolicyBinding', 'outrigger-p'],
        ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicy', 'outrigger-p-deny'],
        ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicyBinding', 'outrigger-p-deny'],
        ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicy', 'outrigger-unknown-profiles'],
        ['admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicyBinding', 'outrigger-unknown-profiles'],
      ],
    );
    const [map, mapBinding, vap, vapBinding] = out.objects.map((o) => o.spec as JsonObject) as JsonObject[];
    assert.equal(map?.failurePolicy, 'Fail');
    assert.equal(vap?.failurePolicy, 'Fail');
    assert.deepEqual(vapBinding?.validationActions, ['Deny']);
    assert.equal(mapBinding?.policyName, 'outrigger-p');
    assert.equal(vapBinding?.policyName, 'outrigger-p-deny');
    // Pods that carry a status record are left alone by both.
    for (const spec of [map, vap]) assert.match(JSON.stringify(spec?.matchConditions), /outrigger.dev\/status/);
  });

  it('binds to exactly the namespaces the webhook serves', () => {
    const webhook = bundle(DEFAULTS).find((o) => o.kind === 'MutatingWebhookConfiguration') as JsonObject;
    const selector = ((webhook.webhooks as JsonObject[])[0] as JsonObject).namespaceSelector;
    for (const o of compile(['p', base]).objects.filter((x) => String(x.kind).endsWith('Binding')))
      assert.deepEqual(((o.spec as JsonObject).matchResources as JsonObject).namespaceSelector as JsonObject, selector);
  });

  it('records the profile and its version, hash and sidecar mode in the status record it writes', () => {
    const record = (o: JsonObject | undefined) =>
      (((o as JsonObject).spec as JsonObject).variables as JsonObject[]).find((v) => v.name === 'record')?.expression as string;
    for (const [spec, mode] of [
      [base, 'native'],
      [{ ...base, sidecarMode: 'classic' }, 'classic'],
    ] as const) {
      const set = profilesFromYaml(profileYaml('p', spec));
      const head = `{"v":1,"profiles":[{"name":"p","version":"1","hash":"${set.profiles[0]?.hash}","mode":"${mode}"`;
      assert.ok(record(compilePolicies(set, KUBE).objects[0]).startsWith(JSON.stringify(head)), mode);
    }
  });

  it("failurePolicy ignore: the validating policy warns with the engine's warning instead of denying", () => {
    const spec = (o: JsonObject | undefined) => (o as JsonObject).spec as JsonObject;
    for (const [failurePolicy, action, suffix] of [
      ['fail', 'Deny', ''],
      ['ignore', 'Warn', ADMITTED_WITHOUT],
    ] as const) {
      const [, , vap, binding] = compile(['p', { ...base, failurePolicy }]).objects;
      assert.deepEqual(spec(binding).validationActions, [action]);
      const message = ((spec(vap).validations as JsonObject[])[0] as JsonObject).messageExpression;
      assert.equal(message, suffix ? `variables.denial + ${JSON.stringify(suffix)}` : 'variables.denial');
    }
    // Unknown profiles are denied whatever the profiles' failurePolicy.
    assert.deepEqual(spec(compile(['p', { ...base, failurePolicy: 'ignore' }]).objects[5]).validationActions, ['Deny']);
  });

  it("compiles nothing, not even the set's policy, when no profile compiles", () => {
    assert.deepEqual(compile(['p', { ...base, mandatory: true }]).objects, []);
  });

  it('refuses a cluster version without MutatingAdmissionPolicy v1', () => {
    const set = profilesFromYaml(profileYaml('p', base));
    assert.throws(
      () => compilePolicies(set, { major: 1, minor: 35 }),
      (e: unknown) => e instanceof UnsupportedKubeVersion && /1\.35.*1\.36/.test((e as Error).message),
    );
    assert.doesNotThrow(() => compilePolicies(set, { major: 1, minor: 37 }));
  });
});

describe('outrigger policy: every refusal names the profile, the field and why', () => {
  it('mandatory', () => assert.deepEqual(refusalsOf({ ...base, mandatory: true }), [['spec.mandatory', WHY.mandatory]]));
  it('templates reading pod.name, or where the engine validates or records the rendered value', () => {
    assert.deepEqual(refusalsOf({ ...base, env: [{ name: 'B', value: "{{ pod.name ?? 'x' }}" }] }), [['spec.env[0].value', TEMPLATE_WHY.podName]]);
    for (const [spec, path] of [
      [{ containers: [{ name: 'side', image: "example.com/s:{{ pod.labels['v'] ?? '1' }}" }] }, 'spec.containers[0].image'],
      [
        { containers: [{ name: 'side', image: 'i', resources: { limits: { memory: "{{ pod.annotations['m'] ?? '1Gi' }}" } } }] },
        'spec.containers[0].resources.limits.memory',
      ],
      [{ envFrom: [{ configMapRef: { name: "{{ pod.labels['app'] ?? 'x' }}-config" } }] }, 'spec.envFrom[0].configMapRef.name'],
      [{ metadata: { labels: { team: "{{ pod.labels['team'] ?? 'none' }}" } } }, 'spec.metadata.labels.team'],
    ] as const)
      assert.deepEqual(refusalsOf({ ...base, ...spec }), [[path, TEMPLATE_WHY.validated]], path);
  });
  it("compiles the other templates, a missing value without fallback being the engine's template-error", () => {
    const out = compile([
      'p',
      { ...base, containers: [{ name: 'side', image: 'i', args: ['--role={{ pod.serviceAccountName }}', "--team={{ namespace.labels['team'] ?? 'none' }}"] }] },
    ]);
    assert.deepEqual(out.refusals, []);
    const denial = ((((out.objects[0] as JsonObject).spec as JsonObject).variables as JsonObject[]).find((v) => v.name === 'denial') as JsonObject)
      .expression as string;
    assert.ok(
      denial.includes(
        JSON.stringify(
          'profile "p" cannot be injected: spec.containers[0].args[0]: {{ pod.serviceAccountName }} has no value for this pod and no "??" fallback',
        ),
      ),
      denial.slice(0, 300),
    );
    assert.ok(!denial.includes('namespace.labels'), 'a value with a fallback cannot fail');
  });
  it('compiles value rules: each a template error in render order, before the override annotations are read', () => {
    const args = [
      "--a={{ pod.annotations['a'] }}",
      "--b={{ pod.labels['b'] ?? 'x' | dns-label }}",
      '--v={{ profile.version }}',
      '--n={{ profile.name | image-tag }}',
    ];
    const out = compile(['p', { ...base, templateValues: { rule: 'label-value' }, containers: [{ name: 'side', image: 'i', args }] }]);
    assert.deepEqual(out.refusals, []);
    const denial = ((((out.objects[0] as JsonObject).spec as JsonObject).variables as JsonObject[]).find((v) => v.name === 'denial') as JsonObject)
      .expression as string;
    const at = (s: string) => {
      const i = denial.indexOf(JSON.stringify(s).slice(1));
      assert.ok(i >= 0, s);
      return i;
    };
    const order = [
      at(`spec.containers[0].args[0]: {{ pod.annotations['a'] }} has no value for this pod and no "??" fallback`),
      at("spec.containers[0].args[0]: {{ pod.annotations['a'] }}: the value "),
      at(' breaks rule label-value: it '),
      at("spec.containers[0].args[1]: {{ pod.labels['b'] ?? 'x' | dns-label }}: the value "),
      at(' breaks rule dns-label: it '),
      at('spec.containers[0].args[3]: {{ profile.name | image-tag }}: the value '),
      at(' breaks rule image-tag: it '),
      denial.indexOf('does not allow overriding the image tag'),
    ];
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
    );
    // The profile's rule is not for profile.* (the engine's renderTemplate): only the three above.
    assert.equal(denial.split(' breaks rule ').length - 1, 3);
  });
  it('compiles image tag overrides: the tag replaces the tag and digest of every image', () => {
    const out = compile(['p', { ...base, containers: [{ name: 'side', image: 'example.com:5000/side:1@sha256:abc' }], overrides: { imageTag: true } }]);
    assert.deepEqual(out.refusals, []);
    const text = JSON.stringify(out.objects[0]);
    assert.ok(text.includes(JSON.stringify(JSON.stringify('example.com:5000/side:')).slice(1, -1)), 'the repository without tag or digest');
    assert.ok(text.includes('must be an image tag'), "the engine's invalid-override message");
  });
  it('resource overrides', () => assert.deepEqual(refusalsOf({ ...base, overrides: { resources: true } }), [['spec.overrides.resources', WHY.resources]]));
  it('a hostPort', () =>
    assert.deepEqual(refusalsOf({ ...base, containers: [{ name: 'side', image: 'i', ports: [{ containerPort: 80 }, { containerPort: 81, hostPort: 81 }] }] }), [
      ['spec.containers[0].ports[1].hostPort', WHY.hostPort],
    ]));
  it('a mount of a volume the profile does not define, in the targets or a sidecar', () =>
    assert.deepEqual(
      refusalsOf({
        ...base,
        volumes: [{ name: 'own', emptyDir: {} }],
        volumeMounts: [
          { name: 'own', mountPath: '/own' },
          { name: 'pods', mountPath: '/pods' },
        ],
        initContainers: [{ name: 'init', image: 'i', volumeMounts: [{ name: 'data', mountPath: '/d' }] }],
      }),
      [
        ['spec.volumeMounts[1].name', WHY.mountVolume],
        ['spec.initContainers[0].volumeMounts[0].name', WHY.mountVolume],
      ],
    ));
  it('a string CEL cannot hold (a lone surrogate)', () =>
    assert.deepEqual(refusalsOf({ ...base, metadata: { annotations: { 'example.com/a': 'x\ud800' } } }), [
      ['spec.metadata.annotations["example.com/a"]', 'holds a lone UTF-16 surrogate, which has no UTF-8 form'],
    ]));
  it('several profiles that compile are one set, in spec.order then name; a profile refused alone is left out', () => {
    const other = { version: '1', containers: [{ name: 'other', image: 'example.com/other:1' }] };
    const third = { version: '1', initContainers: [{ name: 'third', image: 'example.com/third:1' }] };
    const out = compile(['b', base], ['a', { ...other, order: -1 }], ['c', { ...base, mandatory: true }], ['d', third]);
    assert.deepEqual(out.compiled, ['a', 'b', 'd']);
    assert.deepEqual(
      out.refusals.map((r) => [r.profile, r.path, r.why]),
      [['c', 'spec.mandatory', WHY.mandatory]],
    );
    assert.deepEqual(out.policies, { a: SET_POLICY, b: SET_POLICY, d: SET_POLICY });
    assert.deepEqual(
      out.objects.map((o) => [o.kind, (o.metadata as JsonObject).name, (o.metadata as { labels: Record<string, string> }).labels['outrigger.dev/profile']]),
      [
        ['MutatingAdmissionPolicy', SET_POLICY, undefined],
        ['MutatingAdmissionPolicyBinding', SET_POLICY, undefined],
        ['ValidatingAdmissionPolicy', SET_DENY_POLICY, undefined],
        ['ValidatingAdmissionPolicyBinding', SET_DENY_POLICY, undefined],
        ['ValidatingAdmissionPolicy', 'outrigger-unknown-profiles', undefined],
        ['ValidatingAdmissionPolicyBinding', 'outrigger-unknown-profiles', undefined],
      ],
    );
    for (const i of [0, 2, 4])
      assert.equal(((out.objects[i] as JsonObject).metadata as { annotations: Record<string, string> }).annotations['outrigger.dev/profiles'], 'a,b,d');
  });
  it('a single profile keeps its own policies', () => {
    const out = compile(['b', base], ['c', { ...base, mandatory: true }]);
    assert.deepEqual(out.compiled, ['b']);
    assert.deepEqual(out.policies, { b: 'outrigger-b' });
  });
  it('names where the profile came from', () => {
    const [r] = compile(['p', { ...base, mandatory: true }]).refusals;
    assert.equal(r?.profile, 'p');
    assert.match(r?.source ?? '', /test\.yaml, document 1/);
  });
});
