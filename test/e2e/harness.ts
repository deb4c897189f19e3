// A real kube-apiserver + etcd for end-to-end tests.
//
// Two modes:
//  - "in-process" (default): test/e2e/apiserver, a Go program built from Go modules on this machine
//    (see build-apiserver.ts), runs kube-apiserver with an embedded etcd the way Kubernetes'
//    integration tests do. Service-referenced webhooks are routed to local ports through
//    setServiceEndpoint(), while the apiserver still dials with TLS server name
//    <name>.<namespace>.svc over HTTP/1.1 as in production.
//  - "envtest": when KUBEBUILDER_ASSETS (or TEST_ASSET_KUBE_APISERVER and TEST_ASSET_ETCD) is set,
//    its etcd and kube-apiserver binaries are started as separate processes with flags like
//    controller-runtime's envtest. Service references cannot be routed to loopback there:
//    check `supportsServiceRefs` and use URL references instead.
//
// Use in node:test:
//
//   import { after, before, describe, it } from "node:test";
//   import { e2eAvailability, startControlPlane, type ControlPlane } from "../e2e/harness.ts";
//
//   const availability = await e2eAvailability();
//   describe("my e2e", { skip: availability.skip }, () => {
//     let cp: ControlPlane;
//     before(async () => { cp = await startControlPlane(); });
//     after(async () => { await cp?.stop(); });   // runs even when a test fails
//     it("...", async () => { const r = await cp.request("GET", "/api/v1/namespaces"); ... });
//   });
//
// Every control plane is also stopped on process exit, SIGINT, SIGTERM and SIGHUP, and the
// children get a parent-death signal (and, for the Go program, an EOF on stdin), so a test process
// that dies does not leave kube-apiserver or etcd behind.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '../support/processes.ts';
import { BuildError, ensureApiserverBinary, goAvailable, kubernetesVersion } from './build-apiserver.ts';

export type ControlPlaneMode = 'in-process' | 'envtest';

export interface ControlPlaneOptions {
  /** Keep the ServiceAccount admission plugin on (default off, as in Kubernetes' integration tests
   *  and envtest). When on, createNamespace() also creates the namespace's `default` ServiceAccount,
   *  because no controller does, and pods get the projected kube-api-access-* token volume. */
  serviceAccountAdmission?: boolean;
  /** For a real node (test/e2e/node): the apiserver dials kubelets at their InternalIP and
   *  authenticates with the admin client certificate (pods/log, exec). In-process mode only. */
  kubeletClient?: boolean;
  /** Extra kube-apiserver flags, e.g. ["--feature-gates=Foo=true"]. */
  apiserverFlags?: string[];
  /** In-process mode: an etcd data directory to keep (restart against the same data). */
  etcdDataDir?: string;
  /** Milliseconds to wait for /readyz (default 180 s). */
  startTimeoutMs?: number;
  /** kube-apiserver log verbosity, -v (default 2; also E2E_APISERVER_V). Logs go to logPath. */
  verbosity?: number;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Keep the temp dir after stop() (also with E2E_KEEP_DIR=1), for debugging. */
  keepDir?: boolean;
}

export interface RequestOptions {
  /** Content-Type of the body (default application/json; e.g. application/json-patch+json,
   *  application/merge-patch+json, application/apply-patch+yaml). */
  contentType?: string;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /** Milliseconds (default 30 s). */
  timeoutMs?: number;
}

export interface KubeResponse<T = unknown> {
  status: number;
  /** Parsed JSON when the response is JSON, else the text. */
  body: T;
  text: string;
  headers: http.IncomingHttpHeaders;
}

