/**
 * A record the pod does not hold is ignored, and the warning says the first thing that does not
 * match: one edit at a time on an injected pod, through inject().
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import type { JsonObject } from '../common/json.ts';
import { inject } from './inject.ts';
import type { SidecarProfile } from './profile.ts';
import { initOrderMismatch, recordMismatch } from './record-check.ts';
import type { ProfileRecord } from './status.ts';

const set = profilesFromYaml(
  profileYaml('agent', {
    version: '1',
    sidecarMode: 'native',
    containers: [{ name: 'agent', image: 'a:1' }],
    initContainers: [{ name: 'setup', image: 's:1' }],
    volumes: [{ name: 'v', emptyDir: {} }],
    volumeMounts: [{ name: 'v', mountPath: '/m' }],
    env: [{ name: 'E', value: '1' }],
    envFrom: [{ configMapRef: { name: 'cfg' } }],
    metadata: { labels: { team: 'a' }, annotations: { 'example.com/x': 'y' } },
    imagePullSecrets: [{ name: 's' }],
  }),
);
const ctx = { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } };
const injected = inject(
  { metadata: { name: 'p', annotations: { 'outrigger.dev/inject': 'agent' } }, spec: { containers: [{ name: 'app', image: 'app' }] } },
  set,
  ctx,
);
assert.equal(injected.outcome, 'injected');

// biome-ignore lint/suspicious/noExplicitAny: edits reach into the pod's JSON freely
type Loose = any;
type Edit = (p: Loose) => void;
const editRecord =
  (f: (s: Loose) => void): Edit =>
  (p) => {
    const s = JSON.parse(p.metadata.annotations['outrigger.dev/status']);
    f(s.profiles[0]);
    p.metadata.annotations['outrigger.dev/status'] = JSON.stringify(s);
  };
const cases: [string, Edit, string][] = [
  [
    'a label changed',
    (p) => {
      p.metadata.labels.team = 'b';
    },
    'label "team" is not the value the profile sets',
  ],
  [
    'a label removed',
    (p) => {
      delete p.metadata.labels.team;
    },
    'label "team" is missing',
  ],
  [
    'an annotation changed',
    (p) => {
      p.metadata.annotations['example.com/x'] = 'z';
    },
    'annotation "example.com/x" is not the value the profile sets',
  ],
  ['a label recorded that the profile does not add', editRecord((r) => r.labels.push('other')), 'label "other" is recorded, and the profile does not add it'],
  [
    'the envFrom removed',
    (p) => {
      p.spec.containers[0].envFrom = [];
    },
    'container "app" lacks an envFrom the profile adds',
  ],
  [
    'an envFrom recorded that the profile does not add',
    editRecord((r) => r.targets.app.envFrom.push({ secretRef: { name: 'x' } })),
    'container "app" has an envFrom recorded that the profile does not add',
  ],
  [
    'an env value changed',
    (p) => {
      p.spec.containers[0].env[0].value = '2';
    },
    'container "app" env "E": .value is not what the profile sets',
  ],
  [
    'the mount removed',
    (p) => {
      p.spec.containers[0].volumeMounts = [];
    },
    'container "app" volumeMount at "/m" is missing',
  ],
  [
    'a target recorded that is not the pod’s',
    editRecord((r) => {
      r.targets.nope = { env: ['E'] };
    }),
    'recorded target container "nope" is not one of the pod\'s own that the profile targets',
  ],
  [
    'the volume removed',
    (p) => {
      p.spec.volumes = [];
    },
    'volume "v" is missing',
  ],
  [
    'the pull secret removed',
    (p) => {
      p.spec.imagePullSecrets = [];
    },
    'imagePullSecret "s" is missing',
  ],
  [
    'the sidecar’s image changed',
    (p) => {
      p.spec.initContainers[1].image = 'other';
    },
    'init container "agent": .image is not what the profile sets',
  ],
];

for (const [what, edit, detail] of cases) {
  test(`${what}: the record is ignored, and the warning says so`, () => {
    const pod = structuredClone(injected.pod) as JsonObject;
    edit(pod);
    const d = inject(pod, set, ctx);
    assert.ok(
      d.warnings.includes(
        `outrigger.dev/status does not match the pod (profile "agent" at version 1: ${detail}); it is ignored, and the pod is treated as not injected`,
      ),
      d.warnings.join('\n'),
    );
  });
}

test('init containers out of the order injection gives them: the record is ignored, naming the first out of place', () => {
  const pod = structuredClone(injected.pod) as JsonObject;
  ((pod.spec as JsonObject).initContainers as JsonObject[]).reverse();
  const d = inject(pod, set, ctx);
  assert.ok(
    d.warnings.includes(
      'outrigger.dev/status does not match the pod (init container "setup" is not in the place injection gives it); it is ignored, and the pod is treated as not injected',
    ),
    d.warnings.join('\n'),
  );
});

test('the untouched injected pod holds its record: no warning, nothing to do', () => {
  const d = inject(structuredClone(injected.pod) as JsonObject, set, ctx);
  assert.deepEqual([d.outcome, d.reason, d.warnings], ['unchanged', 'already-injected', []]);
});

describe('recordMismatch: each part of one record entry against the pod', () => {
  const profile = (spec: object) => {
    const p = profilesFromYaml(profileYaml('agent', { version: '1', ...spec })).profiles[0];
    assert.ok(p);
    return p;
  };
  const app = (extra: JsonObject = {}): JsonObject => ({ name: 'app', image: 'app', ...extra });
  const check = (
    pod: JsonObject,
    p: SidecarProfile,
    r: Partial<ProfileRecord> = {},
    unrecordedTargets: 'extend' | 'check' = 'extend',
    injected: ReadonlySet<string> = new Set(),
  ) =>
    recordMismatch(
      pod,
      { name: p.name, version: p.version, hash: p.hash, mode: 'classic', ...r },
      p,
      p,
      { injected, mode: r.mode ?? 'classic' },
      { unrecordedTargets },
    );

  test('a recorded key longer than 63 characters is cut in the message; one of 63 is shown whole', () => {
    const p = profile({ metadata: { labels: { team: 'a' } } });
    const pod = { metadata: { labels: { team: 'a' } }, spec: { containers: [app()] } };
    assert.equal(check(pod, p, { labels: ['k'.repeat(64)] }), `label "${'k'.repeat(63)}…" is recorded, and the profile does not add it`);
    assert.equal(check(pod, p, { labels: ['k'.repeat(63)] }), `label "${'k'.repeat(63)}" is recorded, and the profile does not add it`);
  });

  test('a label the record does not name must hold the profile’s value, unless conflictPolicy is keep-pod', () => {
    const pod = { metadata: { labels: { team: 'theirs' } }, spec: { containers: [app()] } };
    assert.equal(check(pod, profile({ metadata: { labels: { team: 'a' } } })), 'label "team" is not the value the profile sets');
    const keep = profile({ conflictPolicy: 'keep-pod', metadata: { labels: { team: 'a' } } });
    assert.equal(check(pod, keep), undefined);
    assert.equal(check(pod, keep, { labels: ['team'] }), 'label "team" is not the value the profile sets', 'a recorded label is checked under keep-pod too');
  });

  test('under keep-pod an item the record names must still be as the profile renders it', () => {
    const p = profile({ conflictPolicy: 'keep-pod', volumes: [{ name: 'v', emptyDir: {} }] });
    const pod = { spec: { containers: [app()], volumes: [{ name: 'v', configMap: { name: 'c' } }] } };
    assert.equal(check(pod, p), undefined, 'the pod’s own volume of that name is kept');
    assert.match(check(pod, p, { volumes: ['v'] }) ?? '', /^volume "v": /);
  });

  test('a sidecar missing from a classic pod is named as a container', () => {
    const p = profile({ sidecarMode: 'classic', containers: [{ name: 'agent', image: 'a:1' }] });
    assert.equal(check({ spec: { containers: [app()] } }, p, { containers: ['agent'] }), 'container "agent" is missing');
  });

  test('a target with another envFrom than the profile’s lacks it', () => {
    const p = profile({ envFrom: [{ configMapRef: { name: 'cfg' } }] });
    const pod = { spec: { containers: [app({ envFrom: [{ secretRef: { name: 'other' } }] })] } };
    assert.equal(check(pod, p, { targets: { app: { envFrom: [{ configMapRef: { name: 'cfg' } }] } } }), 'container "app" lacks an envFrom the profile adds');
  });

  test('a recorded target must be a container the profile targets', () => {
    const p = profile({ targets: ['app'], env: [{ name: 'E', value: '1' }] });
    const pod = { spec: { containers: [app({ env: [{ name: 'E', value: '1' }] }), { name: 'web', image: 'w', env: [{ name: 'E', value: '1' }] }] } };
    assert.equal(check(pod, p, { targets: { app: { env: ['E'] } } }), undefined);
    assert.equal(
      check(pod, p, { targets: { app: { env: ['E'] }, web: { env: ['E'] } } }),
      'recorded target container "web" is not one of the pod\'s own that the profile targets',
    );
  });

  test('recorded init container targets are named as init containers', () => {
    const p = profile({ initContainerTargets: ['init'], env: [{ name: 'E', value: '1' }] });
    const pod = { spec: { initContainers: [{ name: 'init', image: 'i' }], containers: [app({ env: [{ name: 'E', value: '1' }] })] } };
    assert.equal(
      check(pod, p, { targets: { app: { env: ['E'] } }, initTargets: { nope: { env: ['E'] } } }),
      'recorded target init container "nope" is not one of the pod\'s own that the profile targets',
    );
    assert.equal(check(pod, p, { targets: { app: { env: ['E'] } }, initTargets: { init: { env: ['E'] } } }), 'init container "init" env "E" is missing');
  });

  test('a target recorded with env or envFrom from a profile that adds none is a mismatch', () => {
    const p = profile({ containers: [{ name: 'agent', image: 'a:1' }], sidecarMode: 'classic' });
    const pod = { spec: { containers: [app({ env: [{ name: 'E' }], envFrom: [{ secretRef: { name: 's' } }] }), { name: 'agent', image: 'a:1' }] } };
    assert.equal(check(pod, p, { containers: ['agent'] }), undefined);
    assert.equal(
      check(pod, p, { containers: ['agent'], targets: { app: { envFrom: [{ secretRef: { name: 's' } }] } } }),
      'container "app" has an envFrom recorded that the profile does not add',
    );
    assert.equal(
      check(pod, p, { containers: ['agent'], targets: { app: { env: ['E'] } } }),
      'container "app" env "E" is recorded, and the profile does not add it',
    );
  });

  test('targets the record does not name are extended by injection, and checked in a report', () => {
    const cases: [object, string][] = [
      [{ env: [{ name: 'E', value: '1' }] }, 'container "app" env "E" is missing'],
      [{ envFrom: [{ configMapRef: { name: 'cfg' } }] }, 'container "app" lacks an envFrom the profile adds'],
      [{ volumes: [{ name: 'v', emptyDir: {} }], volumeMounts: [{ name: 'v', mountPath: '/m' }] }, 'container "app" volumeMount at "/m" is missing'],
    ];
    for (const [spec, detail] of cases) {
      const p = profile(spec);
      const pod = { spec: { containers: [app()], volumes: [{ name: 'v', emptyDir: {} }] } };
      const r = { volumes: p.volumes.length > 0 ? ['v'] : [] };
      assert.equal(check(pod, p, r, 'extend'), undefined, detail);
      assert.equal(check(pod, p, r, 'check'), detail);
    }
  });

  test('a report checks every targeted container, and only those', () => {
    const p = profile({ targets: ['app*'], env: [{ name: 'E', value: '1' }] });
    const env = [{ name: 'E', value: '1' }];
    const pod = (second: JsonObject) => ({ spec: { containers: [app({ env }), { name: 'app2', image: 'a', ...second }, { name: 'web', image: 'w' }] } });
    assert.equal(check(pod({ env }), p, {}, 'check'), undefined, 'web is not a target');
    assert.equal(check(pod({}), p, {}, 'check'), 'container "app2" env "E" is missing');
    assert.equal(check(pod({}), p, { targets: { app: { env: ['E'] } } }, 'check'), 'container "app2" env "E" is missing');
  });
});

describe('initOrderMismatch', () => {
  const pod = (...names: string[]): JsonObject => ({ spec: { initContainers: names.map((name) => ({ name, image: 'i' })), containers: [] } });

  test('an item the profiles render that the record does not name may stand before the recorded ones', () => {
    assert.equal(initOrderMismatch(pod('kept', 'setup', 'own'), { rendered: ['kept', 'setup'], recorded: new Set(['setup']) }), undefined);
  });

  test('a recorded init container after the pod’s own names the first of the pod’s own', () => {
    assert.equal(
      initOrderMismatch(pod('own1', 'own2', 'setup'), { rendered: ['setup'], recorded: new Set(['setup']) }),
      'init container "setup" runs after the pod\'s own init container "own1"',
    );
  });
});

describe('an injected pod holds its record', () => {
  const reinjected = (spec: object, pod: JsonObject) => {
    const s = profilesFromYaml(profileYaml('agent', { version: '1', ...spec }));
    const first = inject(pod, s, ctx);
    assert.equal(first.outcome, 'injected', first.message);
    const again = inject(structuredClone(first.pod) as JsonObject, s, ctx);
    assert.deepEqual([again.outcome, again.reason, again.warnings], ['unchanged', 'already-injected', []]);
    return first.pod;
  };
  const pod = (spec: JsonObject): JsonObject => ({ metadata: { name: 'p', annotations: { 'outrigger.dev/inject': 'agent' } }, spec });

  test('with several envFrom, each recorded one among the profile’s', () => {
    const envFrom = [{ configMapRef: { name: 'a' } }, { secretRef: { name: 'b' } }];
    const out = reinjected({ containers: [{ name: 'agent', image: 'a:1' }], envFrom }, pod({ containers: [{ name: 'app', image: 'app' }] }));
    assert.deepEqual(((out.spec as JsonObject).containers as JsonObject[])[0]?.envFrom, envFrom);
  });

  test('with init container targets', () => {
    const out = reinjected(
      { containers: [{ name: 'agent', image: 'a:1' }], env: [{ name: 'E', value: '1' }], initContainerTargets: ['init'] },
      pod({ initContainers: [{ name: 'init', image: 'i' }], containers: [{ name: 'app', image: 'app' }] }),
    );
    assert.deepEqual(((out.spec as JsonObject).initContainers as JsonObject[]).find((c) => c.name === 'init')?.env, [{ name: 'E', value: '1' }]);
  });

  test('keep-pod: a native sidecar’s name already taken by an app container of the pod', () => {
    reinjected(
      { sidecarMode: 'native', conflictPolicy: 'keep-pod', containers: [{ name: 'agent', image: 'a:1' }], volumes: [{ name: 'v', emptyDir: {} }] },
      pod({
        containers: [
          { name: 'app', image: 'app' },
          { name: 'agent', image: 'mine' },
        ],
      }),
    );
  });

  test('keep-pod: a classic sidecar’s name already taken by an init container of the pod', () => {
    reinjected(
      { sidecarMode: 'classic', conflictPolicy: 'keep-pod', containers: [{ name: 'agent', image: 'a:1' }], volumes: [{ name: 'v', emptyDir: {} }] },
      pod({ initContainers: [{ name: 'agent', image: 'mine' }], containers: [{ name: 'app', image: 'app' }] }),
    );
  });
});
