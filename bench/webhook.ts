/**
 * `POST /mutate` throughput and latency against a floor: a minimal node:https server that only
 * reads the body, parses it and answers "allowed" with the uid. Same TLS, same keep-alive, same
 * client. Two sizes: a small (~3 KB) and a large (~80 KB) AdmissionReview, both asking for two
 * profiles. Each server runs in its own process; the client (this process) keeps 10 connections
 * busy with a minimal HTTP/1.1 framing so that the client is not the bottleneck.
 *
 *   node bench/webhook.ts [--seconds 6] [--rounds 6] [--prime 5] [--warmup 2] [--connections 10] [--rate N] [--only small,large,none]
 *
 * --prime S first sends each server S seconds of unpaced reviews, so that its JIT has compiled the
 * request path as a long-running server's has (see main); then --warmup S of the measured load.
 *
 * --rate N offers every server the same N reviews per second (paced over the connections) instead
 * of as many as it answers: the CPU per admission at an equal load, as an API server offers it.
 *
 * Targets: server CPU per admission ≤ 2× the floor's, throughput ≥ 0.8× the floor's and p99 ≤
 * 1.25× the floor's, on both sizes; the summary at the end gives the three ratios, each against the
 * floor measured in the same run (CPU per admission is the one a busy machine disturbs least). A third
 * scenario (no profile requested) measures the server without the engine's injection work. A
 * second reference server, "floor+patch", is the floor answering with the very patch Outrigger
 * returns for that review (computed once, before the run): the cost of the answer alone, without
 * any engine work. Each server also reports its CPU time per request, which a shared, busy machine
 * disturbs far less than throughput, and the client reports its own.
 *
 * Every review differs the way sibling pods of one ReplicaSet do at admission: its uid and the
 * random suffix of the service account token volume (`kube-api-access-xxxxx`).
 *
 * Knobs: BENCH_SELF_CHECK=1 (floor against floor: the bench's own noise), BENCH_LOG_LEVEL=error
 * (no per-admission log line), BENCH_PROF=dir (CPU profiles of the servers).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpsRequest } from 'node:https';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { parseArgs } from 'node:util';
import { parseServeArgs } from '../src/cli/serve-flags.ts';
import type { JsonObject } from '../src/engine/index.ts';
import { createLogger } from '../src/server/log.ts';
import { startServe } from '../src/server/serve-command.ts';
import { generateCA, generateServingCert } from '../src/tls/certs.ts';

const ROOT = new URL('../', import.meta.url).pathname;

// ---------- roles: the two servers ----------

/** The client asks each server for its CPU time around each phase: CPU per request is robust to a busy machine, throughput is not. */
function answerCpuQueries(served: () => number): void {
  process.on('message', (m) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send?.({ cpuMicros: u.user + u.system, mainMicros: mainThreadMicros(), served: served() });
    } else if (m === 'gc') {
      // After priming: no server carries the priming's garbage into what is measured.
      (globalThis as { gc?: () => void }).gc?.();
      process.send?.('gc-done');
    }
  });
}

/**
 * The CPU time of the JavaScript thread alone (Linux: its /proc stat, in clock ticks of 10 ms);
 * the rest of the process's is V8's helper threads, mostly garbage collection.
 */
function mainThreadMicros(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
}

