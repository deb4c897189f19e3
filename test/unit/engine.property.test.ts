/**
 * Property-based tests of the engine's contract (README: "How the engine works"): over generated
 * pods and profiles, the patch applies (with our applier and with fast-json-patch) and gives exactly the decided pod, the
 * input is never mutated, injection is idempotent, uninject restores the original, no `add` lands
 * under a missing parent, unknown fields survive byte for byte, and injection introduces no pod
 * validation errors.
 *
 * Pods go through JSON.stringify/JSON.parse before use, as the webhook receives them, so keys such as
 * `__proto__` are own data properties and absent fields are absent, not `undefined`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import jsonpatch, { type Operation } from 'fast-json-patch';
import { stringify as yamlStringify } from 'yaml';
import { deepFreeze, isObject, type JsonObject, type JsonValue } from '../../src/common/json.ts';
import { STATUS_ANNOTATION } from '../../src/common/labels.ts';
import { type Decision, type InjectContext, inject } from '../../src/engine/inject.ts';
import { applyPatch } from '../../src/engine/patch-apply.ts';
import { diff, type PatchOp } from '../../src/engine/patch-diff.ts';
import { parsePointer, pointer } from '../../src/engine/pointer.ts';
import { type ProfileSet, profileSet, type SidecarProfile } from '../../src/engine/profile.ts';
import { recordScope } from '../../src/engine/record-scope.ts';
import { readStatus } from '../../src/engine/status.ts';
import { uninject } from '../../src/engine/uninject.ts';
import { validatePod } from '../../src/engine/validate-pod.ts';
import { parseProfiles } from '../../src/profiles/parse.ts';

/** Fixed seed for reproducible CI runs; override both for a longer exploratory run, e.g. `PROPERTY_SEED=$RANDOM PROPERTY_SCALE=20`. */
const SEED = Number(process.env.PROPERTY_SEED ?? 20261127);
const SCALE = Number(process.env.PROPERTY_SCALE ?? 1);
const RUNS = 500;
const params = (offset: number, numRuns = RUNS) => ({ seed: SEED + offset, numRuns: Math.round(numRuns * SCALE) });

// ---------------------------------------------------------------------------------------------
// Helpers

const normalize = (v: unknown): JsonObject => JSON.parse(JSON.stringify(v)) as JsonObject;
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Applies with fast-json-patch, a second, independent implementation: validating, not mutating, on a JSON copy of the ops. */
function fjpApply(doc: JsonObject, ops: readonly PatchOp[]): JsonValue {
  return jsonpatch.applyPatch(clone(doc), clone(ops) as Operation[], true, false).newDocument as JsonValue;
}

/** Reads a pointer's target through own properties only; undefined when it does not exist. */
function resolve(doc: JsonValue, tokens: readonly string[]): JsonValue | undefined {
  let cur: JsonValue | undefined = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(t) || Number(t) >= cur.length) return undefined;
      cur = cur[Number(t)];
    } else if (isObject(cur)) {
      if (!Object.hasOwn(cur, t)) return undefined;
      cur = cur[t];
    } else return undefined;
  }
  return cur;
}

/** Every error in `after` must already be in `before`. */
function newErrors(before: JsonObject, after: JsonObject): string[] {
  const known = new Set(validatePod(before));
  return validatePod(after).filter((e) => !known.has(e));
}

// ---------------------------------------------------------------------------------------------
// Arbitraries: pods

/** Unknown fields per level; none of them is a name the engine reads at that level. */
const POD_UNKNOWN = ['status', 'futureTopLevel', 'x-extension', 'weird/key~0'] as const;
const META_UNKNOWN = ['ownerReferences', 'managedFields', 'finalizers', 'futureMeta', 'uid', '__proto__'] as const;
const SPEC_UNKNOWN = ['hostUsers', 'schedulingGates', 'resourceClaims', 'os', 'futureSpec', 'nodeSelector', 'a/b~c', 'constructor'] as const;
const CONTAINER_UNKNOWN = ['resizePolicy', 'restartPolicyRules', 'futureContainerField', 'securityContext', 'stdin', 'constructor', 'x~1y'] as const;
const VOLUME_UNKNOWN = ['emptyDir', 'futureVolumeSource', 'csi', 'x~y/z', '__proto__'] as const;

