/** Profiles and pods for the policy-mode e2e test: each pod reaches a rule of selection or merge. */
import type { Pod } from './policy-support.ts';

export const doc = (name: string, spec: object) =>
  `${JSON.stringify({ apiVersion: 'outrigger.dev/v1alpha1', kind: 'SidecarProfile', metadata: { name }, spec })}\n`;

/** Native sidecar and init container, everything targeted, selected for the served namespace's pods. */
export const AGENT = doc('agent', {
  version: '1.0.0',
  selector: {
    namespaceSelector: { matchLabels: { 'e2e.outrigger.dev/tier': 'apps' } },
    podSelector: { matchExpressions: [{ key: 'e2e.outrigger.dev/no-agent', operator: 'DoesNotExist' }] },
  },
  initContainers: [{ name: 'agent-init', image: 'example.com/agent-init:1.0.0', command: ['sh', '-c', 'true'] }],
  containers: [
    {
      name: 'agent',
      image: 'example.com/agent:1.0.0',
      args: [
        "--app={{ pod.labels['app'] ?? 'none' }}",
        '--at={{ namespace.name }}/{{ pod.namespace }}',
        "--note={{ pod.annotations['e2e.outrigger.dev/note'] ?? '' }}",
      ],
      resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } },
      volumeMounts: [{ name: 'agent-data', mountPath: '/var/run/agent' }],
      readinessProbe: { exec: { command: ['true'] } },
    },
  ],
  volumes: [{ name: 'agent-data', emptyDir: {} }],
  volumeMounts: [{ name: 'agent-data', mountPath: '/var/run/agent' }],
  env: [
    { name: 'AGENT_SOCKET', value: '/var/run/agent/agent.sock' },
    { name: 'AGENT_NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    {
      name: 'AGENT_FOR',
      value:
        "{{ profile.name }}@{{ profile.version }}: {{ pod.generateName ?? 'named' }} as {{ pod.serviceAccountName ?? 'no-sa' }} in {{ namespace.labels['e2e.outrigger.dev/tier'] }}",
    },
  ],
  envFrom: [{ configMapRef: { name: 'agent-config', optional: true } }],
  targets: ['*'],
  initContainerTargets: ['*'],
  imagePullSecrets: [{ name: 'agent-pull' }],
  metadata: {
    labels: { 'agent.example.com/injected': 'true' },
    annotations: { 'agent.example.com/version': '1.0.0', 'agent.example.com/sa': "{{ pod.serviceAccountName ?? 'none' }}" },
  },
});

/** Classic sidecar, keep-pod, failurePolicy ignore, a few globs, only on request; its label `app` clashes with many corpus pods. */
export const KEEPER = doc('keeper', {
  version: '2',
  failurePolicy: 'ignore',
  sidecarMode: 'classic',
  conflictPolicy: 'keep-pod',
  overrides: { imageTag: true },
  containers: [{ name: 'keeper', image: 'example.com/keeper:2', args: ['--port=9000'], ports: [{ name: 'keeper', containerPort: 9000 }] }],
  volumes: [{ name: 'keeper-cache', emptyDir: { medium: 'Memory' } }],
  volumeMounts: [{ name: 'keeper-cache', mountPath: '/cache' }],
  env: [
    { name: 'KEEPER', value: 'on' },
    { name: 'KEEPER_POD', value: "{{ pod.generateName ?? 'named' }}.{{ namespace.labels['e2e.outrigger.dev/tier'] ?? 'none' }}" },
  ],
  targets: ['app*', '?eb', 'main', 'nginx'],
  imagePullSecrets: [{ name: 'agent-pull' }],
  metadata: { labels: { app: 'keeper' }, annotations: { 'keeper.example.com/on': 'yes' } },
});

/** A template reading pod.name: refused. */
export const REFUSED = doc('refused', {
  version: '1',
  containers: [{ name: 'templated', image: 'example.com/t:1', env: [{ name: 'APP', value: '{{ pod.name }}' }] }],
});