/** The floor; with `withPatch`, it answers with the patch the client hands it (see "floor+patch"). */
async function floorRole(dir: string, withPatch: boolean): Promise<void> {
  let served = 0;
  let patch: string | undefined;
  if (withPatch) {
    process.on('message', (m) => {
      if (typeof m === 'object' && m !== null && 'patch' in m) {
        patch = (m as { patch: string | null }).patch ?? undefined;
        process.send?.('patch-set');
      }
    });
  }
  const server = createServer({ cert: readFileSync(join(dir, 'tls.crt')), key: readFileSync(join(dir, 'tls.key')), minVersion: 'TLSv1.2' }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      served++;
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const response =
        patch === undefined ? { uid: review.request.uid, allowed: true } : { uid: review.request.uid, allowed: true, patchType: 'JSONPatch', patch };
      const body = JSON.stringify({ apiVersion: review.apiVersion, kind: 'AdmissionReview', response });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 120_000;
  process.on('SIGTERM', () => process.exit(0));
  answerCpuQueries(() => served);
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
}

async function webhookRole(dir: string): Promise<void> {
  const opts = parseServeArgs([
    '--profiles',
    join(ROOT, 'examples', 'profiles'),
    '--tls-cert',
    join(dir, 'tls.crt'),
    '--tls-key',
    join(dir, 'tls.key'),
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    // BENCH_LOG_LEVEL=error: without the per-admission log line, to see what it costs.
    '--log-level',
    process.env.BENCH_LOG_LEVEL ?? 'info',
  ]);
  if (opts === 'help') return;
  // Logs go where the process's stdout goes: /dev/null here, a pipe in a container.
  const running = await startServe(opts, createLogger(process.stdout, { level: opts.logLevel }));
  process.on('SIGTERM', () => void running.shutdown('SIGTERM').then((code) => process.exit(code)));
  answerCpuQueries(() => running.metrics.http.get('mutate', '200'));
  process.send?.({ port: running.port });
}

// ---------- the client ----------

type Scenario = 'small' | 'large' | 'none';

/** The API server's alphabet for random name suffixes (k8s.io/apimachinery/pkg/util/rand). */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** The n-th service account token volume name: distinct per review, as for sibling pods. */
function tokenVolume(n: number): string {
  let suffix = '';
  for (let i = 0, x = n; i < 5; i++, x = Math.floor(x / SUFFIX_ALPHABET.length)) suffix += SUFFIX_ALPHABET[x % SUFFIX_ALPHABET.length];
  return `kube-api-access-${suffix}`;
}

function pod(scenario: Scenario, token: string): JsonObject {
  const size = scenario === 'none' ? 'small' : scenario;
  const containers: JsonObject[] = [];
  const n = size === 'small' ? 1 : 6;
  for (let c = 0; c < n; c++) {
    const env = Array.from({ length: size === 'small' ? 12 : 70 }, (_, i) => ({
      name: `SETTING_${c}_${i}`,
      value: `value-${i}-${'x'.repeat(size === 'small' ? 20 : 60)}`,
    }));
    containers.push({
      name: `app-${c}`,
      image: `registry.example.com/team/app-${c}:1.2.3`,
      ports: [{ name: `http-${c}`, containerPort: 8080 + c, protocol: 'TCP' }],
      env,
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
      volumeMounts: [{ name: token, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
      readinessProbe: { httpGet: { path: '/ready', port: 8080 + c }, periodSeconds: 5 },
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      imagePullPolicy: 'IfNotPresent',
    });
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'shop-frontend-7d9f8c6b5-',
      labels: { app: 'shop-frontend', 'app.kubernetes.io/name': 'shop-frontend', 'pod-template-hash': '7d9f8c6b5' },
      annotations: {
        ...(scenario === 'none' ? {} : { 'outrigger.dev/inject': 'log-shipper, envoy' }),
        ...(size === 'large' ? { 'example.com/config': 'y'.repeat(32_000) } : {}),
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'shop-frontend-7d9f8c6b5',
          uid: 'b1e5c1a0-0000-4000-8000-000000000001',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      containers,
      volumes: [
        {
          name: token,
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
      serviceAccountName: 'default',
      securityContext: {},
      schedulerName: 'default-scheduler',
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
  };
}

/** The n-th review of a scenario: its own uid and token volume. */
function reviewBody(size: Scenario, n: number): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'shop',
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', uid: 'u', groups: ['system:serviceaccounts', 'system:authenticated'] },
      object: pod(size, tokenVolume(n)),
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  });
}

interface Measured {
  phases: PhaseResult[];
  /** Server CPU (µs) in the measured rounds: the whole process's, and its JavaScript thread's. */
  cpu: number;
  main: number;
  served: number;
  clientCpu: number;
}

interface PhaseResult {
  /** Latencies (ms) of the requests completed in the measured window. */
  latencies: number[];
  seconds: number;
  errors: number;
}

interface Summary {
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
  errors: number;
}

function summarise(phases: PhaseResult[]): Summary {
  const all = phases.flatMap((p) => p.latencies).sort((a, b) => a - b);
  const q = (p: number) => all[Math.min(all.length - 1, Math.floor(p * all.length))] ?? Number.NaN;
  return {
    requests: all.length,
    seconds: phases.reduce((n, p) => n + p.seconds, 0),
    p50: q(0.5),
    p99: q(0.99),
    errors: phases.reduce((n, p) => n + p.errors, 0),
  };
}

/** One keep-alive connection: request, read the whole response (Content-Length framing), repeat. */
/**
 * One keep-alive connection sending reviews one after another. With `pace`, each is sent no
 * earlier than its turn (every `gapMs`, from `offsetMs`): the offered load is fixed, as the API
 * server's is (pod creates), instead of as much as the server can take.
 */
function runConnection(
  port: number,
  ca: string,
  bodies: Buffer[],
  until: () => boolean,
  record: (ms: number, ok: boolean) => void,
  pace?: { gapMs: number; offsetMs: number },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock: TLSSocket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca }, () => {
      due = performance.now() + (pace?.offsetMs ?? 0);
      next();
    });
    sock.setNoDelay(true);
    let i = 0;
    let started = 0;
    let due = 0;
    let buf: Buffer = Buffer.alloc(0);
    let need = -1;
    let headerEnd = -1;
    const next = () => {
      if (until()) {
        sock.end();
        resolve();
        return;
      }
      if (pace) {
        const wait = due - performance.now();
        due = Math.max(due, performance.now()) + pace.gapMs;
        if (wait > 0) {
          setTimeout(send, wait);
          return;
        }
      }
      send();
    };
    const send = () => {
      const body = bodies[i++ % bodies.length] as Buffer;
      started = performance.now();
      sock.write(
        Buffer.concat([
          Buffer.from(
            `POST /mutate?timeout=10s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
          ),
          body,
        ]),
      );
    };
    sock.on('data', (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      for (;;) {
        if (need < 0) {
          headerEnd = buf.indexOf('\r\n\r\n');
          if (headerEnd < 0) return;
          const head = buf.subarray(0, headerEnd).toString('latin1');
          const m = /\r\ncontent-length: *(\d+)/i.exec(head);
          need = headerEnd + 4 + Number(m?.[1] ?? 0);
          if (!head.startsWith('HTTP/1.1 200')) record(0, false);
        }
        if (buf.length < need) return;
        const ok = buf.subarray(headerEnd + 4, need).includes('"allowed":true');
        record(performance.now() - started, ok);
        buf = buf.subarray(need);
        need = -1;
        next();
        if (buf.length === 0) return;
      }
    });
    sock.on('error', reject);
  });
}

async function phase(port: number, ca: string, size: Scenario, connections: number, warmupS: number, seconds: number, rate?: number): Promise<PhaseResult> {
  // Distinct uids, as the API server sends; bodies built up front so the client does no JSON work.
  const bodies = Array.from({ length: 64 }, (_, i) => Buffer.from(reviewBody(size, i)));
  let recording = false;
  const latencies: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  let tStart = 0;
  let tEnd = 0;
  const warmEnd = t0 + warmupS * 1000;
  const end = warmEnd + seconds * 1000;
  const until = () => {
    const now = performance.now();
    if (!recording && now >= warmEnd) {
      recording = true;
      tStart = now;
    }
    if (now >= end) {
      if (tEnd === 0) tEnd = now;
      return true;
    }
    return false;
  };
  await Promise.all(
    Array.from({ length: connections }, (_, c) => {
      const gapMs = rate ? (connections * 1000) / rate : 0;
      return runConnection(
        port,
        ca,
        bodies,
        until,
        (ms, ok) => {
          if (!ok) errors++;
          else if (recording && performance.now() <= end) latencies.push(ms);
        },
        rate ? { gapMs, offsetMs: (c * gapMs) / connections } : undefined,
      );
    }),
  );
  return { latencies, seconds: (tEnd - tStart) / 1000, errors };
}

interface CpuReading {
  cpuMicros: number;
  mainMicros: number;
  served: number;
}

function cpuOf(child: ChildProcess): Promise<CpuReading> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      if (typeof m === 'object' && m !== null && 'cpuMicros' in m) {
        child.off('message', on);
        resolve(m as CpuReading);
      }
    };
    child.on('message', on);
    child.send('cpu');
  });
}

/** A full garbage collection in the server, once it has answered. */
function collect(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      if (m !== 'gc-done') return;
      child.off('message', on);
      resolve();
    };
    child.on('message', on);
    child.send('gc');
  });
}

function spawnRole(role: string, dir: string): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    // BENCH_PROF=dir writes a CPU profile of each server there (node --cpu-prof).
    const execArgv = ['--expose-gc', ...(process.env.BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}/${role}`] : [])];
    const child = fork(new URL(import.meta.url).pathname, ['--role', role, '--dir', dir], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv });
    child.once('message', (m) => resolve({ child, port: (m as { port: number }).port }));
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
  });
}