/** Label and annotation keys that need JSON Pointer escaping, look like prototype members, or are invalid. */
const POD_LABEL_KEYS = [
  'app',
  'tier',
  'app.kubernetes.io/name',
  'example.com/role',
  'a~b',
  'x/y~z',
  '~1',
  'constructor',
  '__proto__',
  'logging.example.com/shipper',
];
const LABEL_VALUES = ['web', 'ops', 'v1', '', 'bad value!'];
const POD_ANNOTATION_KEYS = [
  'example.com/role',
  'note',
  'a~b',
  'kubectl.kubernetes.io/last-applied-configuration',
  'proxy.example.com/admin-port',
  '__proto__',
];

const GENERATED_PROFILE_NAMES = ['gen-a', 'gen-b', 'gen-c'] as const;
const EXAMPLE_PROFILE_NAMES = ['envoy', 'log-shipper', 'secrets-agent'] as const;

const json = fc.jsonValue({ maxDepth: 2 });
const unknownFields = (keys: readonly string[]) => fc.dictionary(fc.constantFrom(...keys), json, { maxKeys: 2 });
const opt = <T>(arb: fc.Arbitrary<T>, weight = 1) =>
  fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight, arbitrary: arb as fc.Arbitrary<T | undefined> });

/** An optional list field: absent, `[]`, (when allowed) `null`, or items. */
function listField<T>(items: fc.Arbitrary<T[]>, nulls: boolean): fc.Arbitrary<T[] | null | undefined> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constant([] as T[]) },
    { weight: nulls ? 1 : 0, arbitrary: fc.constant(null) },
    { weight: 4, arbitrary: items as fc.Arbitrary<T[] | null | undefined> },
  );
}

const envVar = fc.oneof(
  fc.record({ name: fc.constantFrom('APP_ENV', 'LOG_DIR', 'HTTP_PROXY', 'MODE', 'my.var-1'), value: fc.constantFrom('prod', '/var/log/app', 'x') }),
  fc.record({ name: fc.constantFrom('POD_NAME', 'LOG_DIR'), valueFrom: fc.constant({ fieldRef: { fieldPath: 'metadata.name' } }) }),
);
const podMount = fc.record(
  {
    name: fc.constantFrom('data', 'config', 'outrigger-vol', 'shared'),
    mountPath: fc.constantFrom('/data', '/etc/config', '/outrigger', '/var/log/app'),
    readOnly: fc.boolean(),
  },
  { requiredKeys: ['name', 'mountPath'] },
);
const envFrom = fc.constantFrom({ configMapRef: { name: 'cfg' } }, { prefix: 'X_', secretRef: { name: 's' } });
const resources = fc.constantFrom({ requests: { cpu: '100m' } }, { requests: { memory: '1Gi' }, limits: { memory: '512Mi' } }, { limits: { cpu: '1' } });

function podContainer(names: fc.Arbitrary<string>, nulls: boolean) {
  return fc
    .record({
      name: names,
      image: fc.oneof(
        { weight: 9, arbitrary: fc.constantFrom('app:1', 'registry.example.com/team/app@sha256:0123') },
        { weight: 1, arbitrary: fc.constant(undefined) },
      ),
      env: listField(fc.uniqueArray(envVar, { selector: (e) => e.name, minLength: 1, maxLength: 4 }), nulls),
      volumeMounts: listField(fc.uniqueArray(podMount, { selector: (m) => m.mountPath, minLength: 1, maxLength: 2 }), nulls),
      envFrom: listField(fc.array(envFrom, { minLength: 1, maxLength: 2 }), nulls),
      ports: opt(fc.constantFrom([{ name: 'http', containerPort: 8080 }], [{ containerPort: 9901, hostPort: 9901 }])),
      resources: opt(resources),
      unknown: unknownFields(CONTAINER_UNKNOWN),
    })
    .map(({ unknown, ...c }) => ({ ...c, ...unknown }));
}

const containerName = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('app', 'worker', 'web', 'app-2') },
  { weight: 1, arbitrary: fc.constantFrom('agent', 'log-shipper', 'envoy', 'Bad_Name') },
);
const initContainerName = fc.constantFrom('init-db', 'migrate', 'setup');

const volume = fc
  .record({
    name: fc.constantFrom('data', 'config', 'outrigger-vol', 'shared', 'cache'),
    source: fc.constantFrom({ emptyDir: {} }, { configMap: { name: 'cfg' } }, {}),
    unknown: unknownFields(VOLUME_UNKNOWN),
  })
  .map(({ source, unknown, ...v }) => ({ ...v, ...source, ...unknown }));