export const pod = (name: string, spec: object, meta: object = {}): { where: string; pod: Pod } => ({
  where: `crafted ${name}`,
  pod: { metadata: { name, ...meta }, spec: spec as Pod['spec'] },
});
export const app = (extra: object = {}) => ({ name: 'app', image: 'busybox', ...extra });
const asks = (list: string, meta: object = {}) => ({ annotations: { 'outrigger.dev/inject': list }, ...meta });

export const CRAFTED: { where: string; pod: Pod }[] = [
  pod('plain', { containers: [app()] }),
  pod('opted-out', { containers: [app()] }, asks(' FALSE ')),
  pod('true-is-no-request', { containers: [app()] }, asks('true', { labels: { 'e2e.outrigger.dev/no-agent': '1' } })),
  pod('not-selected', { containers: [app()] }, { labels: { 'e2e.outrigger.dev/no-agent': '' } }),
  pod('requested-though-not-selected', { containers: [app()] }, asks(' x, ,agent,agent,keeper', { labels: { 'e2e.outrigger.dev/no-agent': '1' } })),
  pod('js-whitespace-trimmed', { containers: [app()] }, asks('\u00a0agent\ufeff,\u2003keeper\t', { labels: { 'e2e.outrigger.dev/no-agent': '1' } })),
  pod('nel-is-not-whitespace', { containers: [app()] }, asks('\u0085agent,\u0085keeper', { labels: { 'e2e.outrigger.dev/no-agent': '1' } })),
  pod(
    'past-the-64th-name',
    { containers: [app()] },
    asks(`${Array.from({ length: 70 }, (_, i) => `n${i}`).join(',')},agent,keeper`, { labels: { 'e2e.outrigger.dev/no-agent': '1' } }),
  ),
  pod(
    '64th-name',
    { containers: [app()] },
    asks(`${Array.from({ length: 63 }, (_, i) => `n${i % 40}, n${i}`).join(',')},agent,keeper`, { labels: { 'e2e.outrigger.dev/no-agent': '1' } }),
  ),
  pod('label-clash', { containers: [app()] }, { labels: { 'agent.example.com/injected': 'no', app: 'web' } }),
  pod('annotation-clash', { containers: [app()] }, { annotations: { 'agent.example.com/version': '0', 'keeper.example.com/on': 'no' } }),
  pod('image-tag-override', { containers: [app()] }, { annotations: { 'outrigger.dev/agent.image-tag': '2', 'outrigger.dev/keeper.image-tag': '3' } }),
  pod('resources-override', { containers: [app()] }, { annotations: { 'outrigger.dev/agent.resources': '{}', 'outrigger.dev/keeper.resources': '{}' } }),
  pod('env-clash', {
    containers: [
      app({
        env: [
          { name: 'AGENT_SOCKET', value: 'x' },
          { name: 'KEEPER', value: 'off' },
        ],
      }),
    ],
  }),
  pod('env-identical-last-counts', {
    containers: [
      app({
        env: [
          { name: 'AGENT_SOCKET', value: 'x' },
          { name: 'AGENT_SOCKET', value: '/var/run/agent/agent.sock' },
          { name: 'KEEPER', value: 'on' },
        ],
      }),
    ],
  }),
  pod('mount-clash', {
    containers: [
      app({
        volumeMounts: [
          { name: 'own', mountPath: '/var/run/agent' },
          { name: 'own', mountPath: '/cache' },
        ],
      }),
    ],
    volumes: [{ name: 'own', emptyDir: {} }],
  }),
  pod('identical-items', {
    containers: [
      app({ envFrom: [{ configMapRef: { name: 'agent-config', optional: true } }], volumeMounts: [{ name: 'agent-data', mountPath: '/var/run/agent' }] }),
    ],
    volumes: [{ name: 'agent-data', emptyDir: {} }],
    imagePullSecrets: [{ name: 'agent-pull' }],
  }),
  pod('volume-clash', {
    containers: [app()],
    volumes: [
      { name: 'agent-data', configMap: { name: 'x' } },
      { name: 'keeper-cache', emptyDir: {} },
    ],
  }),
  pod('sidecar-name-as-init', { initContainers: [{ name: 'keeper', image: 'busybox' }], containers: [app()] }),
  pod('sidecar-name-as-container', { containers: [app(), { name: 'agent', image: 'busybox' }] }),
  pod('init-name-clash', { initContainers: [{ name: 'agent-init', image: 'busybox' }], containers: [app()] }),
  pod('numeric-names', {
    initContainers: [{ name: '3', image: 'busybox' }],
    containers: [
      app(),
      { name: '10', image: 'busybox' },
      { name: '2', image: 'busybox' },
      { name: 'web', image: 'busybox' },
      { name: '007', image: 'busybox' },
    ],
  }),
  pod('globs', {
    containers: [
      { name: 'main', image: 'busybox' },
      { name: 'apple', image: 'busybox' },
      { name: 'deb', image: 'busybox' },
      { name: 'other', image: 'busybox' },
    ],
  }),
  pod('many-inits', {
    initContainers: [
      { name: 'a', image: 'busybox' },
      { name: 'b', image: 'busybox' },
    ],
    containers: [app({ env: [] })],
  }),
  { where: 'crafted generate-name', pod: { metadata: { generateName: 'gen-' }, spec: { containers: [app()] } } },
  pod('job-like', { restartPolicy: 'Never', containers: [app()] }),
  pod('bad-image-tag', { containers: [app()] }, { annotations: { 'outrigger.dev/keeper.image-tag': 'bad "tag"\n\\x' } }),
  pod('long-image-tag', { containers: [app()] }, { annotations: { 'outrigger.dev/keeper.image-tag': 'v'.repeat(130) } }),
  pod('astral-image-tag', { containers: [app()] }, { annotations: { 'outrigger.dev/keeper.image-tag': '😀'.repeat(65) } }),
  pod('longest-image-tag', { containers: [app()] }, { annotations: { 'outrigger.dev/keeper.image-tag': `_${'v'.repeat(127)}` } }),
  pod(
    'template-values',
    { serviceAccountName: 'builder', containers: [app()] },
    { labels: { app: 'shop', team: 'checkout' }, annotations: { 'e2e.outrigger.dev/note': 'he said "hi"\n\\ ü 😀 {{ x }}' } },
  ),
];

