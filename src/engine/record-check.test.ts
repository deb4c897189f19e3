/**
 * A record the pod does not hold is ignored, and the warning says the first thing that does not
 * match: one edit at a time on an injected pod, through inject().
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import type { JsonObject } from '../common/json.ts';
import { inject } from './inject.ts';

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