/** Values of `outrigger.dev/inject`: known, unknown and malformed names, opt-out, empty. */
const injectAnnotation = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .subarray([...GENERATED_PROFILE_NAMES, ...EXAMPLE_PROFILE_NAMES, 'nope', 'Bad_Name'], { minLength: 1 })
      .chain((names) => fc.shuffledSubarray(names, { minLength: names.length }))
      .chain((names) => fc.constantFrom(', ', ',', ' , ').map((sep) => names.join(sep))),
  },
  { weight: 1, arbitrary: fc.constantFrom('false', 'FALSE', 'true', '', 'gen-a,gen-a', ','.repeat(300), 'gen-a,'.repeat(100)) },
);

/** Per-pod overrides and other outrigger.dev annotations, valid and invalid. */
const outriggerAnnotations = fc.dictionary(
  fc.constantFrom(
    'outrigger.dev/envoy.image-tag',
    'outrigger.dev/log-shipper.resources',
    'outrigger.dev/gen-a.image-tag',
    'outrigger.dev/gen-b.resources',
    STATUS_ANNOTATION,
  ),
  fc.constantFrom(
    'v1.33.0',
    'bad tag!',
    '{"requests":{"cpu":"10m"}}',
    '{"limits":{"memory":"64Mi"}}',
    'not json',
    `{"limits":{"memory":"${'9'.repeat(70)}"}}`,
    `{"requests":{"cpu":"${'0'.repeat(61)}1m"}}`,
    'v'.repeat(129),
  ),
  { maxKeys: 1 },
);

interface PodOptions {
  /** List fields may also be `null` (YAML `volumes:` with nothing after it). */
  nulls?: boolean;
  /** Always give the pod a `spec`. */
  specRequired?: boolean;
}

function podArb({ nulls = false, specRequired = false }: PodOptions = {}): fc.Arbitrary<JsonObject> {
  const map = (keys: readonly string[], values: fc.Arbitrary<string>) => fc.dictionary(fc.constantFrom(...keys), values, { maxKeys: 4 });
  const metadata = fc
    .record({
      naming: fc.constantFrom('name', 'generateName', 'none'),
      namespace: opt(fc.constant('shop')),
      labels: fc.oneof(
        { weight: 2, arbitrary: fc.constant(undefined) },
        { weight: nulls ? 1 : 0, arbitrary: fc.constant(null) },
        { weight: 5, arbitrary: map(POD_LABEL_KEYS, fc.constantFrom(...LABEL_VALUES)) },
      ),
      annotations: fc.oneof(
        { weight: 2, arbitrary: fc.constant(undefined) },
        { weight: nulls ? 1 : 0, arbitrary: fc.constant(null) },
        { weight: 5, arbitrary: map(POD_ANNOTATION_KEYS, fc.constantFrom('x', '', 'role-a', '{"json": true}')) },
      ),
      inject: opt(injectAnnotation, 6),
      outrigger: fc.oneof({ weight: 6, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: outriggerAnnotations }),
      unknown: unknownFields(META_UNKNOWN),
    })
    .map(({ naming, labels, annotations, inject: want, outrigger, unknown, ...m }) => {
      const extra: Record<string, string> = { ...outrigger, ...(want === undefined ? {} : { 'outrigger.dev/inject': want }) };
      const ann = Object.keys(extra).length > 0 ? { ...(annotations ?? {}), ...extra } : annotations;
      return {
        ...(naming === 'name' ? { name: 'p-1' } : naming === 'generateName' ? { generateName: 'p-' } : {}),
        ...m,
        labels,
        annotations: ann,
        ...unknown,
      };
    });
  const spec = fc
    .record({
      containers: fc.oneof(
        { weight: 1, arbitrary: fc.constant(undefined) },
        { weight: 12, arbitrary: fc.uniqueArray(podContainer(containerName, nulls), { selector: (c) => c.name, minLength: 0, maxLength: 5 }) },
      ),
      initContainers: listField(fc.uniqueArray(podContainer(initContainerName, nulls), { selector: (c) => c.name, minLength: 1, maxLength: 2 }), nulls),
      volumes: listField(fc.uniqueArray(volume, { selector: (v) => v.name, minLength: 1, maxLength: 3 }), nulls),
      imagePullSecrets: listField(fc.uniqueArray(fc.constantFrom({ name: 'regcred' }, { name: 'example-registry' }), { minLength: 1 }), nulls),
      serviceAccountName: opt(fc.constant('builder')),
      unknown: unknownFields(SPEC_UNKNOWN),
    })
    .map(({ unknown, ...s }) => ({ ...s, ...unknown }));
  return fc
    .record({
      apiVersion: opt(fc.constant('v1'), 6),
      kind: opt(fc.constant('Pod'), 6),
      metadata: opt(metadata, 12),
      spec: specRequired ? spec : opt(spec, 5),
      unknown: unknownFields(POD_UNKNOWN),
    })
    .map(({ unknown, ...p }) => normalize({ ...p, ...unknown }));
}

