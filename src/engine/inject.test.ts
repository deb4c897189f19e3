import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import { inject } from './inject.ts';
import { deepEqual, deepFreeze, type JsonObject } from './json.ts';
import { applyPatch } from './patch-apply.ts';
import { readStatus } from './status.ts';
import { uninject } from './uninject.ts';

const v133 = { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } };
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
  test('requests above limits are refused before the API server sees them', () => {
    const set = profilesFromYaml(basic({ containers: [{ ...sidecar, resources: { requests: { memory: '2Gi' }, limits: { memory: '1Gi' } } }] }));
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
    const set = profilesFromYaml(
      profileYaml('x', { version: '1', initContainers: [{ name: 'init', image: 'i', readinessProbe: { exec: { command: ['true'] } } }] }),
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

  test('reinvoked with so many new containers that the record would be too large: left as it is, with a warning', () => {
    const set = targeting('fail');
    const p = pod({ 'outrigger.dev/inject': 'agent' }, many(1000));
    const first = inject(p, set, v133);
    checkInjected(p, first);
    const spec = first.pod.spec as JsonObject;
    const grown = deepFreeze({
      ...first.pod,
      spec: { ...spec, containers: [...(spec.containers as JsonObject[]), ...Array.from({ length: 3500 }, (_, i) => ({ name: `app-late-${i}`, image: 'a' }))] },
    }) as JsonObject;
    const again = inject(grown, set, v133);
    assert.equal(again.outcome, 'unchanged');
    assert.deepEqual(again.patch, []);
    assert.match(again.warnings.join('\n'), /not extended to new containers: the status record outrigger\.dev\/status would take/);
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
  const set = () =>
    profilesFromYaml(
      profileYaml('guard', {
        version: '1',
        mandatory: true,
        selector: { podSelector: {} },
        containers: [{ name: 'guard', image: 'example.com/guard:1', args: ['--enforce'] }],
      }),
    );
  const copyStatus = (from: JsonObject, to: JsonObject): JsonObject => {
    const ann = (from.metadata as JsonObject).annotations as JsonObject;
    return deepFreeze({
      ...to,
      metadata: { ...(to.metadata as JsonObject), annotations: { 'outrigger.dev/status': ann['outrigger.dev/status'] as string } },
    }) as JsonObject;
  };

  test('a copied status annotation does not make a pod without the sidecar pass as injected', () => {
    const injected = inject(pod(undefined), set(), v133).pod;
    const forged = copyStatus(injected, pod(undefined));
    const d = inject(forged, set(), v133);
    assert.equal(d.outcome, 'injected');
    assert.deepEqual(
      ((d.pod.spec as JsonObject).initContainers as JsonObject[]).map((c) => c.image),
      ['example.com/guard:1'],
    );
  });

  test('nor does a look-alike container with the sidecar’s name', () => {
    const injected = inject(pod(undefined), set(), v133).pod;
    const lookalike = copyStatus(
      injected,
      pod(undefined, { initContainers: [{ name: 'guard', image: 'evil:1', restartPolicy: 'Always' }], containers: [{ name: 'app', image: 'app:1' }] }),
    );
    const d = inject(lookalike, set(), v133);
    assert.equal(d.outcome, 'injected');
    assert.deepEqual(((d.pod.spec as JsonObject).initContainers as JsonObject[])[0], {
      name: 'guard',
      image: 'example.com/guard:1',
      args: ['--enforce'],
      restartPolicy: 'Always',
    });
  });

  test('fields the API server adds (defaults, an appended token mount) still count as injected', () => {
    const injected = inject(pod(undefined), set(), v133).pod;
    const spec = injected.spec as JsonObject;
    const [guard] = spec.initContainers as JsonObject[];
    const defaulted = deepFreeze({
      ...injected,
      spec: {
        ...spec,
        initContainers: [
          {
            ...guard,
            imagePullPolicy: 'IfNotPresent',
            terminationMessagePath: '/dev/termination-log',
            volumeMounts: [{ name: 'kube-api-access-x1', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
          },
        ],
      },
    }) as JsonObject;
    assert.equal(inject(defaulted, set(), v133).outcome, 'unchanged');
  });

  test('an inject annotation with many bogus names is bounded', () => {
    const d = inject(pod({ 'outrigger.dev/inject': Array.from({ length: 5000 }, (_, i) => `nope-${i}`).join(',') }), set(), v133);
    assert.ok(d.profiles.length <= 66, String(d.profiles.length));
    assert.ok(d.profiles.some((p) => /more than 64 profiles/.test(p.message)));
  });
});