/**
 * A set of three profiles whose order (spec.order) is not their names' order: zeta (10, native
 * sidecar and init container, keep-pod, selected), alpha (20, classic sidecar, conflictPolicy
 * fail, a value rule, selected unless labelled), mid (30, init container, init containers
 * targeted, on request or selected by a label). They target the same containers with different
 * env, and each list zeta creates in a bare pod alpha and mid append to.
 */
export const SET = [
  doc('zeta', {
    version: '1',
    order: 10,
    conflictPolicy: 'keep-pod',
    selector: { namespaceSelector: { matchLabels: { 'e2e.outrigger.dev/tier': 'apps' } } },
    initContainers: [{ name: 'zeta-init', image: 'example.com/zeta-init:1' }],
    containers: [{ name: 'zeta', image: 'example.com/zeta:1', args: ["--app={{ pod.labels['app'] ?? 'none' }}"] }],
    volumes: [{ name: 'zeta-data', emptyDir: {} }],
    volumeMounts: [{ name: 'zeta-data', mountPath: '/zeta' }],
    env: [{ name: 'ZETA', value: 'on' }],
    envFrom: [{ configMapRef: { name: 'zeta-config', optional: true } }],
    targets: ['*'],
    initContainerTargets: ['*'],
    imagePullSecrets: [{ name: 'zeta-pull' }],
    metadata: { labels: { 'zeta.example.com/on': 'true' }, annotations: { 'zeta.example.com/v': '1' } },
  }),
  doc('alpha', {
    version: '2',
    order: 20,
    sidecarMode: 'classic',
    selector: {
      namespaceSelector: { matchLabels: { 'e2e.outrigger.dev/tier': 'apps' } },
      podSelector: { matchExpressions: [{ key: 'e2e.outrigger.dev/no-alpha', operator: 'DoesNotExist' }] },
    },
    containers: [{ name: 'alpha', image: 'example.com/alpha:2' }],
    volumes: [{ name: 'alpha-data', emptyDir: {} }],
    volumeMounts: [{ name: 'alpha-data', mountPath: '/alpha' }],
    env: [{ name: 'ALPHA', value: "{{ pod.labels['team'] ?? 'none' | dns-label }}" }],
    targets: ['app*', 'main', 'nginx', 'web'],
    imagePullSecrets: [{ name: 'alpha-pull' }],
    metadata: { labels: { 'alpha.example.com/on': 'true' } },
  }),
  doc('mid', {
    version: '3',
    order: 30,
    selector: { podSelector: { matchLabels: { 'e2e.outrigger.dev/mid': 'yes' } } },
    initContainers: [{ name: 'mid-init', image: 'example.com/mid-init:3' }],
    volumes: [{ name: 'mid-data', emptyDir: {} }],
    volumeMounts: [{ name: 'mid-data', mountPath: '/mid' }],
    env: [{ name: 'MID', value: 'on' }],
    targets: ['*'],
    initContainerTargets: ['*'],
    metadata: { annotations: { 'mid.example.com/v': '3' } },
  }),
].join('---\n');