// ---------------------------------------------------------------------------------------------
// Arbitraries: profiles, written as YAML or JSON text and loaded through parseProfiles

const templated = fc.constantFrom(
  'plain',
  "{{ pod.labels['app'] ?? 'unknown' }}",
  '{{ namespace.name }}',
  '{{ pod.name }}',
  "{{ pod.annotations['example.com/role'] ?? 'none' }}",
  '{{ profile.name }}-{{ profile.version }}',
  "{{ pod.serviceAccountName ?? 'default' }}",
  "{{ namespace.labels['team'] ?? 'none' }}",
  "{{ pod.labels['app'] ?? 'none' | dns-label }}",
  "/data/{{ pod.annotations['example.com/role'] ?? 'x' | alphanumeric }}",
  'yes',
  '0644',
  '~/a~b',
);
const profileMount = (paths: readonly string[]) =>
  fc.record(
    { name: fc.constantFrom('outrigger-vol', 'data', 'missing'), mountPath: fc.constantFrom(...paths), readOnly: fc.boolean() },
    { requiredKeys: ['name', 'mountPath'] },
  );
const profileEnv = fc.record({ name: fc.constantFrom('LOG_DIR', 'HTTP_PROXY', 'APP_ENV', 'OUTRIGGER'), value: templated });

/**
 * Fields of a core/v1 Container the engine knows nothing about: it must carry them over unchanged.
 * Profiles are checked against the Container schema at load, so each is a real field with a value
 * of its type (and no `{{`: profile strings are templates).
 */
const opaqueContainerFields = fc.record(
  {
    securityContext: fc.record(
      { runAsNonRoot: fc.boolean(), runAsUser: fc.integer({ min: 0, max: 2 ** 40 }), capabilities: fc.constant({ drop: ['ALL'] }) },
      { requiredKeys: [] },
    ),
    stdin: fc.boolean(),
    workingDir: fc.string({ maxLength: 8 }).filter((v) => !v.includes('{{')),
    terminationMessagePolicy: fc.constantFrom('File', 'FallbackToLogsOnError'),
    lifecycle: fc.constant({ preStop: { sleep: { seconds: 5 } } }),
  },
  { requiredKeys: [] },
);

function sidecar(names: readonly string[], init = false) {
  return fc
    .record(
      {
        name: fc.constantFrom(...names),
        image: fc.constantFrom('example.com/agent:1', 'example.com/proxy@sha256:abcd'),
        args: fc.array(templated, { minLength: 1, maxLength: 2 }),
        env: fc.uniqueArray(profileEnv, { selector: (e) => e.name, maxLength: 2 }),
        ports: fc.constantFrom([{ name: 'admin', containerPort: 9901 }], [{ containerPort: 8080 }]),
        volumeMounts: fc.uniqueArray(profileMount(['/outrigger', '/data']), { selector: (m) => m.mountPath, maxLength: 2 }),
        restartPolicy: fc.constant('Always'),
        readinessProbe: fc.constant({ httpGet: { path: '/ready', port: 9901 } }),
        resources: fc.constantFrom({ requests: { cpu: '10m' } }, { requests: { cpu: '100m' }, limits: { cpu: '200m' } }),
        unknown: opaqueContainerFields,
      },
      { requiredKeys: ['name', 'image', 'unknown'] },
    )
    .map(({ unknown, ...c }) => {
      const out: Record<string, unknown> = { ...c, ...unknown };
      // A run-once init container may have no probes or lifecycle hooks (the loader refuses them).
      if (init && out.restartPolicy !== 'Always') {
        delete out.readinessProbe;
        delete out.lifecycle;
      }
      return out;
    });
}

