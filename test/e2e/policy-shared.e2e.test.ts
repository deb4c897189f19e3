/**
 * A set whose profiles add the same pod-level items (a volume, a pull secret, a label, an
 * annotation, a container name) and give the same containers the same env names, mountPaths and
 * envFrom sources, proven on a real kube-apiserver: the engine merges each profile
 * into the pod the ones before it left, so a later profile finds an earlier one's item and
 * settles it as the pod's own (identical: left alone; different: denied or kept, as its
 * conflictPolicy says). Every pod is created with the compiled policies and compared field for
 * field with the engine's (the differential of policy-support.ts); denials by message.
 *
 *   E2E_KUBE=1.37 ./node_modules/.bin/node --test --test-reporter=spec test/e2e/policy-shared.e2e.test.ts
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { INJECTION_LABEL, STATUS_ANNOTATION } from '../../src/common/labels.ts';
import { FIRST_POLICY_MINOR } from '../../src/policy/refusals.ts';
import { loadProfiles } from '../../src/profiles/load.ts';
import { runCli } from '../support/run-cli.ts';
import { type ControlPlane, e2eAvailability, kubernetesVersion, startControlPlane } from './harness.ts';
import { differential, install, type Pod, policyDocuments, until, type Verdict } from './policy-support.ts';

const MINOR = Number(kubernetesVersion().replace(/^v1\.(\d+)\..*$/, '$1'));
const tooOld = `policy mode needs Kubernetes 1.${FIRST_POLICY_MINOR}; this server is ${kubernetesVersion()}: E2E_KUBE=1.37 runs it`;
const skip = MINOR < FIRST_POLICY_MINOR ? tooOld : (await e2eAvailability()).skip;

const NS = { baseline: 'shared-baseline', served: 'shared-served' };
const SERVED_LABELS = { [INJECTION_LABEL]: 'enabled', 'e2e.outrigger.dev/tier': 'apps' };
const TIER = { namespaceSelector: { matchLabels: { 'e2e.outrigger.dev/tier': 'apps' } } };
const MEMBER = 'mesh.example.com/member';
const OWNER = 'example.com/owner';

const doc = (name: string, spec: object) => JSON.stringify({ apiVersion: 'outrigger.dev/v1alpha1', kind: 'SidecarProfile', metadata: { name }, spec });
/** base, then extra (the same volume, pull secret and label; the owner annotation templated), then third (keep-pod, on a label, every shared item different). */
const SET = [
  doc('base', {
    version: '1',
    order: 10,
    selector: { ...TIER, podSelector: { matchExpressions: [{ key: 'e2e.outrigger.dev/no-base', operator: 'DoesNotExist' }] } },
    containers: [{ name: 'agent', image: 'example.com/agent:1' }],
    volumes: [{ name: 'shared-data', emptyDir: {} }],
    imagePullSecrets: [{ name: 'registry' }],
    metadata: { labels: { [MEMBER]: 'true' }, annotations: { [OWNER]: 'platform' } },
    env: [
      { name: 'MESH', value: 'on' },
      { name: 'OWNER', value: 'platform' },
    ],
    envFrom: [{ configMapRef: { name: 'mesh', optional: true } }],
    volumeMounts: [{ name: 'shared-data', mountPath: '/shared' }],
    targets: ['*'],
  }),
  doc('extra', {
    version: '1',
    order: 20,
    sidecarMode: 'classic',
    selector: TIER,
    containers: [{ name: 'helper', image: 'example.com/helper:1', volumeMounts: [{ name: 'shared-data', mountPath: '/data' }] }],
    volumes: [
      { name: 'shared-data', emptyDir: {} },
      { name: 'extra-cache', emptyDir: { medium: 'Memory' } },
    ],
    imagePullSecrets: [{ name: 'registry' }],
    metadata: { labels: { [MEMBER]: 'true' }, annotations: { [OWNER]: "{{ pod.labels['owner'] ?? 'platform' }}" } },
    env: [
      { name: 'MESH', value: 'on' },
      { name: 'OWNER', value: "{{ pod.labels['owner'] ?? 'platform' }}" },
      { name: 'EXTRA', value: 'on' },
    ],
    envFrom: [{ configMapRef: { name: 'mesh', optional: true } }, { secretRef: { name: 'extra', optional: true } }],
    volumeMounts: [{ name: 'shared-data', mountPath: '/shared' }],
    targets: ['app*'],
  }),
  doc('third', {
    version: '1',
    order: 30,
    conflictPolicy: 'keep-pod',
    selector: { ...TIER, podSelector: { matchLabels: { third: 'yes' } } },
    initContainers: [{ name: 'helper', image: 'example.com/third-helper:1' }],
    containers: [{ name: 'agent', image: 'example.com/agent:1' }],
    volumes: [{ name: 'shared-data', emptyDir: { medium: 'Memory' } }],
    imagePullSecrets: [{ name: 'registry' }],
    metadata: { labels: { [MEMBER]: 'false' } },
    env: [{ name: 'MESH', value: 'off' }],
    volumeMounts: [{ name: 'shared-data', mountPath: '/shared' }],
    targets: ['*'],
  }),
].join('\n---\n');

