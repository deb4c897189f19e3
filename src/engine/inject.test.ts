import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml, unvalidatedProfiles } from '../../test/support/profiles.ts';
import { serviceAccountTokenVolume } from '../../test/support/service-account.ts';
import { deepEqual, deepFreeze, type JsonObject, type JsonValue } from '../common/json.ts';
import { inject } from './inject.ts';
import { applyPatch } from './patch-apply.ts';
import { readStatus } from './status.ts';
import { uninject } from './uninject.ts';

const v133 = { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } };
/** The ServiceAccount token volume exactly as a 1.35 kube-apiserver stores it (test/e2e/record.e2e.test.ts). */
const TOKEN_NAME = 'kube-api-access-g46j9';
const TOKEN_VOLUME = serviceAccountTokenVolume(TOKEN_NAME);
const v128 = { namespace: 'shop', kubeVersion: { major: 1, minor: 28 } };

const sidecar = { name: 'agent', image: 'example.com/agent:1' };
const basic = (extra: object = {}) => profileYaml('agent', { version: '1', containers: [sidecar], ...extra });

function pod(annotations: Record<string, string> | undefined, spec: object = { containers: [{ name: 'app', image: 'app:1' }] }): JsonObject {
  return deepFreeze({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...(annotations ? { annotations } : {}) }, spec }) as JsonObject;
}

/** Every injected decision must satisfy the engine's own contract. */
function checkInjected(original: JsonObject, d: ReturnType<typeof inject>) {
  assert.equal(d.outcome, 'injected', d.message);
  assert.ok(deepEqual(applyPatch(original, d.patch), d.pod), 'patch reproduces the pod');
  const u = uninject(d.pod);
  assert.ok(u.ok);
  assert.deepEqual(u.pod, original, 'uninject restores the original');
}

describe('selection', () => {
  test('a pod that asks for nothing is left alone', () => {
    const d = inject(pod(undefined), profilesFromYaml(basic()), v133);
    assert.equal(d.outcome, 'unchanged');
    assert.equal(d.reason, 'nothing-requested');
    assert.deepEqual(d.patch, []);
  });

  test('the annotation requests profiles by name, trimmed, and unknown names are reported', () => {
    const p = pod({ 'outrigger.dev/inject': ' agent , nope ' });
    const d = inject(p, profilesFromYaml(basic()), v133);
    checkInjected(p, d);
    assert.deepEqual(
      d.profiles.map((o) => [o.profile, o.reason]),
      [
        ['nope', 'unknown-profile'],
        ['agent', 'injected'],
      ],
    );
    assert.match(d.warnings.join('\n'), /"nope", which does not exist/);
  });

  test('"false" opts out of everything that is not mandatory', () => {
    const set = profilesFromYaml(
      `${basic({ selector: { podSelector: {} } })}\n---\n${profileYaml('audit', { version: '1', mandatory: true, selector: { podSelector: {} }, metadata: { labels: { audited: 'yes' } } })}`,
    );
    const p = pod({ 'outrigger.dev/inject': 'false' });
    const d = inject(p, set, v133);
    checkInjected(p, d);
    assert.deepEqual(
      d.profiles.map((o) => [o.profile, o.reason]),
      [
        ['agent', 'opted-out'],
        ['audit', 'injected'],
      ],
    );
    assert.match(d.warnings.join('\n'), /"audit" is mandatory/);
  });

  test('selectors match namespace labels and pod labels', () => {
    const set = profilesFromYaml(
      basic({
        selector: { namespaceSelector: { matchLabels: { team: 'a' } }, podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] } },
      }),
    );
    const p = deepFreeze({ metadata: { labels: { tier: 'web' } }, spec: { containers: [{ name: 'app', image: 'a' }] } }) as JsonObject;
    assert.equal(inject(p, set, { ...v133, namespaceLabels: { team: 'a' } }).outcome, 'injected');
    assert.equal(inject(p, set, { ...v133, namespaceLabels: { team: 'b' } }).reason, 'nothing-requested');
  });

  test('a malformed name in the annotation is reported as such', () => {
    const d = inject(pod({ 'outrigger.dev/inject': 'Bad_Name' }), profilesFromYaml(basic()), v133);
    assert.equal(d.reason, 'invalid-annotation');
  });
});

describe('sidecar mode', () => {
  test('auto gives native sidecars from 1.29, before the pod’s own init containers', () => {
    const p = pod({ 'outrigger.dev/inject': 'agent' }, { initContainers: [{ name: 'setup', image: 's' }], containers: [{ name: 'app', image: 'a' }] });
    const d = inject(p, profilesFromYaml(basic()), v133);
    checkInjected(p, d);
    const spec = d.pod.spec as JsonObject;
    assert.deepEqual(spec.initContainers, [
      { ...sidecar, restartPolicy: 'Always' },
      { name: 'setup', image: 's' },
    ]);
    assert.deepEqual(spec.containers, [{ name: 'app', image: 'a' }]);
  });

  test('auto gives classic containers before 1.29', () => {
    const p = pod({ 'outrigger.dev/inject': 'agent' });
    const d = inject(p, profilesFromYaml(basic()), v128);
    checkInjected(p, d);
    assert.deepEqual((d.pod.spec as JsonObject).containers, [{ name: 'app', image: 'app:1' }, sidecar]);
    assert.equal((d.pod.spec as JsonObject).initContainers, undefined);
  });

  test('native on an old cluster is refused with the reason', () => {
    const d = inject(pod({ 'outrigger.dev/inject': 'agent' }), profilesFromYaml(basic({ sidecarMode: 'native' })), v128);
    assert.equal(d.outcome, 'denied');
    assert.equal(d.reason, 'unsupported-kube-version');
    assert.match(d.message, /1\.29 or newer, and the cluster is 1\.28/);
  });

  test('profiles are injected in (order, name) order, init containers ahead of the pod’s own', () => {
    const set = profilesFromYaml(
      [
        profileYaml('b', { version: '1', containers: [{ name: 'b', image: 'b' }] }),
        profileYaml('a', { version: '1', order: 5, containers: [{ name: 'a', image: 'a' }] }),
        profileYaml('c', { version: '1', order: -1, initContainers: [{ name: 'c-init', image: 'c' }], containers: [{ name: 'c', image: 'c' }] }),
      ].join('\n---\n'),
    );
    const p = pod({ 'outrigger.dev/inject': 'a,b,c' }, { initContainers: [{ name: 'own', image: 'o' }], containers: [{ name: 'app', image: 'x' }] });
    const d = inject(p, set, v133);
    checkInjected(p, d);
    assert.deepEqual(
      ((d.pod.spec as JsonObject).initContainers as JsonObject[]).map((c) => c.name),
      ['c-init', 'c', 'b', 'a', 'own'],
    );
  });
});