export interface ControlPlane {
  mode: ControlPlaneMode;
  /** https://127.0.0.1:PORT */
  url: string;
  /** Admin kubeconfig (client certificate in system:masters, server CA embedded). */
  kubeconfigPath: string;
  /** PEM of the CA that signed the apiserver's serving certificate. */
  caPem: string;
  /** gitVersion from /version, e.g. v1.35.4. */
  version: string;
  /** Whether service-referenced webhooks can be routed to local ports (setServiceEndpoint). */
  supportsServiceRefs: boolean;
  serviceAccountAdmission: boolean;
  /** Temp dir holding certificates, kubeconfig, logs. */
  dir: string;
  /** Combined output of the apiserver (and etcd). */
  logPath: string;
  pid: number;
  request<T = unknown>(method: string, path: string, body?: unknown, opts?: RequestOptions): Promise<KubeResponse<T>>;
  /** Route service <name>.<namespace>.svc:<port> to hostPort ("127.0.0.1:34567" or a port number).
   *  Takes effect for the next connection the apiserver opens. Throws unless supportsServiceRefs. */
  setServiceEndpoint(namespace: string, name: string, port: number, hostPort: string | number): void;
  /** Creates a namespace (and its `default` ServiceAccount when serviceAccountAdmission is on). */
  createNamespace(name: string, labels?: Record<string, string>): Promise<void>;
  /** The last lines of logPath, for failure messages. */
  logTail(lines?: number): string;
  /** Stops everything this control plane started and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface E2EAvailability {
  /** false when the e2e tests can run; else a message for node:test's `skip`. */
  skip: false | string;
  mode?: ControlPlaneMode;
  version?: string;
}

// ---------------------------------------------------------------------------------------------
// Availability

let availability: Promise<E2EAvailability> | undefined;

/**
 * Whether the e2e tests can run here. Builds the Go program when needed (cached in .cache/).
 * With CI=true anything missing or unbuildable throws (with the build error); otherwise, with
 * neither Go nor KUBEBUILDER_ASSETS, the tests are skipped with a loud message. A Go build that
 * fails always throws: that is a broken harness, not a missing tool.
 */
export function e2eAvailability(): Promise<E2EAvailability> {
  availability ??= checkAvailability();
  return availability;
}

async function checkAvailability(): Promise<E2EAvailability> {
  const ci = process.env.CI === 'true' || process.env.CI === '1';
  const assets = envtestAssets();
  if (assets) {
    const missing = [assets.apiserver, assets.etcd].filter((p) => !isExecutable(p));
    if (missing.length === 0) return { skip: false, mode: 'envtest' };
    const msg = `e2e: KUBEBUILDER_ASSETS is set but these are missing or not executable: ${missing.join(', ')}`;
    if (ci) throw new Error(msg);
    loud(msg);
    return { skip: msg };
  }
  if (!goAvailable()) {
    const missing = 'neither a Go toolchain (to build kube-apiserver from Go modules) nor KUBEBUILDER_ASSETS is available';
    if (ci) throw new Error(`e2e: cannot run the end-to-end tests with CI=true: ${missing}`);
    const msg = `e2e: SKIPPED: ${missing}`;
    loud(msg);
    return { skip: msg };
  }
  const built = await ensureApiserverBinary();
  return { skip: false, mode: 'in-process', version: built.version };
}

function loud(msg: string): void {
  const bar = '!'.repeat(Math.min(100, msg.length));
  process.stderr.write(`\n${bar}\n${msg}\n${bar}\n\n`);
}

// ---------------------------------------------------------------------------------------------
// Process bookkeeping: nothing outlives the test process.

export interface Tracked {
  child: ChildProcess;
  name: string;
}

const live = new Set<Tracked>();
const liveDirs = new Set<string>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    // Synchronous only: kill the process groups and remove the temp dirs.
    for (const t of live) killGroup(t.child, 'SIGKILL');
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      void Promise.race([stopAll(), deadline(15_000)]).finally(() => {
        process.kill(process.pid, sig); // default action now that our listener is gone
      });
    });
  }
}

const planes = new Set<ControlPlane>();

async function stopAll(): Promise<void> {
  await Promise.allSettled([...planes].map((p) => p.stop()));
}

function killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, sig); // detached: the child leads its own process group
  } catch {
    try {
      child.kill(sig);
    } catch {
      // already gone
    }
  }
}

const hasSetpriv = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;

/** Spawns cmd in its own process group with output appended to logFd; with setpriv available the
 *  kernel sends it SIGTERM if this process dies. */
export function spawnTracked(name: string, cmd: string, args: string[], logFd: number, stdinPipe: boolean): Tracked {
  const [file, argv] = hasSetpriv ? ['setpriv', ['--pdeathsig', 'SIGTERM', '--', cmd, ...args]] : [cmd, args];
  const child = spawn(file, argv, { stdio: [stdinPipe ? 'pipe' : 'ignore', logFd, logFd], detached: true });
  const t: Tracked = { child, name };
  live.add(t);
  child.once('exit', () => live.delete(t));
  child.on('error', () => live.delete(t));
  // The pipe's other end: held open until stop(); EOF tells the Go program its parent is gone.
  child.stdin?.on('error', () => {});
  return t;
}

export async function stopTracked(t: Tracked, graceMs: number): Promise<void> {
  const { child } = t;
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    child.stdin?.destroy();
    live.delete(t);
    return;
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // SIGTERM asks for a clean shutdown; stdin stays open until the child is gone (its EOF is only
  // the fallback for a parent that died).
  try {
    child.kill('SIGTERM');
  } catch {
    // gone
  }
  const timedOut = await Promise.race([exited.then(() => false), deadline(graceMs).then(() => true)]);
  // Whatever is left in the group (and the child itself after the grace period).
  killGroup(child, 'SIGKILL');
  if (timedOut) await Promise.race([exited, deadline(5000)]);
  child.stdin?.destroy();
  live.delete(t);
}

// ---------------------------------------------------------------------------------------------
// Starting

/** Starts a control plane. Call stop() when done (node:test: in after()). */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const avail = await e2eAvailability();
  if (avail.skip) throw new Error(avail.skip);
  installHooks();
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  sweepStaleDirs();
  const keepDir = keepDirRequested(opts);
  const dir = mkdtempSync(join(tmpdir(), 'outrigger-e2e-'));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  if (keepDir) writeFileSync(join(dir, 'keep'), '');
  else liveDirs.add(dir);
  const logPath = join(dir, avail.mode === 'envtest' ? 'control-plane.log' : 'apiserver.log');
  const logFd = openSync(logPath, 'a');
  const started = Date.now();
  const procs: Tracked[] = [];
  const tail = (n = 60) => logTail(logPath, n);
  let stopped: Promise<void> | undefined;

  const cleanup = async () => {
    for (const t of [...procs].reverse()) await stopTracked(t, 30_000);
    closeQuietly(logFd);
    liveDirs.delete(dir);
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
  };

  try {
    const base = avail.mode === 'envtest' ? await startEnvtest(dir, logFd, opts, procs) : await startInProcess(dir, logFd, opts, procs);
    const agent = new https.Agent({ keepAlive: true, ca: base.caPem, cert: base.certPem, key: base.keyPem, maxSockets: 16 });
    const request = makeRequest(base.url, agent);
    const timeoutMs = opts.startTimeoutMs ?? 180_000;
    await waitFor(
      async () => {
        const main = procs[procs.length - 1];
        if (main && main.child.exitCode !== null) throw new Error(`${main.name} exited with ${main.child.exitCode}`);
        const r = await request('GET', '/readyz', undefined, { timeoutMs: 5000 }).catch(() => undefined);
        return r?.status === 200;
      },
      timeoutMs,
      '/readyz',
    );
    const v = await request<{ gitVersion: string }>('GET', '/version');
    const saAdmission = !!opts.serviceAccountAdmission;
    if (saAdmission) await ensureDefaultServiceAccount(request, 'default');
    const plane: ControlPlane = {
      mode: avail.mode ?? 'in-process',
      url: base.url,
      kubeconfigPath: base.kubeconfigPath,
      caPem: base.caPem,
      version: v.body.gitVersion,
      supportsServiceRefs: !!base.serviceMapPath,
      serviceAccountAdmission: saAdmission,
      dir,
      logPath,
      pid: procs[procs.length - 1]?.child.pid ?? -1,
      request,
      setServiceEndpoint(namespace, name, port, hostPort) {
        if (!base.serviceMapPath) {
          throw new Error(
            'setServiceEndpoint: this control plane (envtest binaries) cannot route service references to loopback; use a URL-referenced webhook (check supportsServiceRefs)',
          );
        }
        const target = typeof hostPort === 'number' ? `127.0.0.1:${hostPort}` : hostPort;
        const path = base.serviceMapPath;
        const map = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
        map[`${name}.${namespace}.svc:${port}`] = target;
        const tmp = `${path}.tmp-${process.pid}`;
        writeFileSync(tmp, `${JSON.stringify(map, null, 2)}\n`);
        renameSync(tmp, path); // atomic: the resolver never sees a half-written file
      },
      async createNamespace(name, labels) {
        const r = await request('POST', '/api/v1/namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name, ...(labels ? { labels } : {}) },
        });
        if (r.status !== 201) throw new Error(`create namespace ${name}: ${r.status} ${r.text}`);
        if (saAdmission) await ensureDefaultServiceAccount(request, name);
      },
      logTail: tail,
      stop() {
        stopped ??= (async () => {
          planes.delete(plane);
          agent.destroy();
          await cleanup();
        })();
        return stopped;
      },
    };
    planes.add(plane);
    log(`e2e: ${plane.mode} kube-apiserver ${plane.version} ready at ${plane.url} in ${((Date.now() - started) / 1000).toFixed(1)}s (dir ${dir})`);
    return plane;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const logs = tail(80);
    await cleanup();
    if (e instanceof BuildError) throw e;
    throw new Error(`e2e: control plane did not start: ${msg}\n--- last lines of ${logPath} ---\n${logs}`);
  }
}