const app = { name: 'app', image: 'busybox' };
const web = { name: 'web', image: 'busybox' };
const pod = (name: string, labels: Record<string, string> = {}, spec: object = {}): Pod => ({
  metadata: { name, labels },
  spec: { containers: [app], ...spec },
});
const PODS: { pod: Pod; outcome: Verdict['outcome']; profiles?: string[] }[] = [
  { pod: pod('bare'), outcome: 'injected', profiles: ['base', 'extra'] },
  { pod: pod('owner-same', { owner: 'platform' }), outcome: 'injected', profiles: ['base', 'extra'] },
  // extra's annotation renders differently from base's: extra (fail) meets base's and denies.
  { pod: pod('owner-other', { owner: 'team-a' }), outcome: 'denied' },
  { pod: pod('own-volume-same', {}, { volumes: [{ name: 'shared-data', emptyDir: {} }] }), outcome: 'injected', profiles: ['base', 'extra'] },
  { pod: pod('own-volume-other', {}, { volumes: [{ name: 'shared-data', hostPath: { path: '/tmp' } }] }), outcome: 'denied' },
  { pod: pod('own-pull-secret', {}, { imagePullSecrets: [{ name: 'registry' }] }), outcome: 'injected', profiles: ['base', 'extra'] },
  { pod: pod('own-member-other', { [MEMBER]: 'false' }), outcome: 'denied' },
  // Without base, extra adds the shared items itself.
  { pod: pod('no-base', { 'e2e.outrigger.dev/no-base': 'x' }), outcome: 'injected', profiles: ['extra'] },
  // third finds base's sidecar, extra's classic container named like its init container, and
  // different shared items: keep-pod keeps them all; only what is its own alone is added.
  { pod: pod('third', { third: 'yes' }), outcome: 'injected', profiles: ['base', 'extra', 'third'] },
  { pod: pod('third-no-base', { third: 'yes', 'e2e.outrigger.dev/no-base': 'x' }), outcome: 'injected', profiles: ['extra', 'third'] },
  { pod: pod('third-owner-other', { third: 'yes', owner: 'team-a' }), outcome: 'denied' },
  // Targeted keys: extra targets app* only, base every container; a container's own MESH decides for both.
  { pod: pod('two-containers', {}, { containers: [app, web] }), outcome: 'injected', profiles: ['base', 'extra'] },
  { pod: pod('third-two-containers', { third: 'yes' }, { containers: [app, web] }), outcome: 'injected', profiles: ['base', 'extra', 'third'] },
  { pod: pod('own-mesh-same', {}, { containers: [{ ...app, env: [{ name: 'MESH', value: 'on' }] }, web] }), outcome: 'injected', profiles: ['base', 'extra'] },
  { pod: pod('own-mesh-other', {}, { containers: [app, { ...web, env: [{ name: 'MESH', value: 'off' }] }] }), outcome: 'denied' },
  {
    pod: pod('own-envfrom', {}, { containers: [{ ...app, envFrom: [{ secretRef: { name: 'extra', optional: true } }] }] }),
    outcome: 'injected',
    profiles: ['base', 'extra'],
  },
  { pod: pod('no-base-targets', { 'e2e.outrigger.dev/no-base': 'x' }, { containers: [app, web] }), outcome: 'injected', profiles: ['extra'] },
];

describe('policy mode: profiles of a set that add the same items, on a real kube-apiserver', { skip }, () => {
  let cp: ControlPlane;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outrigger-policy-shared-e2e-'));
    writeFileSync(join(dir, 'set.yaml'), SET);
    cp = await startControlPlane();
    await cp.createNamespace(NS.baseline);
    await cp.createNamespace(NS.served, SERVED_LABELS);
  });
  after(async () => {
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('each pod as the engine makes it: shared items added once, identical ones left, different ones denied or kept', async () => {
    const cli = await runCli(['policy', '--profiles', join(dir, 'set.yaml'), '--kube-version', `1.${MINOR}`]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(cli.stderr, '', 'no profile of the set is refused');
    await install(cp, policyDocuments(cli.stdout));
    await until(cp, NS.served, pod('probe'), (s, p) => s === 201 && p.metadata.annotations?.[STATUS_ANNOTATION] !== undefined, 'the set policy');
    // Each policy takes effect on its own: the validating one denies a conflict once it has.
    await until(cp, NS.served, pod('probe', { [MEMBER]: 'false' }), (s) => s === 403, "the set's validating policy");
    const servedLabels = (await cp.request<{ metadata: { labels: Record<string, string> } }>('GET', `/api/v1/namespaces/${NS.served}`)).body.metadata.labels;
    const set = await loadProfiles([join(dir, 'set.yaml')]);
    const d = { cp, baseline: NS.baseline, served: NS.served, servedLabels, set, kubeMinor: MINOR };
    const problems: string[] = [];
    for (const want of PODS) {
      const v = await differential(d, want.pod);
      const name = want.pod.metadata.name;
      if (v.problem) problems.push(`${name}: ${v.problem}`);
      else if (v.outcome !== want.outcome) problems.push(`${name}: ${v.outcome}, expected ${want.outcome}`);
      else if (want.profiles) {
        const record = JSON.parse(v.made?.metadata.annotations?.[STATUS_ANNOTATION] ?? '{}') as { profiles?: { name: string }[] };
        const got = (record.profiles ?? []).map((p) => p.name);
        if (got.join() !== want.profiles.join()) problems.push(`${name}: record names ${got.join(', ')}, expected ${want.profiles.join(', ')}`);
      }
      if (name === 'bare' && v.made) {
        // The shared volume, pull secret and label are there once.
        const spec = v.made.spec as { volumes: { name: string }[]; imagePullSecrets: { name: string }[] };
        assert.deepEqual(
          spec.volumes.map((x) => x.name),
          ['shared-data', 'extra-cache'],
        );
        assert.deepEqual(
          spec.imagePullSecrets.map((x) => x.name),
          ['registry'],
        );
      }
    }
    assert.deepEqual(problems, []);
  });
});