describe('merge and conflicts', () => {
  const full = profileYaml('logs', {
    version: '2',
    containers: [{ name: 'shipper', image: 'fluent-bit:3', volumeMounts: [{ name: 'logs', mountPath: '/logs' }] }],
    volumes: [{ name: 'logs', emptyDir: {} }],
    volumeMounts: [{ name: 'logs', mountPath: '/var/log/app' }],
    env: [{ name: 'LOG_DIR', value: '/var/log/app' }],
    envFrom: [{ configMapRef: { name: 'log-config' } }],
    targets: ['app-*'],
    metadata: { labels: { 'example.com/logs': 'on' }, annotations: { 'example.com/role': 'x' } },
    imagePullSecrets: [{ name: 'regcred' }],
  });

  test('mounts, env and envFrom go only into targeted app containers, never into sidecars', () => {
    const p = pod(
      { 'outrigger.dev/inject': 'logs' },
      {
        containers: [
          { name: 'app-web', image: 'w' },
          { name: 'db', image: 'd' },
        ],
      },
    );
    const d = inject(p, profilesFromYaml(full), v133);
    checkInjected(p, d);
    const [web, db] = (d.pod.spec as JsonObject).containers as JsonObject[];
    assert.deepEqual(web?.env, [{ name: 'LOG_DIR', value: '/var/log/app' }]);
    assert.deepEqual(web?.envFrom, [{ configMapRef: { name: 'log-config' } }]);
    assert.deepEqual(web?.volumeMounts, [{ name: 'logs', mountPath: '/var/log/app' }]);
    assert.deepEqual(db, { name: 'db', image: 'd' });
    const shipper = ((d.pod.spec as JsonObject).initContainers as JsonObject[])[0];
    assert.deepEqual(shipper?.env, undefined);
  });

  test('keys with "/" are escaped in the patch', () => {
    const p = pod({ 'outrigger.dev/inject': 'logs' }, { containers: [{ name: 'app-web', image: 'w' }] });
    const d = inject(p, profilesFromYaml(full), v133);
    const paths = d.patch.map((o) => o.path);
    assert.ok(paths.includes('/metadata/annotations/example.com~1role'), paths.join(' '));
    assert.ok(paths.includes('/metadata/labels'), 'labels absent before: added whole');
    checkInjected(p, d);
  });

  test('a pod with no volumes gets the whole list added, not an append', () => {
    const p = pod({ 'outrigger.dev/inject': 'logs' }, { containers: [{ name: 'app-web', image: 'w' }] });
    const d = inject(p, profilesFromYaml(full), v133);
    assert.deepEqual(
      d.patch.find((o) => o.path.startsWith('/spec/volumes')),
      { op: 'add', path: '/spec/volumes', value: [{ name: 'logs', emptyDir: {} }] },
    );
  });

  test('a different item with the same name is a conflict under conflictPolicy fail', () => {
    const p = pod({ 'outrigger.dev/inject': 'logs' }, { containers: [{ name: 'app-web', image: 'w', env: [{ name: 'LOG_DIR', value: '/elsewhere' }] }] });
    const d = inject(p, profilesFromYaml(full), v133);
    assert.equal(d.outcome, 'denied');
    assert.equal(d.reason, 'name-conflict');
    assert.equal(
      d.message,
      'profile "logs" cannot be injected: it adds env "LOG_DIR" in container "app-web", but that container already sets "LOG_DIR" differently (conflictPolicy: fail)',
    );
    assert.deepEqual(d.patch, []);
  });

  test('keep-pod keeps the pod’s item and injects the rest; uninject leaves the pod’s item', () => {
    const set = profilesFromYaml(full.replace('"version":"2"', '"version":"2","conflictPolicy":"keep-pod"'));
    const p = pod({ 'outrigger.dev/inject': 'logs' }, { containers: [{ name: 'app-web', image: 'w', env: [{ name: 'LOG_DIR', value: '/elsewhere' }] }] });
    const d = inject(p, set, v133);
    checkInjected(p, d);
    const web = ((d.pod.spec as JsonObject).containers as JsonObject[])[0];
    assert.deepEqual(web?.env, [{ name: 'LOG_DIR', value: '/elsewhere' }]);
    assert.match(d.warnings.join('\n'), /kept the pod's own env "LOG_DIR"/);
  });

  test('an identical item already present is neither a conflict nor recorded', () => {
    const p = pod({ 'outrigger.dev/inject': 'logs' }, { containers: [{ name: 'app-web', image: 'w' }], imagePullSecrets: [{ name: 'regcred' }] });
    const d = inject(p, profilesFromYaml(full), v133);
    checkInjected(p, d);
    assert.equal(readStatus(d.pod).status?.profiles[0]?.imagePullSecrets, undefined);
  });

  test('failurePolicy ignore admits the pod without the profile, with a warning', () => {
    const set = profilesFromYaml(basic({ failurePolicy: 'ignore' }));
    const p = pod({ 'outrigger.dev/inject': 'agent' }, { containers: [{ name: 'agent', image: 'mine' }] });
    const d = inject(p, set, v133);
    assert.equal(d.outcome, 'unchanged');
    assert.equal(d.reason, 'name-conflict');
    assert.match(d.warnings.join('\n'), /admitted without it: failurePolicy ignore/);
  });
});

describe('validity of the result', () => {
  // The loader refuses both profiles below (src/profiles/container-rules.ts); the engine must still
  // refuse what it would be given anyway.
  const doc = (name: string, spec: object) => ({ apiVersion: 'outrigger.dev/v1alpha1', kind: 'SidecarProfile', metadata: { name }, spec });

  test('requests above limits are refused before the API server sees them', () => {
    const set = unvalidatedProfiles(
      doc('agent', { version: '1', containers: [{ ...sidecar, resources: { requests: { memory: '2Gi' }, limits: { memory: '1Gi' } } }] }),
    );
    const d = inject(pod({ 'outrigger.dev/inject': 'agent' }), set, v133);
    assert.equal(d.outcome, 'denied');
    assert.equal(d.reason, 'invalid-result');
    assert.match(d.message, /resources\.requests\.memory \(2Gi\) must not be greater than resources\.limits\.memory \(1Gi\)/);
  });

  test('a volumeMount naming a volume the pod lacks is refused', () => {
    const set = profilesFromYaml(basic({ volumeMounts: [{ name: 'missing', mountPath: '/m' }] }));
    const d = inject(pod({ 'outrigger.dev/inject': 'agent' }), set, v133);
    assert.equal(d.reason, 'invalid-result');
    assert.match(d.message, /volumeMount "missing" names a volume the pod does not have/);
  });

  test('problems the pod already had are not blamed on the profile', () => {
    const p = pod({ 'outrigger.dev/inject': 'agent' }, { containers: [{ name: 'app', image: 'a', volumeMounts: [{ name: 'gone', mountPath: '/x' }] }] });
    checkInjected(p, inject(p, profilesFromYaml(basic()), v133));
  });

  test('probes on a run-once profile init container are refused', () => {
    const set = unvalidatedProfiles(
      doc('x', { version: '1', initContainers: [{ name: 'init', image: 'i', readinessProbe: { exec: { command: ['true'] } } }] }),
    );
    const d = inject(pod({ 'outrigger.dev/inject': 'x' }), set, v133);
    assert.equal(d.reason, 'invalid-result');
  });

  const many = (n: number) => ({ containers: Array.from({ length: n }, (_, i) => ({ name: `app-${i}`, image: 'a' })) });
  const targeting = (failurePolicy: 'fail' | 'ignore') =>
    profilesFromYaml(basic({ failurePolicy, env: [{ name: 'LOG_DIR', value: '/var/log' }], targets: ['app-*'] }));

  test('a pod with thousands of targeted containers is injected, and its record reads back', () => {
    const p = pod({ 'outrigger.dev/inject': 'agent' }, many(2000));
    const d = inject(p, targeting('fail'), v133);
    checkInjected(p, d);
    assert.equal(inject(d.pod, targeting('fail'), v133).reason, 'already-injected');
  });

  test('a record that would take the annotations over the API server limit is refused; failurePolicy decides', () => {
    const p = pod({ 'outrigger.dev/inject': 'agent' }, many(6000));
    const denied = inject(p, targeting('fail'), v133);
    assert.equal(denied.outcome, 'denied');
    assert.equal(denied.reason, 'invalid-result');
    assert.match(denied.message, /outrigger\.dev\/status would take the pod's annotations over the API server's limit of 262144 bytes/);
    const ignored = inject(p, targeting('ignore'), v133);
    assert.equal(ignored.outcome, 'unchanged');
    assert.deepEqual(ignored.patch, []);
    assert.equal(ignored.profiles[0]?.reason, 'invalid-result');
    assert.match(ignored.warnings.join('\n'), /admitted without it/);
  });

  test('with a failurePolicy ignore profile making the record too large, the others are injected without it', () => {
    const set = profilesFromYaml(
      [
        profileYaml('agent', { version: '1', containers: [sidecar] }),
        profileYaml('logs', { version: '1', failurePolicy: 'ignore', env: [{ name: 'LOG_DIR', value: '/var/log' }], targets: ['app-*'] }),
      ].join('\n---\n'),
    );
    const p = pod({ 'outrigger.dev/inject': 'agent, logs' }, many(6000));
    const d = inject(p, set, v133);
    checkInjected(p, d);
    assert.deepEqual(
      d.profiles.map((o) => [o.profile, o.reason]),
      [
        ['agent', 'injected'],
        ['logs', 'invalid-result'],
      ],
    );
    assert.match(d.warnings.join('\n'), /profile "logs" cannot be injected: the status record .* \(the pod is admitted without it: failurePolicy ignore\)/);
  });

  test('reinvoked with so many new containers that the record would be too large: the profile fails, and failurePolicy decides', () => {
    for (const policy of ['fail', 'ignore'] as const) {
      const set = targeting(policy);
      const p = pod({ 'outrigger.dev/inject': 'agent' }, many(1000));
      const first = inject(p, set, v133);
      checkInjected(p, first);
      const spec = first.pod.spec as JsonObject;
      const grown = deepFreeze({
        ...first.pod,
        spec: {
          ...spec,
          containers: [...(spec.containers as JsonObject[]), ...Array.from({ length: 3500 }, (_, i) => ({ name: `app-late-${i}`, image: 'a' }))],
        },
      }) as JsonObject;
      const again = inject(grown, set, v133);
      assert.deepEqual([again.outcome, again.reason], [policy === 'fail' ? 'denied' : 'unchanged', 'invalid-result']);
      assert.deepEqual(again.patch, []);
      assert.match(again.message, /cannot be extended to new containers: the status record outrigger\.dev\/status would take/);
      if (policy === 'ignore') assert.match(again.warnings.join('\n'), /admitted without it: failurePolicy ignore/);
    }
  });

  test('annotations over the API server limit, counted in UTF-8 bytes, are the pod’s problem, not the profile’s', () => {
    const big = (chars: number, ch: string) => pod({ 'outrigger.dev/inject': 'agent', 'example.com/blob': ch.repeat(chars) });
    // 100,000 × 'é' is 200,000 bytes: within the limit; 100,000 × '€' is 300,000 bytes: over it.
    checkInjected(big(100_000, 'é'), inject(big(100_000, 'é'), profilesFromYaml(basic()), v133));
    // Already over: the API server will say so; injection does not make it worse in kind.
    checkInjected(big(100_000, '€'), inject(big(100_000, '€'), profilesFromYaml(basic()), v133));
    const addsAnnotation = profilesFromYaml(basic({ metadata: { annotations: { 'example.com/more': 'x'.repeat(70_000) } } }));
    const pushed = inject(big(100_000, 'é'), addsAnnotation, v133);
    assert.equal(pushed.reason, 'invalid-result');
    assert.match(pushed.message, /metadata\.annotations: together they exceed the API server's limit of 262144 bytes/);
  });
});

describe('templates and overrides', () => {
  const templated = basic({
    containers: [
      {
        ...sidecar,
        args: ["--app={{ pod.labels['app.kubernetes.io/name'] }}", '--ns={{ namespace.name }}', "--team={{ namespace.labels['team'] ?? 'none' }}"],
      },
    ],
    overrides: { imageTag: true, resources: true },
  });

  test('values from the pod land inside strings, never as structure', () => {
    const evil = '"]}, {"name": "x"}\n- name: y';
    const p = deepFreeze({
      metadata: { labels: { 'app.kubernetes.io/name': evil }, annotations: { 'outrigger.dev/inject': 'agent' } },
      spec: { containers: [{ name: 'app', image: 'a' }] },
    }) as JsonObject;
    const d = inject(p, profilesFromYaml(templated), v133);
    checkInjected(p, d);
    const agent = ((d.pod.spec as JsonObject).initContainers as JsonObject[])[0];
    assert.deepEqual(agent?.args, [`--app=${evil}`, '--ns=shop', '--team=none']);
  });

  test('a missing value without a fallback is a template error naming the field', () => {
    const d = inject(pod({ 'outrigger.dev/inject': 'agent' }), profilesFromYaml(templated), v133);
    assert.equal(d.reason, 'template-error');
    assert.match(d.message, /spec\.containers\[0\]\.args\[0\]: \{\{ pod\.labels\['app\.kubernetes\.io\/name'\] \}\} has no value/);
  });

  test('allowed overrides change image tag and resources; others are refused', () => {
    const p = deepFreeze({
      metadata: {
        labels: { 'app.kubernetes.io/name': 'a' },
        annotations: {
          'outrigger.dev/inject': 'agent',
          'outrigger.dev/agent.image-tag': '2.0',
          'outrigger.dev/agent.resources': '{"limits":{"memory":"256Mi"}}',
        },
      },
      spec: { containers: [{ name: 'app', image: 'a' }] },
    }) as JsonObject;
    const d = inject(p, profilesFromYaml(templated), v133);
    checkInjected(p, d);
    const agent = ((d.pod.spec as JsonObject).initContainers as JsonObject[])[0];
    assert.equal(agent?.image, 'example.com/agent:2.0');
    assert.deepEqual(agent?.resources, { limits: { memory: '256Mi' } });

    const refused = inject(pod({ 'outrigger.dev/inject': 'agent', 'outrigger.dev/agent.image-tag': '2.0' }), profilesFromYaml(basic()), v133);
    assert.equal(refused.reason, 'invalid-override');
    assert.match(refused.message, /does not allow overriding the image tag/);
    const bad = inject(
      pod({ 'outrigger.dev/inject': 'agent', 'outrigger.dev/agent.resources': '{"limits":{"nvidia.com/gpu":"1"}}' }),
      profilesFromYaml(basic({ overrides: { resources: true } })),
      v133,
    );
    assert.match(bad.message, /nvidia\.com\/gpu cannot be overridden/);
  });
});

describe('status, idempotency and updates', () => {
  test('an injected pod gives an empty patch', () => {
    const set = profilesFromYaml(basic());
    const d = inject(pod({ 'outrigger.dev/inject': 'agent' }), set, v133);
    const again = inject(d.pod, set, v133);
    assert.equal(again.outcome, 'unchanged');
    assert.equal(again.reason, 'already-injected');
    assert.deepEqual(again.patch, []);
  });

  test('a pod injected with an older version is rebuilt with the current one', () => {
    const old = inject(pod({ 'outrigger.dev/inject': 'agent' }), profilesFromYaml(basic()), v133);
    const d = inject(old.pod, profilesFromYaml(basic({ version: '2', containers: [{ ...sidecar, image: 'example.com/agent:2' }] })), v133);
    assert.equal(d.outcome, 'injected');
    assert.equal(d.reason, 'updated');
    assert.equal((((d.pod.spec as JsonObject).initContainers as JsonObject[])[0] as JsonObject).image, 'example.com/agent:2');
    assert.deepEqual(uninject(d.pod).ok && (uninject(d.pod) as { pod: JsonObject }).pod, pod({ 'outrigger.dev/inject': 'agent' }));
  });

  test('reinvoked after another webhook added a container: it gets the env and mounts too, recorded for uninject', () => {
    const set = profilesFromYaml(
      basic({ env: [{ name: 'A', value: '1' }], volumes: [{ name: 'v', emptyDir: {} }], volumeMounts: [{ name: 'v', mountPath: '/v' }] }),
    );
    const first = inject(pod({ 'outrigger.dev/inject': 'agent' }), set, v133);
    const spec = first.pod.spec as JsonObject;
    const late = { name: 'late', image: 'other-webhook:1' };
    const reinvoked = deepFreeze({ ...first.pod, spec: { ...spec, containers: [...(spec.containers as JsonObject[]), late] } }) as JsonObject;
    const d = inject(reinvoked, set, v133);
    assert.equal(d.outcome, 'injected', d.message);
    assert.ok(deepEqual(applyPatch(reinvoked, d.patch), d.pod));
    const lateOut = ((d.pod.spec as JsonObject).containers as JsonObject[])[1];
    assert.deepEqual(lateOut, { ...late, env: [{ name: 'A', value: '1' }], volumeMounts: [{ name: 'v', mountPath: '/v' }] });
    assert.match(d.profiles[0]?.message ?? '', /extended to container\(s\) added after injection: late/);
    assert.equal(inject(d.pod, set, v133).outcome, 'unchanged', 'and then it is settled');
    const u = uninject(d.pod);
    assert.ok(u.ok);
    assert.deepEqual((u.pod.spec as JsonObject).containers, [{ name: 'app', image: 'app:1' }, late]);
    assert.equal(inject(first.pod, set, v133).outcome, 'unchanged', 'no new containers: nothing to do');
  });

  test('a corrupt status annotation is refused with a message saying what to do, when a profile applies', () => {
    const corrupt = '{"v":1,"profiles":"x"}';
    const d = inject(pod({ 'outrigger.dev/inject': 'agent', 'outrigger.dev/status': corrupt }), profilesFromYaml(basic()), v133);
    assert.equal(d.outcome, 'denied');
    assert.equal(d.reason, 'invalid-annotation');
    assert.match(d.message, /remove the annotation or restore it from the injected pod/);
    const ignored = inject(
      pod({ 'outrigger.dev/inject': 'agent', 'outrigger.dev/status': corrupt }),
      profilesFromYaml(basic({ failurePolicy: 'ignore' })),
      v133,
    );
    assert.equal(ignored.outcome, 'unchanged');
    const optedOut = inject(pod({ 'outrigger.dev/inject': 'false', 'outrigger.dev/status': corrupt }), profilesFromYaml(basic()), v133);
    assert.deepEqual([optedOut.outcome, optedOut.reason], ['unchanged', 'opted-out']);
  });

  test('the status records exactly what was added', () => {
    const d = inject(pod({ 'outrigger.dev/inject': 'agent' }), profilesFromYaml(basic({ env: [{ name: 'A', value: '1' }] })), v133);
    const { status } = readStatus(d.pod);
    assert.deepEqual(status, {
      v: 1,
      profiles: [{ name: 'agent', version: '1', hash: status?.profiles[0]?.hash, mode: 'native', initContainers: ['agent'], targets: { app: { env: ['A'] } } }],
      created: ['spec.initContainers', 'spec.containers[app].env'],
    });
    assert.match(status?.profiles[0]?.hash ?? '', /^sha256:[0-9a-f]{16}$/);
  });
});

describe('the status record is checked against the pod', () => {
  const guard = {
    version: '1',
    mandatory: true,
    selector: { podSelector: {} },
    containers: [
      {
        name: 'guard',
        image: 'example.com/guard:1',
        args: ['--enforce', "--app={{ pod.labels['app'] ?? 'none' }}"],
        ports: [{ name: 'admin', containerPort: 9901 }],
        readinessProbe: { httpGet: { port: 9901 } },
        resources: { requests: { cpu: '50m' }, limits: { memory: '64Mi', cpu: '0.5' } },
        env: [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
      },
    ],
    initContainers: [{ name: 'guard-init', image: 'example.com/guard:1', args: ['init'] }],
    volumes: [{ name: 'guard-certs', secret: { secretName: 'guard' } }],
    volumeMounts: [{ name: 'guard-certs', mountPath: '/etc/guard' }],
    env: [{ name: 'HTTPS_PROXY', value: 'http://127.0.0.1:3128' }],
    envFrom: [{ configMapRef: { name: 'guard-env' } }],
    imagePullSecrets: [{ name: 'guard-registry' }],
    metadata: { labels: { 'guard.example.com/enforced': 'true' }, annotations: { 'guard.example.com/policy': 'strict' } },
    overrides: { imageTag: true },
  };
  const set = (extra: object = {}) => profilesFromYaml(profileYaml('guard', { ...guard, ...extra }));
  const injectedPod = (s = set()) => inject(pod(undefined), s, v133).pod;
  const copyStatus = (from: JsonObject, to: JsonObject): JsonObject => {
    const ann = (from.metadata as JsonObject).annotations as JsonObject;
    return deepFreeze({
      ...to,
      metadata: { ...(to.metadata as JsonObject), annotations: { 'outrigger.dev/status': ann['outrigger.dev/status'] as string } },
    }) as JsonObject;
  };
  const specOf = (p: JsonObject) => p.spec as JsonObject;
  const initOf = (p: JsonObject) => specOf(p).initContainers as JsonObject[];
  const appOf = (p: JsonObject) => (specOf(p).containers as JsonObject[])[0] as JsonObject;
  /** The injected pod with one part changed: what a copied record on a hand-made pod looks like. */
  const edited = (change: (spec: JsonObject, meta: JsonObject) => void, s = set()): JsonObject => {
    const copy = structuredClone(injectedPod(s)) as JsonObject;
    change(copy.spec as JsonObject, copy.metadata as JsonObject);
    return deepFreeze(copy) as JsonObject;
  };
  /** Whether a pod now carries the profile: injecting it again changes nothing. */
  const settled = (p: JsonObject) => inject(p, set(), v133).outcome === 'unchanged';

  test('the injected pod itself holds its record', () => {
    assert.ok(settled(injectedPod()));
  });

  test('a copied status annotation does not make a pod without the sidecar pass as injected', () => {
    const forged = copyStatus(injectedPod(), pod(undefined));
    const d = inject(forged, set(), v133);
    assert.equal(d.outcome, 'injected', d.message);
    assert.deepEqual(
      initOf(d.pod).map((c) => c.name),
      ['guard-init', 'guard'],
    );
    assert.ok(settled(d.pod));
  });

  test('a look-alike sidecar with an extra command or privileged is a name conflict: the mandatory profile denies the pod', () => {
    const lookalikes: [string, JsonValue, string][] = [
      ['command', ['/bin/sh', '-c', 'sleep inf'], '.command'],
      ['securityContext', { privileged: true }, '.securityContext'],
      ['image', 'evil:1', '.image'],
    ];
    for (const [field, value, path] of lookalikes) {
      const lookalike = (spec: JsonObject) => {
        (spec.initContainers as JsonObject[])[1] = { ...(spec.initContainers as JsonObject[])[1], [field]: value };
      };
      const d = inject(edited(lookalike), set(), v133);
      assert.deepEqual([d.outcome, d.reason], ['denied', 'name-conflict'], field);
      assert.match(d.message, /native sidecar "guard", but the pod already has a container or init container named "guard" \(conflictPolicy: fail\)/);
      assert.ok(
        d.warnings.some((w) => w.includes(`init container "guard": ${path}`)),
        d.warnings.join('\n'),
      );
      // failurePolicy ignore admits it without the profile, and without the record that claims it.
      const soft = set({ mandatory: false, failurePolicy: 'ignore' });
      const ignored = inject(edited(lookalike, soft), soft, v133);
      assert.deepEqual([ignored.outcome, ignored.reason], ['injected', 'name-conflict']);
      assert.equal(((ignored.pod.metadata as JsonObject).annotations as JsonObject)['outrigger.dev/status'], undefined);
      assert.equal(initOf(ignored.pod)[1]?.[field], value, 'the pod’s own container is left as it is');
    }
  });

  test('a copied record with the app container lacking the profile’s env is injected again', () => {
    const forged = edited((spec) => {
      delete (spec.containers as JsonObject[])[0]?.env;
    });
    const d = inject(forged, set(), v133);
    assert.equal(d.outcome, 'injected', d.message);
    assert.deepEqual(appOf(d.pod).env, [{ name: 'HTTPS_PROXY', value: 'http://127.0.0.1:3128' }]);
    assert.match(d.warnings.join('\n'), /container "app" env "HTTPS_PROXY" is missing/);
    assert.ok(settled(d.pod));
  });

  test('missing mounts, envFrom, pull secrets, volumes, labels or annotations are injected again', () => {
    const cases: [string, (spec: JsonObject, meta: JsonObject) => void, RegExp][] = [
      ['mount', (spec) => delete (spec.containers as JsonObject[])[0]?.volumeMounts, /volumeMount at "\/etc\/guard" is missing/],
      ['envFrom', (spec) => delete (spec.containers as JsonObject[])[0]?.envFrom, /lacks an envFrom/],
      ['pull secret', (spec) => delete spec.imagePullSecrets, /imagePullSecret "guard-registry" is missing/],
      ['volume', (spec) => delete spec.volumes, /volume "guard-certs" is missing/],
      ['label', (_, meta) => delete (meta.labels as JsonObject)['guard.example.com/enforced'], /label "guard.example.com\/enforced" is missing/],
      ['annotation', (_, meta) => delete (meta.annotations as JsonObject)['guard.example.com/policy'], /annotation "guard.example.com\/policy" is missing/],
      ['init container', (spec) => (spec.initContainers as JsonObject[]).shift(), /init container "guard-init" is missing/],
    ];
    for (const [what, change, why] of cases) {
      const d = inject(edited(change), set(), v133);
      assert.equal(d.outcome, 'injected', `${what}: ${d.message}`);
      assert.match(d.warnings.join('\n'), why, what);
      assert.ok(settled(d.pod), what);
    }
  });

  test('a different value, or a record that names less or more than the profile adds, is not trusted', () => {
    const changed = edited((spec) => {
      (((spec.containers as JsonObject[])[0] as JsonObject).env as JsonObject[]).splice(0, 1, { name: 'HTTPS_PROXY', value: 'http://evil:1' });
    });
    assert.equal(inject(changed, set(), v133).reason, 'name-conflict');
    const rewrite = (f: (r: JsonObject) => void, s = set()) =>
      edited((_, meta) => {
        const ann = meta.annotations as JsonObject;
        const record = JSON.parse(ann['outrigger.dev/status'] as string);
        f(record.profiles[0]);
        ann['outrigger.dev/status'] = JSON.stringify(record);
      }, s);
    const record = JSON.parse(((injectedPod().metadata as JsonObject).annotations as JsonObject)['outrigger.dev/status'] as string);
    const { name, version, hash, mode } = record.profiles[0];
    const bare = pod({ 'outrigger.dev/status': JSON.stringify({ v: 1, profiles: [{ name, version, hash, mode }] }) });
    const fewer = inject(bare, set(), v133);
    assert.equal(fewer.outcome, 'injected', 'a record naming nothing');
    assert.match(fewer.warnings.join('\n'), /init container "guard-init" is missing/);
    const more = rewrite((r) => {
      r.containers = ['app'];
    });
    const d = inject(more, set(), v133);
    assert.notEqual(d.outcome, 'unchanged');
    assert.match(d.warnings.join('\n'), /container "app" is recorded, and the profile does not add it/);
    const native = set({ sidecarMode: 'native' });
    const otherMode = rewrite((r) => {
      r.mode = 'classic';
    }, native);
    assert.match(
      inject(otherMode, native, v133).warnings.join('\n'),
      /recorded as classic sidecars, and the profile's sidecarMode native gives native ones here/,
    );
  });

  test('fields the API server defaults, at their default values, still count as injected', () => {
    const defaulted = edited((spec) => {
      const [init, g] = spec.initContainers as JsonObject[];
      const defaults = { terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent' };
      const token = { name: TOKEN_NAME, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true };
      Object.assign(init as JsonObject, defaults, { resources: {}, volumeMounts: [token] });
      Object.assign(g as JsonObject, defaults, {
        ports: [{ name: 'admin', containerPort: 9901, protocol: 'TCP' }],
        readinessProbe: { httpGet: { port: 9901, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
        resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '64Mi', cpu: '500m' } },
        env: [{ name: 'POD', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } }],
        volumeMounts: [token],
      });
      ((spec.volumes as JsonObject[])[0]?.secret as JsonObject).defaultMode = 420;
      spec.volumes = [...(spec.volumes as JsonObject[]), TOKEN_VOLUME];
    });
    const d = inject(defaulted, set(), v133);
    assert.deepEqual([d.outcome, d.reason], ['unchanged', 'already-injected'], d.warnings.join('\n'));
  });

  test('a mount at the token path counts as the ServiceAccount plugin’s only over exactly its volume', () => {
    const mount = { name: TOKEN_NAME, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true };
    const withVolume = (volume: JsonObject | undefined, name = TOKEN_NAME) =>
      edited((spec) => {
        const g = (spec.initContainers as JsonObject[])[1] as JsonObject;
        g.volumeMounts = [{ ...mount, name }];
        if (volume) spec.volumes = [...(spec.volumes as JsonObject[]), { ...volume, name }];
      });
    const projected = TOKEN_VOLUME.projected as JsonObject;
    const [token, ca, ns] = projected.sources as [JsonObject, JsonObject, JsonObject];
    const lookalikes: [string, JsonObject][] = [
      ['no volume', withVolume(undefined)],
      ['a hostPath volume', withVolume({ hostPath: { path: '/var/lib/kubelet/pods' } })],
      [
        'another token audience',
        withVolume({
          projected: { ...projected, sources: [{ serviceAccountToken: { ...(token?.serviceAccountToken as JsonObject), audience: 'x' } }, ca, ns] },
        }),
      ],
      [
        'another CA configMap',
        withVolume({ projected: { ...projected, sources: [token, { configMap: { name: 'mine', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }, ns] } }),
      ],
      ['another name', withVolume(TOKEN_VOLUME, 'kube-api-access-mine-too-long')],
    ];
    for (const [what, p] of lookalikes) {
      const d = inject(p, set(), v133);
      assert.deepEqual([d.outcome, d.reason], ['denied', 'name-conflict'], what);
      assert.match(d.warnings.join('\n'), /init container "guard": .*volumeMounts/, what);
    }
    assert.equal(inject(withVolume(TOKEN_VOLUME), set(), v133).reason, 'already-injected');
  });

  test('what LimitRanger and AlwaysPullImages add to a sidecar on reinvocation still counts as injected', () => {
    const plugins = edited((spec) => {
      const [init, g] = spec.initContainers as [JsonObject, JsonObject];
      // The profile sets no resources on guard-init: a LimitRange's default and defaultRequest fill them in.
      Object.assign(init, { imagePullPolicy: 'Always', resources: { limits: { cpu: '1', memory: '512Mi' }, requests: { cpu: '100m', memory: '128Mi' } } });
      // guard sets requests.cpu and limits for cpu and memory: requests.memory comes from its limit, nothing else is added.
      Object.assign(g, {
        imagePullPolicy: 'Always',
        resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '64Mi', cpu: '500m', 'ephemeral-storage': '1Gi' } },
      });
    });
    const d = inject(plugins, set(), v133);
    assert.deepEqual([d.outcome, d.reason], ['unchanged', 'already-injected'], d.warnings.join('\n'));
    const notPlugins: [string, (init: JsonObject, g: JsonObject) => void][] = [
      [
        'a request other than the profile’s limit',
        (_, g) => Object.assign(g, { resources: { requests: { cpu: '50m', memory: '1Mi' }, limits: { memory: '64Mi', cpu: '0.5' } } }),
      ],
      ['a limit other than the profile’s', (_, g) => Object.assign(g, { resources: { requests: { cpu: '50m' }, limits: { memory: '1Mi', cpu: '0.5' } } })],
      ['a resource that is no quantity', (init) => Object.assign(init, { resources: { limits: { cpu: 'lots' } } })],
      ['another resources field', (init) => Object.assign(init, { resources: { claims: [{ name: 'gpu' }] } })],
      ['imagePullPolicy Never', (init) => Object.assign(init, { imagePullPolicy: 'Never' })],
    ];
    for (const [what, change] of notPlugins) {
      const p = edited((spec) => change(...(spec.initContainers as [JsonObject, JsonObject])));
      assert.deepEqual(inject(p, set(), v133).outcome, 'denied', what);
    }
  });

  test('a defaulted field with another value than its default does not', () => {
    const cases: [string, (g: JsonObject) => void][] = [
      ['imagePullPolicy', (g) => Object.assign(g, { imagePullPolicy: 'Never' })],
      ['requests not from limits', (g) => Object.assign(g, { resources: { requests: { cpu: '50m', memory: '1Gi' }, limits: { memory: '64Mi', cpu: '0.5' } } })],
      ['probe period', (g) => Object.assign(g, { readinessProbe: { httpGet: { port: 9901 }, periodSeconds: 3600 } })],
      ['port protocol', (g) => Object.assign(g, { ports: [{ name: 'admin', containerPort: 9901, protocol: 'UDP' }] })],
      ['an extra mount', (g) => Object.assign(g, { volumeMounts: [{ name: 'guard-certs', mountPath: '/host' }] })],
    ];
    for (const [what, change] of cases) {
      const d = inject(
        edited((spec) => change((spec.initContainers as JsonObject[])[1] as JsonObject)),
        set(),
        v133,
      );
      assert.deepEqual([d.outcome, d.reason], ['denied', 'name-conflict'], what);
    }
  });

  test('templates rendered from pod values and per-pod overrides hold on the pod they were rendered for, not on another', () => {
    const own = deepFreeze({
      ...pod({ 'outrigger.dev/guard.image-tag': '1.1' }),
      metadata: { name: 'p', labels: { app: 'shop' }, annotations: { 'outrigger.dev/guard.image-tag': '1.1' } },
    }) as JsonObject;
    const first = inject(own, set(), v133);
    checkInjected(own, first);
    const g = initOf(first.pod)[1] as JsonObject;
    assert.deepEqual([g.image, (g.args as string[])[1]], ['example.com/guard:1.1', '--app=shop']);
    assert.ok(settled(first.pod));
    // The same sidecar and record on a pod with another app label: the sidecar is not what the profile renders for it.
    const moved = deepFreeze({
      ...first.pod,
      metadata: { ...(first.pod.metadata as JsonObject), labels: { ...((first.pod.metadata as JsonObject).labels as JsonObject), app: 'other' } },
    }) as JsonObject;
    assert.equal(inject(moved, set(), v133).reason, 'name-conflict');
  });

  test('conflictPolicy keep-pod: the pod’s own item kept at injection still holds', () => {
    const s = set({ conflictPolicy: 'keep-pod' });
    const withOwn = pod(undefined, { containers: [{ name: 'app', image: 'app:1', env: [{ name: 'HTTPS_PROXY', value: 'http://corp:8080' }] }] });
    const first = inject(withOwn, s, v133);
    assert.equal(first.outcome, 'injected');
    assert.deepEqual(inject(first.pod, s, v133).outcome, 'unchanged');
  });

  test('an outdated record is replaced on update, even with a look-alike sidecar', () => {
    const old = injectedPod(set({ version: '0.9' }));
    const lookalike = deepFreeze({
      ...old,
      spec: { ...specOf(old), initContainers: initOf(old).map((c) => (c.name === 'guard' ? { ...c, securityContext: { privileged: true } } : c)) },
    }) as JsonObject;
    const d = inject(lookalike, set(), v133);
    assert.deepEqual([d.outcome, d.reason], ['injected', 'updated'], d.message);
    assert.equal((initOf(d.pod)[1] as JsonObject).securityContext, undefined);
    assert.ok(settled(d.pod));
  });

  test('a copied record with the pod’s own init container moved before the mandatory sidecar does not hold', () => {
    const own = { name: 'evil-init', image: 'curl:8', command: ['sh', '-c', 'curl http://internal'] };
    const first = inject(pod(undefined, { initContainers: [own], containers: [{ name: 'app', image: 'app:1' }] }), set(), v133);
    assert.deepEqual(
      initOf(first.pod).map((c) => c.name),
      ['guard-init', 'guard', 'evil-init'],
    );
    assert.ok(settled(first.pod));
    const reorder = (names: string[]) => {
      const copy = structuredClone(first.pod) as JsonObject;
      const byName = new Map(initOf(copy).map((c) => [c.name, c]));
      specOf(copy).initContainers = names.map((n) => byName.get(n) as JsonObject);
      return deepFreeze(copy) as JsonObject;
    };
    const cases: [string[], RegExp][] = [
      [['evil-init', 'guard-init', 'guard'], /init container "guard-init" runs after the pod's own init container "evil-init"/],
      [['guard-init', 'evil-init', 'guard'], /init container "guard" runs after the pod's own init container "evil-init"/],
      [['guard', 'guard-init', 'evil-init'], /init container "guard-init" is not in the place injection gives it/],
    ];
    for (const [names, why] of cases) {
      const d = inject(reorder(names), set(), v133);
      assert.notEqual(d.reason, 'already-injected', names.join());
      assert.match(d.warnings.join('\n'), why);
    }
  });

  test('with sidecarMode auto, classic output copied onto a cluster with native sidecars does not hold', () => {
    const auto = set({ sidecarMode: 'auto' });
    const classic = inject(pod(undefined), auto, { ...v133, kubeVersion: { major: 1, minor: 28 } });
    assert.equal(classic.outcome, 'injected');
    assert.ok((specOf(classic.pod).containers as JsonObject[]).some((c) => c.name === 'guard'));
    const d = inject(classic.pod, auto, v133);
    assert.deepEqual([d.outcome, d.reason], ['denied', 'name-conflict']);
    assert.match(d.warnings.join('\n'), /recorded as classic sidecars, and the profile's sidecarMode auto gives native ones here/);
    assert.equal(inject(classic.pod, auto, { ...v133, kubeVersion: { major: 1, minor: 28 } }).reason, 'already-injected');
  });

  test('a record entry of an unknown profile or an older version removes no other webhook’s sidecar', () => {
    // What an earlier webhook added: a container and its volume, named by a forged record.
    const other = pod(undefined, {
      containers: [
        { name: 'app', image: 'app:1' },
        { name: 'security-agent', image: 'vendor/agent:1', volumeMounts: [{ name: 'agent-socket', mountPath: '/run/agent' }] },
      ],
      volumes: [{ name: 'agent-socket', emptyDir: {} }],
    });
    const claims = { containers: ['security-agent'], volumes: ['agent-socket'] };
    for (const entry of [
      { name: 'gone', version: '1', hash: 'x', mode: 'classic', ...claims },
      { name: 'guard', version: '0.9', hash: 'old', mode: 'native', ...claims },
    ]) {
      const forged = deepFreeze({
        ...other,
        metadata: { ...(other.metadata as JsonObject), annotations: { 'outrigger.dev/status': JSON.stringify({ v: 1, profiles: [entry] }) } },
      }) as JsonObject;
      const d = inject(forged, set(), v133);
      assert.equal(d.outcome, 'injected', d.message);
      assert.deepEqual(
        (specOf(d.pod).containers as JsonObject[]).map((c) => c.name),
        ['app', 'security-agent'],
        entry.name,
      );
      assert.ok(
        (specOf(d.pod).volumes as JsonObject[]).some((v) => v.name === 'agent-socket'),
        entry.name,
      );
      assert.ok(!d.patch.some((op) => op.op === 'remove' && op.path === '/spec/containers/1'), entry.name);
      assert.match(d.warnings.join('\n'), /"security-agent", "agent-socket": left in the pod/);
    }
  });

  test('on update, what the older version added and the current one still adds is replaced; the rest stays, with a warning', () => {
    const old = injectedPod(set({ version: '0.9', volumes: [...guard.volumes, { name: 'guard-cache', emptyDir: {} }] }));
    const d = inject(old, set(), v133);
    assert.deepEqual([d.outcome, d.reason], ['injected', 'updated'], d.message);
    assert.deepEqual(
      initOf(d.pod).map((c) => c.name),
      ['guard-init', 'guard'],
    );
    const volumes = (specOf(d.pod).volumes as JsonObject[]).map((v) => v.name);
    assert.deepEqual(volumes.sort(), ['guard-cache', 'guard-certs']);
    assert.match(d.warnings.join('\n'), /version "0\.9", and the current version does not add "guard-cache": left in the pod/);
    assert.ok(settled(d.pod));
  });

  test('reinvoked after another webhook added a container with a conflicting env: failurePolicy decides, as on first injection', () => {
    const late = { name: 'late', image: 'late:1', env: [{ name: 'HTTPS_PROXY', value: 'http://elsewhere:1' }] };
    const reinvoked = (p: JsonObject) =>
      deepFreeze({ ...p, spec: { ...specOf(p), containers: [...(specOf(p).containers as JsonObject[]), late] } }) as JsonObject;
    const d = inject(reinvoked(injectedPod()), set(), v133);
    assert.deepEqual([d.outcome, d.reason], ['denied', 'name-conflict']);
    assert.match(d.message, /cannot be extended to new containers: it adds env "HTTPS_PROXY" in container "late"/);
    const soft = set({ mandatory: false, failurePolicy: 'ignore' });
    const ignored = inject(reinvoked(injectedPod(soft)), soft, v133);
    assert.deepEqual([ignored.outcome, ignored.reason, ignored.patch], ['unchanged', 'name-conflict', []]);
    assert.match(ignored.warnings.join('\n'), /admitted without it: failurePolicy ignore/);
  });

  test('an inject annotation with many bogus names is bounded', () => {
    const d = inject(pod({ 'outrigger.dev/inject': Array.from({ length: 5000 }, (_, i) => `nope-${i}`).join(',') }), set(), v133);
    assert.ok(d.profiles.length <= 66, String(d.profiles.length));
    assert.ok(d.profiles.some((p) => /more than 64 profiles/.test(p.message)));
  });
});