const profileSpec = fc.record(
  {
    version: fc.constantFrom('1', '2.0.0', '1.0-rc1'),
    containers: fc.uniqueArray(sidecar(['agent', 'proxy', 'log-shipper', 'app']), { selector: (c) => c.name, maxLength: 2 }),
    initContainers: fc.uniqueArray(sidecar(['setup', 'init-perms'], true), { selector: (c) => c.name, maxLength: 1 }),
    volumes: fc.uniqueArray(
      fc
        .record({ name: fc.constantFrom('outrigger-vol', 'data', 'shared'), source: fc.constantFrom({ emptyDir: {} }, { emptyDir: { medium: 'Memory' } }) })
        .map(({ name, source }) => ({ name, ...source })),
      { selector: (v) => v.name, maxLength: 2 },
    ),
    volumeMounts: fc.uniqueArray(profileMount(['/outrigger', '/data', '/var/log/app']), { selector: (m) => m.mountPath, maxLength: 2 }),
    env: fc.uniqueArray(profileEnv, { selector: (e) => e.name, maxLength: 3 }),
    envFrom: fc.array(envFrom, { maxLength: 1 }),
    targets: fc.constantFrom(['*'], ['app'], ['app*'], ['w?rker'], [], ['nomatch'], ['*********z'], ['*?*?*-*'], ['a*p*', '*er']),
    initContainerTargets: fc.constantFrom(['*'], ['migrate'], []),
    metadata: fc.record(
      {
        labels: fc.dictionary(
          fc.constantFrom('example.com/role', 'team', 'logging.example.com/shipper', 'app', 'tier'),
          fc.constantFrom('web', 'ops', "{{ pod.labels['app'] ?? 'none' }}", ''),
          { maxKeys: 2 },
        ),
        annotations: fc.dictionary(fc.constantFrom('example.com/role', 'proxy.example.com/admin-port', 'note', 'a.b/c'), templated, { maxKeys: 2 }),
      },
      { requiredKeys: [] },
    ),
    imagePullSecrets: fc.uniqueArray(fc.constantFrom({ name: 'regcred' }, { name: 'example-registry' }), { selector: (s) => s.name, maxLength: 2 }),
    sidecarMode: fc.constantFrom('auto', 'native', 'classic'),
    conflictPolicy: fc.constantFrom('fail', 'keep-pod'),
    failurePolicy: fc.constantFrom('fail', 'ignore'),
    order: fc.integer({ min: -2, max: 2 }),
    mandatory: fc.boolean(),
    selector: fc.constantFrom({ podSelector: { matchLabels: { tier: 'web' } } }, { namespaceSelector: { matchLabels: { team: 'a' } } }, { podSelector: {} }),
    overrides: fc.constantFrom({ imageTag: true }, { resources: true }, { imageTag: true, resources: true }),
  },
  { requiredKeys: ['version'] },
);

/** A profile that only adds metadata: it touches neither the pod's spec nor (without a spec) creates one. */
const metadataOnlyProfileSpec = fc.record(
  {
    version: fc.constantFrom('1', '2.0.0'),
    metadata: fc.record(
      {
        labels: fc.dictionary(fc.constantFrom('example.com/role', 'team'), fc.constantFrom('web', 'ops'), { maxKeys: 2 }),
        annotations: fc.dictionary(fc.constantFrom('example.com/role', 'note'), templated, { maxKeys: 2 }),
      },
      { requiredKeys: [] },
    ),
    selector: fc.constantFrom({ podSelector: {} }, { podSelector: { matchLabels: { tier: 'web' } } }),
    conflictPolicy: fc.constantFrom('fail', 'keep-pod'),
    failurePolicy: fc.constantFrom('fail', 'ignore'),
  },
  { requiredKeys: ['version'] },
);

interface ProfilesSpec {
  generated: Record<string, unknown>[];
  examples: boolean;
  format: 'yaml' | 'json' | 'list';
}

const profilesArb: fc.Arbitrary<ProfilesSpec> = fc.record({
  generated: fc.array(fc.oneof({ weight: 4, arbitrary: profileSpec }, { weight: 1, arbitrary: metadataOnlyProfileSpec }), { minLength: 0, maxLength: 3 }),
  examples: fc.boolean(),
  format: fc.constantFrom('yaml', 'json', 'list'),
});

const EXAMPLES: SidecarProfile[] = (() => {
  const dir = new URL('../../examples/profiles/', import.meta.url);
  const r = parseProfiles(EXAMPLE_PROFILE_NAMES.map((n) => readFileSync(new URL(`${n}.yaml`, dir), 'utf8')).join('\n---\n'), 'examples');
  assert.deepEqual(r.errors, []);
  return r.profiles;
})();

/** The profile text a user would write; generated specs must always be valid. */
function profilesText(spec: ProfilesSpec): string {
  const docs = spec.generated.map((s, i) => ({
    apiVersion: 'outrigger.dev/v1alpha1',
    kind: 'SidecarProfile',
    metadata: { name: GENERATED_PROFILE_NAMES[i] },
    spec: s,
  }));
  if (spec.format === 'list') return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }, null, 1);
  if (spec.format === 'json') return docs.map((d) => JSON.stringify(d)).join('\n---\n');
  return docs.map((d) => yamlStringify(d, { version: '1.1' })).join('---\n');
}