/** Removes temp dirs of earlier test processes that died without cleaning up (SIGKILL). */
function sweepStaleDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir()).filter((n) => n.startsWith('outrigger-e2e-') && !n.startsWith('outrigger-e2e-cert-'));
  } catch {
    return;
  }
  for (const name of names) {
    const d = join(tmpdir(), name);
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(join(d, 'owner.pid'), 'utf8'));
    } catch {
      continue; // not ours, or being created
    }
    if (!Number.isInteger(owner) || owner <= 0 || processAlive(owner)) continue;
    if (existsSync(join(d, 'keep'))) continue;
    rmSync(d, { recursive: true, force: true });
  }
}

function verbosity(opts: ControlPlaneOptions): number {
  const v = opts.verbosity ?? Number(process.env.E2E_APISERVER_V ?? 2);
  return Number.isInteger(v) && v >= 0 ? v : 2;
}

function keepDirRequested(opts: ControlPlaneOptions): boolean {
  return !!opts.keepDir || process.env.E2E_KEEP_DIR === '1';
}

/** What kube-controller-manager's serviceaccount controller would do; no controller runs here. */
async function ensureDefaultServiceAccount(request: ReturnType<typeof makeRequest>, namespace: string): Promise<void> {
  const sa = await request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'default' },
  });
  if (sa.status !== 201 && sa.status !== 409) throw new Error(`create serviceaccount ${namespace}/default: ${sa.status} ${sa.text}`);
}

interface BaseInfo {
  url: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  kubeconfigPath: string;
  serviceMapPath?: string;
}

