/**
 * Engine cost per pod, as a ratio to the webhook's floor: one JSON.parse + JSON.stringify of the same
 * pod in the same process (the webhook has to parse the request and write a response anyway).
 *
 *   ./node_modules/.bin/node bench/engine.ts              # every case
 *   ./node_modules/.bin/node bench/engine.ts small large   # some cases (small, large, growth)
 *   BENCH_SECONDS=1 ./node_modules/.bin/node bench/engine.ts
 *
 * Profiles: the examples, with log-shipper and envoy requested (Kubernetes 1.33: envoy is a native
 * sidecar, log-shipper's env and mount go into every app container). Timing is time-bounded: a
 * warm-up, then alternating rounds of the engine and the baseline, each made of short batches; mean
 * is total time / operations, median is the median of the per-batch ns/op. Prints, never asserts.
 */
import { readFileSync } from 'node:fs';
import type { JsonObject } from '../src/common/json.ts';
import { inject } from '../src/engine/inject.ts';
import { profileSet } from '../src/engine/profile.ts';
import { parseProfiles } from '../src/profiles/parse.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const TARGET_RATIO = 3;

// ---------------------------------------------------------------------------------------------
// Inputs

const dir = new URL('../examples/profiles/', import.meta.url);
const loaded = parseProfiles(
  ['envoy.yaml', 'log-shipper.yaml', 'secrets-agent.yaml'].map((f) => readFileSync(new URL(f, dir), 'utf8')).join('\n---\n'),
  'examples/profiles',
);
if (loaded.errors.length > 0) throw new Error(loaded.errors.join('\n'));
const profiles = profileSet(loaded.profiles);
const ctx = {
  namespace: 'shop',
  namespaceLabels: { 'kubernetes.io/metadata.name': 'shop', 'outrigger.dev/injection': 'enabled' },
  kubeVersion: { major: 1, minor: 33 },
};

function metadata(): JsonObject {
  return {
    generateName: 'checkout-7d9f8b6c5-',
    namespace: 'shop',
    labels: {
      app: 'checkout',
      'app.kubernetes.io/name': 'checkout',
      'app.kubernetes.io/part-of': 'shop',
      'pod-template-hash': '7d9f8b6c5',
      tier: 'web',
    },
    annotations: {
      'outrigger.dev/inject': 'log-shipper, envoy',
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '9090',
    },
    ownerReferences: [
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: 'checkout-7d9f8b6c5',
        uid: '6f1c2a9e-5b0d-4c47-9e51-2a8d3f0b7c11',
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
}

function appContainer(name: string, envCount: number): JsonObject {
  return {
    name,
    image: `registry.example.com/shop/${name}:1.8.3`,
    imagePullPolicy: 'IfNotPresent',
    args: ['--listen=:8080', '--metrics=:9090'],
    ports: [
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ],
    env: Array.from({ length: envCount }, (_, i) => ({ name: `SETTING_${String(i).padStart(3, '0')}`, value: `value-${i}-of-the-setting` })),
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
    readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5 },
    livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, initialDelaySeconds: 10 },
    volumeMounts: [
      { name: 'config', mountPath: '/etc/checkout', readOnly: true },
      { name: 'kube-api-access-x7k2p', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
    ],
    securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  };
}

function pod(containers: number, envPerContainer: number): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: metadata(),
    spec: {
      serviceAccountName: 'checkout',
      containers: Array.from({ length: containers }, (_, i) => appContainer(containers === 1 ? 'checkout' : `checkout-${i}`, envPerContainer)),
      volumes: [
        { name: 'config', configMap: { name: 'checkout', defaultMode: 420 } },
        {
          name: 'kube-api-access-x7k2p',
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            ],
          },
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      schedulerName: 'default-scheduler',
      enableServiceLinks: true,
      priority: 0,
    },
  };
}

/** One app container with 16 env vars, as a Deployment creates it: about 3 KB of JSON. */
const SMALL = pod(1, 16);
/** 20 containers with 100 env vars each. */
const LARGE_CONTAINERS = 20;
const large = (factor: number) => pod(LARGE_CONTAINERS * factor, 100);

// ---------------------------------------------------------------------------------------------
// Timing

interface Stats {
  /** Wall-clock ns/op: total time / operations. */
  mean: number;
  /** Wall-clock ns/op: median over batches. */
  median: number;
  /**
   * This thread's CPU ns/op: total CPU time / operations (CPU time is accounted in scheduler ticks, too
   * coarse for one batch, so this is a mean over the whole run). It is what the work costs, whatever
   * else the machine runs.
   */
  cpu: number;
  ops: number;
}

interface Samples {
  wall: number[];
  ops: number;
  ns: number;
  cpuNs: number;
}

let sink = 0;

const threadCpuNs = () => {
  const u = process.threadCpuUsage();
  return (u.user + u.system) * 1000;
};