const mid = { 'e2e.outrigger.dev/mid': 'yes' };
/** Pods that reach the set's rules: which profiles are wanted, and how each meets the pod. */
export const SET_CRAFTED: { where: string; pod: Pod }[] = [
  pod('set-bare', { containers: [app()] }),
  pod('set-all-three', { containers: [app(), { name: 'web', image: 'busybox' }] }, { labels: mid }),
  pod('set-requested', { containers: [app()] }, asks('mid, zeta')),
  pod('set-alpha-not-selected', { containers: [app()] }, { labels: { ...mid, 'e2e.outrigger.dev/no-alpha': '1' } }),
  pod('set-alpha-conflict', { containers: [app()], volumes: [{ name: 'alpha-data', configMap: { name: 'x' } }] }, { labels: mid }),
  pod('set-alpha-env-conflict', { containers: [app({ env: [{ name: 'ALPHA', value: 'mine' }] })] }),
  pod(
    'set-alpha-and-mid-conflict',
    {
      containers: [
        app({
          volumeMounts: [
            { name: 'v', mountPath: '/alpha' },
            { name: 'v', mountPath: '/mid' },
          ],
        }),
      ],
      volumes: [{ name: 'v', emptyDir: {} }],
    },
    { labels: mid },
  ),
  pod('set-zeta-kept', { containers: [app({ env: [{ name: 'ZETA', value: 'mine' }] })] }, { labels: { ...mid, 'zeta.example.com/on': 'no' } }),
  pod('set-zeta-volume-kept', { containers: [app()], volumes: [{ name: 'zeta-data', configMap: { name: 'x' } }] }, { labels: mid }),
  pod(
    'set-lists-exist',
    {
      initContainers: [{ name: 'own-init', image: 'busybox' }],
      containers: [app({ env: [], volumeMounts: [] })],
      volumes: [],
      imagePullSecrets: [{ name: 'own' }],
    },
    { labels: mid, annotations: { own: 'x' } },
  ),
  pod(
    'set-zeta-identical',
    { containers: [app({ env: [{ name: 'ZETA', value: 'on' }] })], imagePullSecrets: [{ name: 'zeta-pull' }] },
    { labels: { ...mid, 'zeta.example.com/on': 'true' } },
  ),
  pod('set-unknown', { containers: [app()] }, asks('zeta,nope')),
  pod('set-alpha-rule', { containers: [app()] }, { labels: { ...mid, team: `Check_Out.${'x'.repeat(40)}` } }),
  pod('set-resources-override', { containers: [app()] }, { annotations: { 'outrigger.dev/mid.resources': '{}' }, labels: mid }),
];
