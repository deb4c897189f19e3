/**
 * A status record read back is trusted only for what the current profiles add: entries of unknown
 * profiles or older versions remove nothing else, with a warning that names (a few of) them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import type { JsonObject } from '../common/json.ts';
import { inject } from './inject.ts';
import type { SidecarProfile } from './profile.ts';
import { recordScope } from './record-scope.ts';

const ctx = { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } };
const set = profilesFromYaml(profileYaml('agent', { version: '2', sidecarMode: 'classic', containers: [{ name: 'agent', image: 'a:2' }] }));
const LONG = 'x'.repeat(70);

function podClaiming(profiles: JsonObject[], extra: string[]): JsonObject {
  const status = { v: 1, profiles };
  return {
    metadata: { name: 'p', annotations: { 'outrigger.dev/inject': 'agent', 'outrigger.dev/status': JSON.stringify(status) } },
    spec: { containers: [{ name: 'app', image: 'app' }, { name: 'agent', image: 'a:1' }, ...extra.map((name) => ({ name, image: 'i' }))] },
  };
}

test('an unknown profile’s and an older version’s claims are left in the pod, named in warnings (five at most, long names cut)', () => {
  const theirs = ['c1', 'c2', 'c3', 'c4', 'c5', LONG];
  const pod = podClaiming(
    [
      { name: 'ghost', version: '1', hash: 'h', mode: 'classic', containers: theirs },
      { name: 'agent', version: '1', hash: 'old', mode: 'classic', containers: ['agent', 'gone'] },
    ],
    ['gone', ...theirs],
  );
  const d = inject(pod, set, ctx);
  assert.deepEqual([d.outcome, d.reason], ['injected', 'updated']);
  assert.deepEqual(d.warnings, [
    'the status record claims for a profile that does not exist, and it names "c1", "c2", "c3", "c4", "c5", and 1 more: left in the pod (it may not be Outrigger\'s)',
    'the status record claims for version "1", and the current version does not add "gone": left in the pod (it may not be Outrigger\'s)',
  ]);
  assert.deepEqual(
    ((d.pod.spec as JsonObject).containers as JsonObject[]).map((c) => c.name),
    ['app', 'gone', ...theirs, 'agent'],
  );
});

test('exactly five names are all shown, and a name over 63 characters is cut', () => {
  const theirs = ['c1', 'c2', 'c3', 'c4', LONG];
  const d = inject(podClaiming([{ name: 'ghost', version: '1', hash: 'h', mode: 'classic', containers: theirs, labels: [] }], theirs), set, ctx);
  assert.equal(
    d.warnings[0],
    `the status record claims for a profile that does not exist, and it names "c1", "c2", "c3", "c4", "${'x'.repeat(63)}…": left in the pod (it may not be Outrigger's)`,
  );
});

test('what a claim names in targets counts too; a claim that names nothing is not warned about', () => {
  const d = inject(
    podClaiming(
      [
        { name: 'ghost', version: '1', hash: 'h', mode: 'classic', targets: { app: { env: ['E'], volumeMounts: ['/m'] } }, initTargets: { i: { env: ['F'] } } },
        { name: 'empty', version: '1', hash: 'h', mode: 'classic' },
      ],
      [],
    ),
    set,
    ctx,
  );
  assert.deepEqual(d.warnings, [
    'the status record claims for a profile that does not exist, and it names "E", "/m", "F": left in the pod (it may not be Outrigger\'s)',
  ]);
});

describe('what of a record may be removed', () => {
  const agent = set.byName.get('agent') as SidecarProfile;
  const current = profilesFromYaml(
    profileYaml('agent', {
      version: '2',
      sidecarMode: 'classic',
      containers: [{ name: 'agent', image: 'a:2' }],
      initContainers: [{ name: 'agent-init', image: 'a:2' }],
      volumes: [{ name: 'data', emptyDir: {} }],
      imagePullSecrets: [{ name: 'registry' }],
      env: [{ name: 'E', value: '1' }],
      envFrom: [{ configMapRef: { name: 'settings' } }],
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
      metadata: { labels: { team: 'a' }, annotations: { 'example.com/a': 'x' } },
    }),
  );

  test('an entry of the current version is trusted as it is, whatever it names', () => {
    const r = { name: 'agent', version: '2', hash: agent.hash, mode: 'classic' as const, containers: ['agent', 'extra'], targets: { app: { env: ['X'] } } };
    const scope = recordScope({ v: 1, profiles: [r], created: ['spec.containers[app].env'] }, set);
    assert.deepEqual(scope.removable, { v: 1, profiles: [r], created: ['spec.containers[app].env'] });
    assert.deepEqual(scope.warnings, []);
  });

  test('an entry of an unknown profile removes nothing, and every list it names is in the warning', () => {
    const ghost = {
      name: 'ghost',
      version: '1',
      hash: 'h',
      mode: 'classic' as const,
      containers: ['c'],
      initContainers: ['i'],
      volumes: ['v'],
      imagePullSecrets: ['s'],
      labels: ['l'],
      annotations: ['a'],
      targets: { app: { volumeMounts: ['/m'] } },
    };
    const scope = recordScope({ v: 1, profiles: [ghost] }, set);
    assert.deepEqual(scope.removable.profiles, [{ name: 'ghost', version: '1', hash: 'h', mode: 'classic' }]);
    assert.deepEqual(scope.warnings, [
      'the status record claims for a profile that does not exist, and it names "c", "i", "v", "s", "l", and 2 more: left in the pod (it may not be Outrigger\'s)',
    ]);
    const mountsOnly = recordScope(
      { v: 1, profiles: [{ name: 'ghost', version: '1', hash: 'h', mode: 'classic', targets: { app: { volumeMounts: ['/m'] } } }] },
      set,
    );
    assert.deepEqual(mountsOnly.warnings, [
      'the status record claims for a profile that does not exist, and it names "/m": left in the pod (it may not be Outrigger\'s)',
    ]);
  });

  test('an entry of an older version is cut to what the current version adds, in every list and target', () => {
    const settings = { configMapRef: { name: 'settings' } };
    const old = {
      name: 'agent',
      version: '1',
      hash: 'old',
      mode: 'classic' as const,
      containers: ['agent', 'helper'],
      initContainers: ['agent-init'],
      volumes: ['data', 'cache'],
      imagePullSecrets: ['registry'],
      labels: ['team'],
      annotations: ['example.com/a'],
      targets: { app: { env: ['E', 'OLD'], volumeMounts: ['/data'], envFrom: [settings, { secretRef: { name: 'old' } }] } },
      initTargets: { setup: { env: ['E'] } },
    };
    const scope = recordScope({ v: 1, profiles: [old] }, current);
    assert.deepEqual(scope.removable.profiles, [
      {
        name: 'agent',
        version: '1',
        hash: 'old',
        mode: 'classic',
        containers: ['agent'],
        initContainers: ['agent-init'],
        volumes: ['data'],
        imagePullSecrets: ['registry'],
        labels: ['team'],
        annotations: ['example.com/a'],
        targets: { app: { env: ['E'], volumeMounts: ['/data'], envFrom: [settings] } },
        initTargets: { setup: { env: ['E'], volumeMounts: [], envFrom: [] } },
      },
    ]);
    assert.deepEqual(scope.warnings, [
      'the status record claims for version "1", and the current version does not add "helper", "cache", "OLD": left in the pod (it may not be Outrigger\'s)',
    ]);
  });

  test('a name of exactly 63 characters is shown whole', () => {
    const name = 'y'.repeat(63);
    const scope = recordScope({ v: 1, profiles: [{ name: 'ghost', version: '1', hash: 'h', mode: 'classic', containers: [name] }] }, set);
    assert.deepEqual(scope.warnings, [
      `the status record claims for a profile that does not exist, and it names "${name}": left in the pod (it may not be Outrigger's)`,
    ]);
  });
});