async function startInProcess(dir: string, logFd: number, opts: ControlPlaneOptions, procs: Tracked[]): Promise<BaseInfo> {
  const built = await ensureApiserverBinary({ log: opts.log });
  const args = ['serve', '-dir', dir, '-exit-on-stdin-close', `-v=${verbosity(opts)}`];
  // Also covers a test process killed with SIGKILL, whose exit hooks never run.
  if (!keepDirRequested(opts)) args.push('-remove-dir-on-exit');
  if (opts.serviceAccountAdmission) args.push('-service-account-admission');
  if (opts.etcdDataDir) args.push('-etcd-data-dir', opts.etcdDataDir);
  args.push('--', ...(opts.kubeletClient ? kubeletClientFlags(dir) : []), ...(opts.apiserverFlags ?? []));
  const t = spawnTracked('outrigger-e2e-apiserver', built.binPath, args, logFd, true);
  procs.push(t);
  const readyPath = join(dir, 'ready.json');
  await waitFor(
    () => {
      if (t.child.exitCode !== null || t.child.signalCode !== null) {
        throw new Error(`outrigger-e2e-apiserver exited (${t.child.exitCode ?? t.child.signalCode}) before it was ready`);
      }
      return existsSync(readyPath);
    },
    opts.startTimeoutMs ?? 180_000,
    readyPath,
  );
  const ready = JSON.parse(readFileSync(readyPath, 'utf8')) as {
    url: string;
    caPath: string;
    clientCertPath: string;
    clientKeyPath: string;
    kubeconfigPath: string;
    serviceMapPath: string;
  };
  return {
    url: ready.url,
    caPem: readFileSync(ready.caPath, 'utf8'),
    certPem: readFileSync(ready.clientCertPath, 'utf8'),
    keyPem: readFileSync(ready.clientKeyPath, 'utf8'),
    kubeconfigPath: ready.kubeconfigPath,
    serviceMapPath: ready.serviceMapPath,
  };
}

/** The Go program writes admin.crt/admin.key into DIR before it starts the apiserver. */
function kubeletClientFlags(dir: string): string[] {
  return [
    '--kubelet-preferred-address-types=InternalIP',
    `--kubelet-client-certificate=${join(dir, 'admin.crt')}`,
    `--kubelet-client-key=${join(dir, 'admin.key')}`,
  ];
}

// ---------------------------------------------------------------------------------------------
// envtest mode: separate etcd and kube-apiserver binaries.

function envtestAssets(): { apiserver: string; etcd: string } | undefined {
  const dir = process.env.KUBEBUILDER_ASSETS;
  const apiserver = process.env.TEST_ASSET_KUBE_APISERVER ?? (dir ? join(dir, 'kube-apiserver') : undefined);
  const etcd = process.env.TEST_ASSET_ETCD ?? (dir ? join(dir, 'etcd') : undefined);
  return apiserver && etcd ? { apiserver, etcd } : undefined;
}