function buildSet(spec: ProfilesSpec): ProfileSet {
  const r = parseProfiles(profilesText(spec), 'generated.yaml');
  assert.deepEqual(r.errors, [], 'generated profiles must be valid');
  assert.equal(r.profiles.length, spec.generated.length);
  return profileSet([...(spec.examples ? EXAMPLES : []), ...r.profiles]);
}

const ctxArb: fc.Arbitrary<InjectContext> = fc.record(
  {
    namespace: fc.constantFrom('shop', 'default'),
    namespaceLabels: fc.constantFrom<Record<string, string>>({ team: 'a' }, {}),
    kubeVersion: fc.record({ major: fc.constant(1), minor: fc.constantFrom(27, 28, 29, 31, 33, 34) }),
  },
  { requiredKeys: ['namespace', 'kubeVersion'] },
);

interface Scenario {
  pod: JsonObject;
  profiles: ProfilesSpec;
  ctx: InjectContext;
}
const scenario = (pod: PodOptions = {}): fc.Arbitrary<Scenario> => fc.record({ pod: podArb(pod), profiles: profilesArb, ctx: ctxArb });

/** Runs inject on a deep-frozen JSON copy of the pod and checks the input was not touched. */
function run(s: Scenario, set = buildSet(s.profiles)): { original: JsonObject; input: JsonObject; d: Decision; set: ProfileSet } {
  const original = clone(s.pod);
  const input = deepFreeze(clone(s.pod));
  const d = inject(input, set, s.ctx);
  assert.deepStrictEqual(input, original, 'inject must not mutate its input');
  return { original, input, d, set };
}

// ---------------------------------------------------------------------------------------------
// Shared checks

function checkPatchApplies(input: JsonObject, d: Decision): void {
  assert.ok(!d.profiles.some((o) => o.reason === 'patch-verification-failed'), 'the engine self-check never fails');
  const wire = clone(d.patch); // what the API server decodes
  assert.deepStrictEqual(applyPatch(input, wire), d.pod, 'engine applyPatch reproduces decision.pod');
  assert.deepStrictEqual(applyPatch(input, d.patch), d.pod, 'engine applyPatch (in-memory ops) reproduces decision.pod');
  assert.deepStrictEqual(fjpApply(input, wire), d.pod, 'fast-json-patch reproduces decision.pod');
}

function checkParents(input: JsonObject, patch: readonly PatchOp[]): void {
  let doc: JsonValue = input;
  patch.forEach((op, i) => {
    const tokens = parsePointer(op.path);
    assert.ok(tokens.length > 0, `op ${i} must not replace the whole pod`);
    const parent = resolve(doc, tokens.slice(0, -1));
    const last = tokens[tokens.length - 1] as string;
    assert.ok(parent !== undefined && parent !== null && typeof parent === 'object', `op ${i} (${op.op} ${op.path}): parent does not exist`);
    if (op.op === 'add') {
      if (Array.isArray(parent)) {
        assert.ok(last === '-' || (/^(0|[1-9][0-9]*)$/.test(last) && Number(last) <= parent.length), `op ${i} (${op.op} ${op.path}): bad index`);
      }
    } else {
      assert.ok(resolve(doc, tokens) !== undefined, `op ${i} (${op.op} ${op.path}): target does not exist`);
    }
    doc = applyPatch(doc, [op]);
  });
}

/** Unknown fields by location, as JSON text. Containers and volumes are located by name. */
function unknownFieldsOf(pod: JsonObject): Map<string, string> {
  const out = new Map<string, string>();
  const take = (where: string, obj: JsonValue | undefined, keys: readonly string[]) => {
    if (!isObject(obj)) return;
    for (const k of keys) if (Object.hasOwn(obj, k)) out.set(`${where}.${k}`, JSON.stringify(obj[k]));
  };
  take('pod', pod, POD_UNKNOWN);
  take('metadata', pod.metadata, META_UNKNOWN);
  take('spec', pod.spec, SPEC_UNKNOWN);
  const spec = isObject(pod.spec) ? pod.spec : {};
  for (const field of ['containers', 'initContainers'] as const) {
    const items = Array.isArray(spec[field]) ? spec[field] : [];
    for (const c of items) if (isObject(c) && !out.has(`${field}[${String(c.name)}]`)) take(`${field}[${String(c.name)}]`, c, CONTAINER_UNKNOWN);
  }
  for (const v of Array.isArray(spec.volumes) ? spec.volumes : []) if (isObject(v)) take(`volumes[${String(v.name)}]`, v, VOLUME_UNKNOWN);
  return out;
}