/** Runs `fn` in batches of about 2 ms for `ms` milliseconds, recording wall-clock ns/op per batch and the thread's CPU time. */
function run(fn: () => number, ms: number, into: Samples): void {
  let batch = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) sink += fn();
    if (Number(process.hrtime.bigint() - t0) > 2e6 || batch > 1e6) break;
    batch *= 2;
  }
  const c0 = threadCpuNs();
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) sink += fn();
    const dt = Number(process.hrtime.bigint() - t0);
    into.wall.push(dt / batch);
    into.ops += batch;
    into.ns += dt;
  }
  into.cpuNs += threadCpuNs() - c0;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const empty = (): Samples => ({ wall: [], ops: 0, ns: 0, cpuNs: 0 });

/** Warm-up, then `rounds` alternating rounds of each function, so drift, GC and neighbours hit both alike. */
function compare(fns: Record<string, () => number>, seconds: number, rounds = 4): Record<string, Stats> {
  const names = Object.keys(fns);
  const perRound = (seconds * 1000) / (rounds * names.length);
  for (const n of names) run(fns[n] as () => number, Math.min(500, perRound), empty());
  const acc = new Map(names.map((n) => [n, empty()]));
  for (let r = 0; r < rounds; r++) for (const n of names) run(fns[n] as () => number, perRound, acc.get(n) as Samples);
  return Object.fromEntries([...acc].map(([n, a]) => [n, { mean: a.ns / a.ops, median: median(a.wall), cpu: a.cpuNs / a.ops, ops: a.ops }]));
}

function engineFn(p: JsonObject): () => number {
  const d = inject(p, profiles, ctx);
  if (d.outcome !== 'injected' || d.profiles.filter((o) => o.reason === 'injected').length !== 2) {
    throw new Error(`benchmark pod was not injected with both profiles: ${d.message} ${JSON.stringify(d.profiles)}`);
  }
  return () => inject(p, profiles, ctx).patch.length;
}

function floorFn(text: string): () => number {
  return () => JSON.stringify(JSON.parse(text)).length;
}

// ---------------------------------------------------------------------------------------------
// Report

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const wanted = new Set(process.argv.slice(2));
const want = (name: string) => wanted.size === 0 || wanted.has(name);

console.log(`node ${process.version}, ${SECONDS}s per case, profiles: log-shipper + envoy (Kubernetes ${ctx.kubeVersion.major}.${ctx.kubeVersion.minor})\n`);

const ratioRows: string[][] = [];
for (const [name, p] of [
  ['small', SMALL],
  ['large', large(1)],
] as const) {
  if (!want(name)) continue;
  const text = JSON.stringify(p);
  const ops = inject(p, profiles, ctx).patch.length;
  const r = compare({ engine: engineFn(p), floor: floorFn(text) }, SECONDS);
  const e = r.engine as Stats;
  const f = r.floor as Stats;
  const ratio = e.cpu / f.cpu;
  ratioRows.push([
    name,
    fmt(text.length / 1024, 1),
    String(ops),
    fmt(e.mean),
    fmt(e.median),
    fmt(f.mean),
    fmt(f.median),
    `${fmt(e.median / f.median, 2)}x`,
    `${fmt(ratio, 2)}x`,
    ratio <= TARGET_RATIO ? `<= ${TARGET_RATIO}x ok` : `> ${TARGET_RATIO}x MISSED`,
  ]);
}
if (ratioRows.length > 0) {
  console.log('Engine vs. the floor (one JSON.parse + JSON.stringify of the same pod), wall-clock ns/op;');
  console.log("ratio wall: of the wall-clock medians; ratio cpu: of this thread's CPU time per op. The target is");
  console.log('checked on CPU time, which other processes on a busy machine do not inflate.');
  console.log(table(['pod', 'KB', 'patch ops', 'engine mean', 'engine median', 'floor mean', 'floor median', 'ratio wall', 'ratio cpu', 'target'], ratioRows));
  console.log();
}

if (want('growth')) {
  const rows: string[][] = [];
  let base: number | undefined;
  for (const factor of [1, 2, 4, 8]) {
    const p = large(factor);
    const text = JSON.stringify(p);
    const kb = text.length / 1024;
    const r = compare({ engine: engineFn(p), floor: floorFn(text) }, SECONDS, 2);
    const e = r.engine as Stats;
    const f = r.floor as Stats;
    base ??= e.cpu / kb;
    rows.push([
      `${factor}x`,
      String(LARGE_CONTAINERS * factor),
      fmt(kb, 0),
      fmt(e.median),
      fmt(e.cpu),
      fmt(e.cpu / kb),
      fmt(e.cpu / kb / base, 2),
      fmt(f.cpu / kb),
      `${fmt(e.cpu / f.cpu, 2)}x`,
    ]);
  }
  console.log('Cost growth with pod size (100 env vars per container); ns: wall-clock median, thread CPU per op');
  console.log(table(['size', 'containers', 'KB', 'engine wall/op', 'engine cpu/op', 'engine cpu/KB', 'vs 1x', 'floor cpu/KB', 'ratio cpu'], rows));
  console.log('(a flat engine cpu/KB column means cost grows linearly with pod size)');
}

if (sink === -1) console.log(sink); // keeps results observable