function isExecutable(p: string): boolean {
  try {
    return statSync(p).isFile() && (statSync(p).mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

async function startEnvtest(dir: string, logFd: number, opts: ControlPlaneOptions, procs: Tracked[]): Promise<BaseInfo> {
  const assets = envtestAssets();
  if (!assets) throw new Error('KUBEBUILDER_ASSETS is not set');
  const [etcdPort, peerPort, apiPort] = await freePorts(3);
  const pki = join(dir, 'pki');
  const ca = makeCA(pki, 'ca', 'outrigger-e2e-ca');
  issueCert(pki, 'apiserver', ca, {
    commonName: 'kube-apiserver',
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ipAddresses: ['127.0.0.1', '10.0.0.1'],
    usage: 'serverAuth',
  });
  const clientCA = makeCA(pki, 'client-ca', 'outrigger-e2e-client-ca');
  issueCert(pki, 'admin', clientCA, { commonName: 'outrigger-e2e-admin', organization: 'system:masters', usage: 'clientAuth' });
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(pki, 'sa.key')]);
  openssl(['pkey', '-in', join(pki, 'sa.key'), '-pubout', '-out', join(pki, 'sa.pub')]);

  const etcdURL = `http://127.0.0.1:${etcdPort}`;
  const peerURL = `http://127.0.0.1:${peerPort}`;
  const etcd = spawnTracked(
    'etcd',
    assets.etcd,
    [
      '--name=outrigger-e2e',
      `--data-dir=${opts.etcdDataDir ?? join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdURL}`,
      `--advertise-client-urls=${etcdURL}`,
      `--listen-peer-urls=${peerURL}`,
      `--initial-advertise-peer-urls=${peerURL}`,
      `--initial-cluster=outrigger-e2e=${peerURL}`,
      '--unsafe-no-fsync=true',
      '--log-level=error',
    ],
    logFd,
    false,
  );
  procs.push(etcd);
  await waitFor(
    async () => {
      if (etcd.child.exitCode !== null) throw new Error(`etcd exited with ${etcd.child.exitCode}`);
      const r = await httpGet(`${etcdURL}/health`).catch(() => undefined);
      return r?.status === 200;
    },
    60_000,
    `${etcdURL}/health`,
  );

  const url = `https://127.0.0.1:${apiPort}`;
  const flags = [
    // controller-runtime envtest defaults
    '--advertise-address=127.0.0.1',
    '--bind-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--etcd-servers=${etcdURL}`,
    `--cert-dir=${join(dir, 'cert-dir')}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    '--authorization-mode=RBAC',
    `--service-account-issuer=${url}/`,
    `--service-account-key-file=${join(pki, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
    // certificates: ours, so the admin client certificate and the CA are known
    `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
    `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
    `--client-ca-file=${join(pki, 'client-ca.crt')}`,
    '--endpoint-reconciler-type=none',
  ];
  if (!opts.serviceAccountAdmission) flags.push('--disable-admission-plugins=ServiceAccount');
  flags.push(`--v=${verbosity(opts)}`, ...(opts.apiserverFlags ?? []));
  procs.push(spawnTracked('kube-apiserver', assets.apiserver, flags, logFd, false));

  const caPem = readFileSync(join(pki, 'ca.crt'), 'utf8');
  const certPem = readFileSync(join(pki, 'admin.crt'), 'utf8');
  const keyPem = readFileSync(join(pki, 'admin.key'), 'utf8');
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfigYAML(url, caPem, certPem, keyPem), { mode: 0o600 });
  return { url, caPem, certPem, keyPem, kubeconfigPath };
}

function kubeconfigYAML(url: string, caPem: string, certPem: string, keyPem: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: outrigger-e2e',
    '  cluster:',
    `    server: ${url}`,
    `    certificate-authority-data: ${b64(caPem)}`,
    'users:',
    '- name: outrigger-e2e-admin',
    '  user:',
    `    client-certificate-data: ${b64(certPem)}`,
    `    client-key-data: ${b64(keyPem)}`,
    'contexts:',
    '- name: outrigger-e2e',
    '  context:',
    '    cluster: outrigger-e2e',
    '    user: outrigger-e2e-admin',
    '    namespace: default',
    'current-context: outrigger-e2e',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Certificates (openssl CLI; the Go program's `cert` command when openssl is missing)

export interface ServingCert {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export function opensslAvailable(): boolean {
  return spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
}

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.error ?? r.stderr}`);
}

interface CA {
  crt: string;
  key: string;
}

function makeCA(dir: string, name: string, commonName: string): CA {
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  spawnSync('mkdir', ['-p', dir]);
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    crt,
    '-days',
    '3650',
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  return { crt, key };
}

interface CertSpec {
  commonName: string;
  organization?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: 'serverAuth' | 'clientAuth';
}

function issueCert(dir: string, name: string, ca: CA, spec: CertSpec): void {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  const subj = `${spec.organization ? `/O=${spec.organization}` : ''}/CN=${spec.commonName}`;
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', subj]);
  const san = [...(spec.dnsNames ?? []).map((d) => `DNS:${d}`), ...(spec.ipAddresses ?? []).map((i) => `IP:${i}`)];
  writeFileSync(
    ext,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${spec.usage}`,
      ...(san.length ? [`subjectAltName=${san.join(',')}`] : []),
      '',
    ].join('\n'),
  );
  openssl(['x509', '-req', '-in', csr, '-CA', ca.crt, '-CAkey', ca.key, '-CAcreateserial', '-out', join(dir, `${name}.crt`), '-days', '3650', '-extfile', ext]);
}

/**
 * A CA and a serving certificate for a webhook server, e.g. for "<svc>.<ns>.svc" and 127.0.0.1.
 * Use caPem as the webhook's caBundle. Uses the openssl CLI, or the e2e Go program when openssl is
 * missing.
 */
export async function makeServingCert(dnsNames: string[], ipAddresses: string[] = ['127.0.0.1']): Promise<ServingCert> {
  const dir = mkdtempSync(join(tmpdir(), 'outrigger-e2e-cert-'));
  try {
    if (opensslAvailable()) {
      const ca = makeCA(dir, 'ca', 'outrigger-e2e-webhook-ca');
      issueCert(dir, 'tls', ca, { commonName: dnsNames[0] ?? 'outrigger-e2e-webhook', dnsNames, ipAddresses, usage: 'serverAuth' });
    } else {
      const built = await ensureApiserverBinary();
      const r = spawnSync(built.binPath, ['cert', '-out', dir, '-dns', dnsNames.join(','), '-ip', ipAddresses.join(',')], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`no openssl CLI, and ${built.binPath} cert failed: ${r.stderr}`);
    }
    return {
      caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      certPem: readFileSync(join(dir, 'tls.crt'), 'utf8'),
      keyPem: readFileSync(join(dir, 'tls.key'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

function makeRequest(baseURL: string, agent: https.Agent) {
  return function request<T = unknown>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<KubeResponse<T>> {
    const u = new URL(path, baseURL);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    let payload: Buffer | undefined;
    if (body !== undefined) {
      payload = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    }
    const headers: Record<string, string> = { accept: 'application/json, */*', ...opts.headers };
    if (payload) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    return new Promise((resolvePromise, reject) => {
      const req = https.request(u, { method, agent, headers, timeout: opts.timeoutMs ?? 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          if (/json/.test(res.headers['content-type'] ?? '') && text) {
            try {
              parsed = JSON.parse(text);
            } catch {
              // leave as text
            }
          }
          resolvePromise({ status: res.statusCode ?? 0, body: parsed as T, text, headers: res.headers });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${u.pathname}: timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  };
}

function httpGet(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------
// small helpers

/**
 * Writes to `path` a kubeconfig that authenticates as ServiceAccount `namespace/name` with a fresh
 * token (TokenRequest, one hour): what a replica running as that ServiceAccount is allowed, exactly.
 */
export async function writeServiceAccountKubeconfig(cp: ControlPlane, namespace: string, name: string, path: string): Promise<void> {
  const r = await cp.request<{ status?: { token?: string } }>('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  });
  const token = r.body.status?.token;
  if (r.status !== 201 || !token) throw new Error(`TokenRequest for ${namespace}/${name}: ${r.status} ${r.text}`);
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'sa',
      contexts: [{ name: 'sa', context: { cluster: 'e2e', user: 'sa', namespace } }],
      clusters: [{ name: 'e2e', cluster: { server: cp.url, 'certificate-authority-data': Buffer.from(cp.caPem).toString('base64') } }],
      users: [{ name: 'sa', user: { token } }],
    }),
  );
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A timeout for Promise.race that does not keep the process alive once the race is decided. */
function deadline(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((r, j) => {
          const s = createServer();
          s.once('error', j);
          s.listen(0, '127.0.0.1', () => r(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    return typeof a === 'object' && a ? a.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export function logTail(path: string, n: number): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // closed
  }
}

/** The Kubernetes version the in-process harness builds (from test/e2e/apiserver/go.mod). */
export { kubernetesVersion };