function checkIdempotent(s: Scenario): void {
  const { d, set } = run(s);
  if (d.outcome === 'denied') return;
  const again = inject(deepFreeze(d.pod), set, s.ctx);
  assert.equal(again.outcome, 'unchanged', again.message);
  assert.deepStrictEqual(again.patch, []);
}

/** The pod without its status record, for comparing what it carries. */
function withoutRecord(pod: JsonObject): JsonObject {
  const meta = isObject(pod.metadata) ? pod.metadata : {};
  const { [STATUS_ANNOTATION]: _, ...annotations } = isObject(meta.annotations) ? meta.annotations : {};
  return normalize({ ...pod, metadata: { ...meta, annotations } });
}

/** The injected pod's record, copied onto the pod before injection, passes only if that pod already held it all. */
function checkCopiedRecord(s: Scenario): void {
  const { original, d, set } = run(s);
  const annotationsOf = (p: JsonObject) => (isObject(p.metadata) && isObject(p.metadata.annotations) ? p.metadata.annotations : {});
  const record = annotationsOf(d.pod)[STATUS_ANNOTATION];
  if (d.outcome !== 'injected' || typeof record !== 'string' || Object.hasOwn(annotationsOf(original), STATUS_ANNOTATION)) return;
  const meta = isObject(original.metadata) ? original.metadata : {};
  const forged = deepFreeze(normalize({ ...original, metadata: { ...meta, annotations: { ...annotationsOf(original), [STATUS_ANNOTATION]: record } } }));
  const again = inject(forged, set, s.ctx);
  if (again.outcome === 'unchanged' && again.reason === 'already-injected') assert.deepStrictEqual(withoutRecord(forged), withoutRecord(d.pod));
}

function checkRoundTrip(s: Scenario): void {
  const { original, d } = run(s);
  const u = uninject(deepFreeze(d.pod));
  if (!uninject(original).ok) {
    // A pod carrying a malformed status annotation is never changed (denied when a profile with
    // failurePolicy fail applies, else admitted as it is), and uninject refuses it the same way.
    assert.notEqual(d.outcome, 'injected');
    assert.deepStrictEqual(d.patch, []);
    assert.equal(u.ok, false);
    return;
  }
  assert.ok(u.ok, u.ok ? '' : u.message);
  assert.deepStrictEqual(u.pod, original);
}

/** Inject with one set, then with another (profiles added, removed, changed): the second decision keeps the contract. */
function checkReinjection(s: Scenario, next: ProfilesSpec): void {
  const first = run(s);
  if (first.d.outcome !== 'injected') return;
  const setB = buildSet(next);
  const input = deepFreeze(clone(first.d.pod));
  const d = inject(input, setB, s.ctx);
  assert.deepStrictEqual(input, first.d.pod, 'inject must not mutate its input');
  checkPatchApplies(input, d);
  checkParents(input, d.patch);
  if (d.outcome !== 'injected') assert.equal(d.pod, input);
  else assert.deepStrictEqual(newErrors(first.original, d.pod), []);
  const u = uninject(deepFreeze(d.pod));
  assert.ok(u.ok, u.ok ? '' : u.message);
  // What only a removed or older profile added is not removed on re-injection (it cannot be shown
  // to be Outrigger's) and is no longer recorded: then only that stays.
  const { status } = readStatus(input);
  const leftover = status ? recordScope(status, setB).warnings : [];
  if (d.outcome !== 'injected' || leftover.length === 0) assert.deepStrictEqual(u.pod, first.original);
  else
    assert.ok(
      leftover.every((w) => d.warnings.includes(w)),
      'what stays is named in a warning',
    );
  if (d.outcome !== 'denied') {
    const again = inject(deepFreeze(d.pod), setB, s.ctx);
    assert.equal(again.outcome, 'unchanged', again.message);
    assert.deepStrictEqual(again.patch, []);
  }
}

// ---------------------------------------------------------------------------------------------
// Properties