/** Outrigger's answer to one review, fetched over the same TLS: the patch "floor+patch" then returns. */
function patchOf(port: number, ca: string, body: Buffer): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, servername: 'localhost', ca, method: 'POST', path: '/mutate', headers: { 'Content-Type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { response?: { patch?: string } };
          resolve(review.response?.patch);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Hands "floor+patch" the patch to answer with, and waits until it has it. */
function setPatch(child: ChildProcess, patch: string | undefined): Promise<void> {
  return new Promise((resolve) => {
    const on = (m: unknown) => {
      if (m === 'patch-set') {
        child.off('message', on);
        resolve();
      }
    };
    child.on('message', on);
    // null, not undefined: IPC messages are JSON, which drops undefined keys.
    child.send({ patch: patch ?? null });
  });
}

type Role = 'floor' | 'floor+patch' | 'webhook';

/** Server CPU per admission, as a multiple of the floor's. */
const CPU_TARGET = 2;

/** Outrigger against the floor of the same run, one line per size. */
function printSummary(rows: readonly { size: Scenario; cpu: number; tput: number; p99: number; ok: boolean }[]): void {
  console.log('\nsummary: webhook / floor, measured in this run');
  console.log(`  ${'review'.padEnd(7)} ${'CPU/admission'.padStart(13)} ${'throughput'.padStart(11)} ${'p99'.padStart(7)}`);
  for (const r of rows) {
    const cells = [`${r.cpu.toFixed(2)}×`.padStart(13), `${r.tput.toFixed(2)}×`.padStart(11), `${r.p99.toFixed(2)}×`.padStart(7)];
    console.log(`  ${r.size.padEnd(7)} ${cells.join(' ')}   ${r.ok ? 'ok' : 'MISSED'}`);
  }
  console.log(`  targets  ≤ ${CPU_TARGET.toFixed(2)}×        ≥ 0.80×  ≤ 1.25×   (the machine's other load: ${loadNote()})`);
}

/** The 1-minute load average against the cores: a shared, busy machine makes every ratio noisier. */
function loadNote(): string {
  return `load average ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: 'string' },
      dir: { type: 'string' },
      seconds: { type: 'string', default: '6' },
      rounds: { type: 'string', default: '6' },
      warmup: { type: 'string', default: '2' },
      prime: { type: 'string', default: '5' },
      connections: { type: 'string', default: '10' },
      rate: { type: 'string' },
      only: { type: 'string' },
    },
  });
  if (values.role === 'floor') return floorRole(values.dir as string, false);
  if (values.role === 'floor-patch') return floorRole(values.dir as string, true);
  if (values.role === 'webhook') return webhookRole(values.dir as string);

  const dir = mkdtempSync(join(tmpdir(), 'outrigger-bench-'));
  const ca = generateCA({ commonName: 'bench-ca' });
  const leaf = generateServingCert({ ca, commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  writeFileSync(join(dir, 'tls.crt'), leaf.certPem);
  writeFileSync(join(dir, 'tls.key'), leaf.keyPem);
  // BENCH_SELF_CHECK=1 runs the floor against itself: the ratios then show the bench's own noise.
  const [floor, floorPatch, webhook] = await Promise.all([
    spawnRole('floor', dir),
    spawnRole('floor-patch', dir),
    spawnRole(process.env.BENCH_SELF_CHECK ? 'floor' : 'webhook', dir),
  ]);
  const servers: Record<Role, { child: ChildProcess; port: number }> = { floor, 'floor+patch': floorPatch, webhook };
  const seconds = Number(values.seconds);
  const warmup = Number(values.warmup);
  const prime = Number(values.prime);
  const connections = Number(values.connections);
  const rounds = Number(values.rounds);
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && !(rate > 0)) throw new Error(`--rate must be a positive number of requests per second, got ${values.rate}`);
  const fmt = (r: Summary) =>
    `${(r.requests / r.seconds).toFixed(0).padStart(7)} req/s   p50 ${r.p50.toFixed(3).padStart(7)} ms   p99 ${r.p99.toFixed(3).padStart(7)} ms${r.errors ? `   ${r.errors} errors` : ''}`;
  let pass = true;
  const summary: { size: Scenario; cpu: number; tput: number; p99: number; ok: boolean }[] = [];
  try {
    const titles: Record<Scenario, string> = {
      small: 'small review, two profiles injected',
      large: 'large review, two profiles injected',
      none: "small review, no profile requested (the server without the engine's injection work)",
    };
    const scenarios = (['small', 'large', 'none'] as const).filter((x) => values.only === undefined || values.only.split(',').includes(x));
    for (const size of scenarios) {
      const bytes = Buffer.byteLength(reviewBody(size, 0));
      const patch = await patchOf(webhook.port, ca.certPem, Buffer.from(reviewBody(size, 0)));
      await setPatch(floorPatch.child, patch);
      // With no patch to return, floor+patch is the floor again: not measured.
      const roles: Role[] = patch === undefined ? ['floor', 'webhook'] : ['floor', 'floor+patch', 'webhook'];
      // Warm all up, then measure in short rounds that rotate which server goes first, so that
      // a change in the machine's other load hits all alike (this machine is shared).
      // Prime first, unpaced: TurboFan compiles the request path over thousands of admissions, in
      // helper threads. A long-running server has long finished; a paced warm-up of a few seconds
      // has not, and the compiler's CPU would be counted per admission.
      for (const r of roles) {
        await phase(servers[r].port, ca.certPem, size, connections, 0, prime);
        await collect(servers[r].child);
      }
      for (const r of roles) await phase(servers[r].port, ca.certPem, size, connections, 0, warmup, rate);
      const results = new Map<Role, Measured>(roles.map((r) => [r, { phases: [], cpu: 0, main: 0, served: 0, clientCpu: 0 }]));
      const measured = async (role: Role) => {
        const server = servers[role];
        const into = results.get(role) as Measured;
        const before = await cpuOf(server.child);
        const client = process.cpuUsage();
        // No warm-up inside a round, so the CPU time matches the requests counted.
        into.phases.push(await phase(server.port, ca.certPem, size, connections, 0, seconds / rounds, rate));
        const c = process.cpuUsage(client);
        const after = await cpuOf(server.child);
        into.cpu += after.cpuMicros - before.cpuMicros;
        into.main += after.mainMicros - before.mainMicros;
        into.served += after.served - before.served;
        into.clientCpu += c.user + c.system;
      };
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < roles.length; i++) await measured(roles[(round + i) % roles.length] as Role);
      }
      // The servers count what they answered between the two CPU readings.
      const line = (role: Role) => {
        const r = results.get(role) as Measured;
        const served = Math.max(1, r.served);
        return { summary: summarise(r.phases), cpu: r.cpu / served, main: r.main / served, clientCpu: r.clientCpu / served };
      };
      const f = line('floor');
      const ratios = (role: Role) => {
        const r = line(role).summary;
        return { tput: r.requests / r.seconds / (f.summary.requests / f.summary.seconds), p99: r.p99 / f.summary.p99, errors: r.errors };
      };
      const w = ratios('webhook');
      const cpu = line('webhook').cpu / f.cpu;
      const ok = cpu <= CPU_TARGET && w.tput >= 0.8 && w.p99 <= 1.25 && w.errors === 0;
      summary.push({ size, cpu, tput: w.tput, p99: w.p99, ok });
      if (size !== 'none') pass &&= ok;
      console.log(
        `\n${titles[size]} (${(bytes / 1024).toFixed(1)} KiB${patch === undefined ? '' : `, patch ${(patch.length / 1024).toFixed(1)} KiB base64`}), ${connections} keep-alive connections${rate ? ` paced at ${rate} req/s in all` : ' as fast as the server answers'}, ${seconds} s each in ${rounds} rotating rounds, after ${prime} s unpaced priming and ${warmup} s warm-up`,
      );
      for (const role of roles) {
        const r = line(role);
        const vsFloor = role === 'floor' ? '' : ` (${(r.cpu / f.cpu).toFixed(2)}×)`;
        console.log(
          `  ${role.padEnd(11)} ${fmt(r.summary)}   server CPU ${r.cpu.toFixed(0).padStart(5)} µs/request${vsFloor.padEnd(8)} (JS thread ${r.main.toFixed(0).padStart(4)})   client CPU ${r.clientCpu.toFixed(0).padStart(4)} µs/request`,
        );
      }
      const verdict = (x: { tput: number; p99: number }) => `throughput ${x.tput.toFixed(2)}× (target ≥ 0.80)   p99 ${x.p99.toFixed(2)}× (target ≤ 1.25)`;
      // The same targets applied to floor+patch show what answering with this patch costs by itself.
      if (roles.includes('floor+patch')) console.log(`  floor+patch ${verdict(ratios('floor+patch'))}   (the answer alone, no engine)`);
      console.log(`  webhook     CPU ${cpu.toFixed(2)}× (target ≤ ${CPU_TARGET.toFixed(2)})   ${verdict(w)}   ${ok ? 'ok' : 'MISSED'}`);
    }
    printSummary(summary);
  } finally {
    const children = [floor.child, floorPatch.child, webhook.child];
    const gone = Promise.all(children.map((c) => new Promise((r) => c.once('exit', r))));
    for (const c of children) c.kill('SIGTERM');
    await gone;
    rmSync(dir, { recursive: true, force: true });
  }
  process.exitCode = pass ? 0 : 1;
}

await main();