describe('engine properties (fast-check)', () => {
  test('generated profiles always load, and scenarios reach every kind of outcome', () => {
    const counts = new Map<string, number>();
    const bump = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
    for (const s of fc.sample(scenario(), { seed: SEED, numRuns: 600 })) {
      const { d } = run(s);
      bump(d.outcome);
      for (const o of d.profiles) bump(o.reason);
    }
    const total = 600;
    assert.ok((counts.get('injected') ?? 0) > total * 0.25, `too few injections: ${JSON.stringify([...counts])}`);
    for (const k of [
      'denied',
      'unchanged',
      'name-conflict',
      'template-error',
      'invalid-result',
      'unsupported-kube-version',
      'unknown-profile',
      'invalid-annotation',
      'invalid-override',
      'opted-out',
    ]) {
      assert.ok((counts.get(k) ?? 0) > 0, `no scenario produced ${k}: ${JSON.stringify([...counts])}`);
    }
  });

  test('the patch applies to the original with both appliers and gives exactly decision.pod; the input is never mutated', () => {
    fc.assert(
      fc.property(scenario(), (s) => {
        const { input, d } = run(s);
        checkPatchApplies(input, d);
      }),
      params(1),
    );
  });

  test('idempotent: injecting the injected pod again changes nothing', () => {
    fc.assert(fc.property(scenario(), checkIdempotent), params(2));
  });

  test('a status record copied onto the pod before injection does not pass for injected', () => {
    fc.assert(fc.property(scenario(), checkCopiedRecord), params(21));
  });

  test('uninject restores the original pod exactly (absent stays absent, empty stays empty)', () => {
    fc.assert(fc.property(scenario(), checkRoundTrip), params(3));
  });

  test('uninject restores list fields given as null (as `field:` with no value in YAML)', () => {
    fc.assert(fc.property(scenario({ nulls: true, specRequired: true }), checkRoundTrip), params(4, 300));
  });

  test('no patch operation adds under a missing parent, nor removes or replaces a missing target', () => {
    fc.assert(
      fc.property(scenario(), (s) => {
        const { input, d } = run(s);
        checkParents(input, d.patch);
      }),
      params(5),
    );
  });

  test('unknown fields at every level are kept byte for byte', () => {
    fc.assert(
      fc.property(scenario(), (s) => {
        const { original, d } = run(s);
        const before = unknownFieldsOf(original);
        const after = unknownFieldsOf(d.pod);
        for (const [where, text] of before) assert.equal(after.get(where), text, `unknown field ${where} changed`);
      }),
      params(6),
    );
  });

  test('JSON Pointer: pointer() round-trips through parsePointer for any keys', () => {
    const token = fc.oneof(
      fc.string({ unit: fc.constantFrom('~', '/', '0', '1', 'a', '.') }),
      fc.string(),
      fc.constantFrom('example.com/role', 'a~b', '~01', '~10', '__proto__', '', '-'),
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 5 }), (tokens) => {
        assert.deepStrictEqual(parsePointer(pointer(tokens)), tokens);
      }),
      params(7, 1000),
    );
  });

  test('JSON Pointer: label and annotation additions with keys needing escaping apply correctly', () => {
    const key = fc.oneof(
      fc.constantFrom('example.com/role', 'a~b', 'x/y~z', '~1', '~0', '/', '~', 'constructor', 'toString'),
      fc.string({ unit: fc.constantFrom('~', '/', '0', '1', 'a') }),
    );
    const labels = fc.dictionary(key, fc.constantFrom('a', 'b', ''), { maxKeys: 4 });
    fc.assert(
      fc.property(fc.option(labels, { nil: undefined }), labels, labels, (existing, addLabels, addAnnotations) => {
        const before = normalize({ metadata: existing === undefined ? {} : { labels: existing }, spec: {} });
        const meta = before.metadata as JsonObject;
        const after = normalize({
          ...before,
          metadata: { ...meta, labels: { ...(meta.labels as JsonObject), ...addLabels }, annotations: addAnnotations },
        });
        const ops = diff(deepFreeze(before), after);
        for (const op of ops) {
          const tokens = parsePointer(op.path);
          assert.deepStrictEqual(pointer(tokens), op.path, 'paths are canonically escaped');
        }
        assert.deepStrictEqual(applyPatch(before, ops), after);
        assert.deepStrictEqual(fjpApply(before, ops), after);
      }),
      params(8, 1000),
    );
  });

  test('denied and unchanged decisions carry an empty patch and return the input pod', () => {
    fc.assert(
      fc.property(scenario(), (s) => {
        const { input, d } = run(s);
        if (d.outcome === 'injected') {
          assert.ok(d.patch.length > 0, 'an injected decision changes the pod');
          return;
        }
        assert.deepStrictEqual(d.patch, []);
        assert.equal(d.pod, input, 'the very input object is returned');
      }),
      params(9),
    );
  });

  test('an injected pod has no validation errors the original did not have', () => {
    fc.assert(
      fc.property(scenario(), (s) => {
        const { original, d } = run(s);
        if (d.outcome !== 'injected') return;
        assert.deepStrictEqual(newErrors(original, d.pod), []);
      }),
      params(10),
    );
  });

  test('re-injection with changed profiles: patch applies, idempotent, uninject still restores the original', () => {
    fc.assert(fc.property(scenario(), profilesArb, checkReinjection), params(11, 400));
  });
});
