// A real node beside the e2e control plane: containerd + runc (Debian packages), a kubelet,
// kube-scheduler and kube-controller-manager built from the same Kubernetes release as the API
// server (build-apiserver.ts --node). Everything lives under one temp dir; containerd and the
// kubelet run in a private mount namespace where
//  - files holding the values the kubelet wants are bind-mounted over the /proc/sys entries it
//    writes, so the host's sysctls never change;
//  - temp dirs are bind-mounted over the host paths they write whatever their configured roots
//    say (/var/lib/kubelet, /var/log/pods, /run/containerd, …).
// stop() (and the exit/signal hooks) stops every process by the PID started here or found by this
// node's containerd socket or cgroups, and removes what the node left on the host: the CNI
// bridge, the kubelet's iptables chains, the kubepods cgroups, the host paths it created.
// Node N is named 127.0.0.N+1 (an IP as hostname override becomes the InternalIP without the
// kubelet's loopback check), so the API server reaches each kubelet on loopback, and hostNetwork
// pods of different nodes can listen on the same port of different loopback addresses. Each node
// has its own containerd and its own cgroup root (/outrigger-e2e-node-N in every hierarchy): a
// kubelet removes pod cgroups under its root that it does not know.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ensureApiserverBinary } from '../build-apiserver.ts';
import { type ControlPlane, freePorts, logTail, sleep, spawnTracked, stopTracked, type Tracked, waitFor } from '../harness.ts';
import { CNI_BIN_DIR, HOST_STATE_PATHS, type HostSnapshot, hostSnapshot, iptablesLines, KUBELET_SYSCTLS, qualifiedRules, toolPath } from './host.ts';
import { busyboxImage, PAUSE_REF, pauseImage, writeOciArchive } from './oci.ts';

export const nodeName = (index: number): string => `127.0.0.${index + 1}`;
const bridgeName = (index: number): string => `ore2e${index}`;
/** Pod network of node N: a bridge without an address or gateway, so pods reach only each other. */
const podSubnet = (index: number): string => `10.244.${77 + index}.0/24`;
const cgroupRootName = (index: number): string => `outrigger-e2e-node-${index}`;

export interface KubeNode {
  index: number;
  name: string;
  dir: string;
  /** The host as it was before the node started. */
  before: HostSnapshot;
  startSeconds: number;
  /** Imports an OCI archive into containerd's k8s.io namespace. */
  importImage(archive: string): void;
  /** The host PID of a running container's first process ("containerd://ID" or ID). */
  containerPid(containerID: string): number;
  logTail(component: 'containerd' | 'kubelet' | 'kube-scheduler' | 'kube-controller-manager', lines?: number): string;
  stop(): Promise<void>;
}

interface Parts {
  index: number;
  dir: string;
  sock: string;
  before: HostSnapshot;
  createdPaths: string[];
  /** Start order: a lower one's snapshot is the older. Nodes of a dead process get -1. */
  seq: number;
  holder?: { pid?: number | undefined };
  procs: Map<string, Tracked>;
  log: (l: string) => void;
}

const liveNodes = new Set<Parts>();
let nextSeq = 0;
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const p of liveNodes) teardownSync(p);
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const p of liveNodes) teardownSync(p);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

export interface NodeOptions {
  /** 0, 1, …: name 127.0.0.N+1, its own bridge, pod subnet and cgroup root. */
  index?: number;
  /** Also run kube-scheduler and kube-controller-manager (one node of a cluster does). */
  controllers?: boolean;
  log?: (l: string) => void;
}

export async function startNode(cp: ControlPlane, opts: NodeOptions = {}): Promise<KubeNode> {
  const index = opts.index ?? 0;
  const name = nodeName(index);
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const started = Date.now();
  const built = await ensureApiserverBinary({ node: true, log });
  const nodeDir = built.nodeDir ?? '';
  installHooks();
  sweepStaleNodes();
  const before = hostSnapshot();
  const dir = mkdtempSync(join('/tmp', STALE_PREFIX)); // short: unix socket paths live under it
  const parts: Parts = { index, dir, sock: join(dir, 'containerd.sock'), before, createdPaths: [], seq: nextSeq++, procs: new Map(), log };
  liveNodes.add(parts);
  try {
    const logFd = (name: string) => openSync(join(dir, `${name}.log`), 'a');
    parts.holder = await startNamespaceHolder(parts);
    writeRecord(parts);
    const inNs = (name: string, cmd: string, args: string[]) => {
      const t = spawnTracked(name, 'nsenter', [`--mount=/proc/${parts.holder?.pid}/ns/mnt`, '--', cmd, ...args], logFd(name), false);
      parts.procs.set(name, t);
      return t;
    };
    makeCgroupRoot(index);
    const containerd = inNs('containerd', toolPath('containerd'), ['--config', writeContainerdConfig(dir, index)]);
    await waitFor(
      () => {
        if (containerd.child.exitCode !== null)
          throw new Error(`containerd exited (${containerd.child.exitCode}):\n${logTail(join(dir, 'containerd.log'), 30)}`);
        return ctr(parts, ['version']).status === 0;
      },
      30_000,
      'containerd',
    );
    for (const spec of [pauseImage(), busyboxImage()]) {
      const archive = join(dir, `${spec.ref.replace(/[^a-z0-9]+/g, '-')}.oci.tar`);
      writeOciArchive(spec, archive);
      importInto(parts, archive);
    }
    const [kubeletPort, healthzPort] = await freePorts(2);
    inNs('kubelet', join(nodeDir, 'kubelet'), [
      `--config=${writeKubeletConfig(dir, cp, index, kubeletPort ?? 10250, healthzPort ?? 10248)}`,
      `--kubeconfig=${cp.kubeconfigPath}`,
      `--root-dir=${join(dir, 'kubelet')}`,
      `--hostname-override=${name}`,
      '--v=2',
    ]);
    if (opts.controllers) {
      const common = [`--kubeconfig=${cp.kubeconfigPath}`, '--leader-elect=false', '--secure-port=0', '--v=1'];
      inNs('kube-scheduler', join(nodeDir, 'kube-scheduler'), common);
      inNs('kube-controller-manager', join(nodeDir, 'kube-controller-manager'), [
        ...common,
        `--root-ca-file=${join(cp.dir, 'ca.crt')}`, // becomes kube-root-ca.crt in every namespace
        '--use-service-account-credentials=false',
      ]);
    }
    await waitFor(
      async () => {
        for (const [name, t] of parts.procs) {
          if (t.child.exitCode !== null) throw new Error(`${name} exited (${t.child.exitCode}):\n${logTail(join(dir, `${name}.log`), 40)}`);
        }
        const n = await cp.request<{ status?: { conditions?: { type: string; status: string }[] } }>('GET', `/api/v1/nodes/${name}`);
        const ready = n.body.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        const sa = opts.controllers ? (await cp.request('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200 : true;
        return !!ready && sa;
      },
      120_000,
      `node ${name} Ready${opts.controllers ? ' and the default ServiceAccount' : ''}`,
    );
    const startSeconds = (Date.now() - started) / 1000;
    log(`e2e node: ${name} Ready in ${startSeconds.toFixed(1)}s (dir ${dir})`);
    let stopped: Promise<void> | undefined;
    return {
      index,
      name,
      dir,
      before,
      startSeconds,
      importImage: (archive) => importInto(parts, archive),
      containerPid: (id) => containerPid(parts, id),
      logTail: (component, lines = 60) => logTail(join(dir, `${component}.log`), lines),
      stop() {
        stopped ??= gracefulStop(parts, cp);
        return stopped;
      },
    };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const tails = ['containerd', 'kubelet'].map((c) => `--- ${c} ---\n${logTail(join(dir, `${c}.log`), 40)}`).join('\n');
    teardownSync(parts);
    throw new Error(`e2e node did not start: ${msg}\n${tails}`);
  }
}

// ---------------------------------------------------------------------------------------------
// A test process killed outright (SIGKILL) runs no hook: its children get SIGTERM (containerd,
// kubelet, controllers) or SIGKILL (the namespace holder) from the kernel, but shims, containers,
// cgroups, the bridge and created paths stay. The next startNode() cleans them up from the record.

const RECORD = 'node.json';
const STALE_PREFIX = 'orn-';

interface NodeRecord {
  owner: number;
  index: number;
  sock: string;
  before: HostSnapshot;
  createdPaths: string[];
}

function writeRecord(p: Parts): void {
  const r: NodeRecord = { owner: process.pid, index: p.index, sock: p.sock, before: p.before, createdPaths: p.createdPaths };
  writeFileSync(join(p.dir, RECORD), JSON.stringify(r));
}

function sweepStaleNodes(): void {
  for (const name of readdirSync('/tmp').filter((n) => n.startsWith(STALE_PREFIX))) {
    const dir = join('/tmp', name);
    let r: NodeRecord;
    try {
      r = JSON.parse(readFileSync(join(dir, RECORD), 'utf8')) as NodeRecord;
    } catch {
      continue; // being created, or not a node's
    }
    if (alive(r.owner)) continue;
    const parts: Parts = { index: r.index, dir, sock: r.sock, before: r.before, createdPaths: r.createdPaths, seq: -1, procs: new Map(), log: () => {} };
    liveNodes.add(parts);
    teardownSync(parts);
    process.stderr.write(`e2e node: cleaned up after node ${nodeName(r.index)} of dead process ${r.owner} (${dir})\n`);
  }
}

// ---------------------------------------------------------------------------------------------
// The private mount namespace

/** A process that only holds the mount namespace (it exits on stdin EOF, i.e. when we die). */
async function startNamespaceHolder(p: Parts): Promise<ChildProcess> {
  const sysctlDir = join(p.dir, 'sysctl');
  mkdirSync(sysctlDir);
  const binds: [string, string][] = [];
  for (const [name, value] of Object.entries(KUBELET_SYSCTLS)) {
    const f = join(sysctlDir, name.replaceAll('/', '.'));
    writeFileSync(f, `${value}\n`);
    binds.push([f, join('/proc/sys', name)]);
  }
  for (const hostPath of HOST_STATE_PATHS) {
    if (!existsSync(hostPath)) {
      p.createdPaths.push(topmostMissing(hostPath));
      mkdirSync(hostPath, { recursive: true });
    }
    const inner = join(p.dir, 'host', hostPath);
    mkdirSync(inner, { recursive: true });
    binds.push([inner, hostPath]);
  }
  const script = ['set -e', ...binds.map(([from, to]) => `mount --bind '${from}' '${to}'`), 'echo ready', 'exec cat'].join('\n');
  const holder = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', 'unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  holder.stdin?.on('error', () => {});
  let output = '';
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 10_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('ready\n')) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    holder.stdout?.on('data', onData);
    holder.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    holder.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!ready) {
    holder.kill('SIGKILL');
    throw new Error(`the mount namespace did not come up (unshare --mount; mount --bind over /proc/sys and host state paths):\n${output}`);
  }
  holder.stdout?.removeAllListeners('data');
  holder.stdout?.resume();
  return holder;
}

function topmostMissing(p: string): string {
  let cur = p;
  while (!existsSync(dirname(cur))) cur = dirname(cur);
  return cur;
}

// ---------------------------------------------------------------------------------------------
// Configuration files

function writeContainerdConfig(dir: string, index: number): string {
  const cni = join(dir, 'cni');
  mkdirSync(cni, { recursive: true });
  writeFileSync(
    join(cni, '10-outrigger-e2e.conflist'),
    JSON.stringify({
      cniVersion: '0.4.0',
      name: 'outrigger-e2e',
      plugins: [
        {
          type: 'bridge',
          bridge: bridgeName(index),
          // No gateway and no masquerade: the bridge has no address, the host no route to pods,
          // and ip_forward is never set.
          isGateway: false,
          ipMasq: false,
          ipam: { type: 'host-local', ranges: [[{ subnet: podSubnet(index) }]], dataDir: join(dir, 'ipam') },
        },
      ],
    }),
  );
  const path = join(dir, 'containerd.toml');
  writeFileSync(
    path,
    `version = 2
root = "${join(dir, 'containerd', 'root')}"
state = "${join(dir, 'containerd', 'state')}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "${join(dir, 'containerd.sock')}"

[ttrpc]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, 'containerd', 'opt')}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_REF}"
  # runc cannot lower oom_score_adj without CAP_SYS_RESOURCE
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${cni}"
    max_conf_num = 1
`,
  );
  return path;
}

function writeKubeletConfig(dir: string, cp: ControlPlane, index: number, port: number, healthzPort: number): string {
  const path = join(dir, 'kubelet.yaml');
  const endpoint = `unix://${join(dir, 'containerd.sock')}`;
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: nodeName(index),
    port,
    readOnlyPort: 0,
    healthzBindAddress: nodeName(index),
    healthzPort,
    containerRuntimeEndpoint: endpoint,
    imageServiceEndpoint: endpoint,
    cgroupDriver: 'cgroupfs',
    cgroupRoot: `/${cgroupRootName(index)}`,
    failCgroupV1: false, // these machines have cgroup v1 (hybrid)
    failSwapOn: false,
    oomScoreAdj: 0, // -999 needs CAP_SYS_RESOURCE
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: join(cp.dir, 'client-ca.crt') } },
    authorization: { mode: 'Webhook' },
    // A busy shared test machine must not evict test pods.
    evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    makeIPTablesUtilChains: false,
    resolvConf: '',
    podLogsDir: join(dir, 'pod-logs'),
    serializeImagePulls: false,
    shutdownGracePeriod: '0s',
    rotateCertificates: false,
  };
  writeFileSync(path, JSON.stringify(config, null, 2)); // JSON is YAML
  return path;
}

// ---------------------------------------------------------------------------------------------
// containerd

function ctr(p: Parts, args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(toolPath('ctr'), ['--address', p.sock, '--connect-timeout', '5s', '--namespace', 'k8s.io', ...args], { encoding: 'utf8', timeout: 120_000 });
}

function importInto(p: Parts, archive: string): void {
  const r = ctr(p, ['images', 'import', '--no-unpack=false', archive]);
  if (r.status !== 0) throw new Error(`ctr images import ${archive} failed: ${r.stderr}`);
}

function containerPid(p: Parts, id: string): number {
  const bare = id.replace(/^containerd:\/\//, '');
  const r = ctr(p, ['tasks', 'ls']);
  for (const line of r.stdout.split('\n')) {
    const [task, pid, status] = line.trim().split(/\s+/);
    if (task === bare && status === 'RUNNING') return Number(pid);
  }
  throw new Error(`no running task ${bare} in containerd:\n${r.stdout}${r.stderr}`);
}

// ---------------------------------------------------------------------------------------------
// Stopping

async function gracefulStop(p: Parts, cp: ControlPlane): Promise<void> {
  const started = Date.now();
  // No controller may recreate what is deleted next.
  for (const name of ['kube-controller-manager', 'kube-scheduler']) {
    const t = p.procs.get(name);
    if (t) await stopTracked(t, 10_000);
  }
  // Let the kubelet stop the pods (containers, sandboxes, CNI teardown) before it goes.
  await cp.request('DELETE', '/api/v1/pods', undefined, { query: { gracePeriodSeconds: 0 } }).catch(() => undefined);
  const namespaces = await cp.request<{ items?: { metadata: { name: string } }[] }>('GET', '/api/v1/namespaces').catch(() => undefined);
  for (const ns of namespaces?.body.items ?? []) {
    await cp.request('DELETE', `/api/v1/namespaces/${ns.metadata.name}/pods`, undefined, { query: { gracePeriodSeconds: 0 } }).catch(() => undefined);
  }
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && runningTasks(p).length > 0) await sleep(500);
  const kubelet = p.procs.get('kubelet');
  if (kubelet) await stopTracked(kubelet, 15_000);
  teardownSync(p);
  p.log(`e2e node: stopped in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

function runningTasks(p: Parts): string[] {
  const r = ctr(p, ['tasks', 'ls']);
  return r.stdout
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[2] === 'RUNNING')
    .map((f) => f[0] ?? '');
}

/** Synchronous, so that it also runs from the exit hook: stops everything, restores the host. */
function teardownSync(p: Parts): void {
  if (!liveNodes.has(p)) return;
  liveNodes.delete(p);
  for (const name of ['kube-controller-manager', 'kube-scheduler', 'kubelet']) killAndWait(p.procs.get(name)?.child.pid, 'SIGTERM', 10_000);
  if (existsSync(p.sock)) {
    for (const id of ctr(p, ['tasks', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
      ctr(p, ['tasks', 'kill', '--signal', 'SIGKILL', id]);
      ctr(p, ['tasks', 'delete', '--force', id]);
    }
  }
  killAndWait(p.procs.get('containerd')?.child.pid, 'SIGTERM', 15_000);
  for (const pid of shimPids(p.sock)) killAndWait(pid, 'SIGKILL', 5000);
  const ours = hostSnapshot().cgroups.filter((c) => c.endsWith(`/${cgroupRootName(p.index)}`));
  for (const c of ours) for (const pid of cgroupPids(c)) killAndWait(pid, 'SIGKILL', 5000);
  killAndWait(p.holder?.pid, 'SIGKILL', 5000);
  for (const c of ours) removeCgroup(c);
  if (!p.before.links.includes(bridgeName(p.index))) spawnSync('ip', ['link', 'delete', bridgeName(p.index)], { stdio: 'ignore' });
  if (!handOverSharedState(p)) {
    restoreIptables('iptables', p.before.iptables);
    restoreIptables('ip6tables', p.before.ip6tables);
    removeCreatedPaths(p.createdPaths);
  }
  if (process.env.E2E_KEEP_DIR !== '1') rmSync(p.dir, { recursive: true, force: true });
  for (const t of p.procs.values()) t.child.stdin?.destroy();
}

/**
 * The host paths a node created are mount points in every other node's namespace: removing one
 * while another node runs detaches that node's bind mount (its shim sockets go, containerd hangs
 * on them, and the node writes the path back onto the host). The iptables snapshot likewise holds
 * for every node. So the last node to stop puts both back, from the oldest snapshot.
 */
function handOverSharedState(p: Parts): boolean {
  const heir = [...liveNodes].at(-1);
  if (!heir) return false;
  heir.createdPaths.push(...p.createdPaths);
  if (p.seq < heir.seq) heir.before = { ...heir.before, iptables: p.before.iptables, ip6tables: p.before.ip6tables };
  if (heir.holder) writeRecord(heir);
  return true;
}

/**
 * Removes the host paths the node created. A runc cleanup of a shim that was being killed can
 * write under /run/containerd once more right after: look again for a few seconds.
 */
function removeCreatedPaths(paths: readonly string[]): void {
  for (let i = 0; i < 10; i++) {
    for (const path of paths) rmSync(path, { recursive: true, force: true });
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    if (!paths.some((path) => existsSync(path))) return;
  }
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

function killAndWait(pid: number | undefined, sig: NodeJS.Signals, graceMs: number): void {
  if (!pid || !alive(pid)) return;
  try {
    process.kill(pid, sig);
  } catch {
    return;
  }
  if (!waitSync(() => !alive(pid), graceMs)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
    waitSync(() => !alive(pid), 5000);
  }
}

function waitSync(done: () => boolean, ms: number): boolean {
  const until = Date.now() + ms;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < until) {
    if (done()) return true;
    Atomics.wait(cell, 0, 0, 50);
  }
  return done();
}

/** containerd's shims for this node: started by it, told its socket address. */
function shimPids(sock: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if ((argv[0] ?? '').endsWith('containerd-shim-runc-v2') && argv.includes(sock)) out.push(Number(d));
    } catch {
      // exited
    }
  }
  return out;
}

/** The kubelet's cgroup root in every v1 hierarchy (cpuset needs its cpus and mems filled in). */
function makeCgroupRoot(index: number): void {
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const base = join('/sys/fs/cgroup', h);
    if (h === 'unified' || !existsSync(join(base, 'cgroup.procs'))) continue;
    const d = join(base, cgroupRootName(index));
    if (!existsSync(d)) mkdirSync(d);
    if (h === 'cpuset') {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(d, f), readFileSync(join(base, f)));
    }
  }
}

function cgroupTree(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    out.push(d);
  };
  try {
    walk(root);
  } catch {
    // gone
  }
  return out; // children before parents
}

function cgroupPids(root: string): number[] {
  return cgroupTree(root).flatMap((d) => {
    try {
      return readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
}

function removeCgroup(root: string): void {
  waitSync(() => {
    for (const d of cgroupTree(root)) {
      try {
        rmdirSync(d);
      } catch {
        // busy for a moment after its last process exited
      }
    }
    return !existsSync(root);
  }, 10_000);
}

/** Deletes the rules and chains added since `before` (the kubelet's KUBE-* canaries and firewall),
 *  and with the nf_tables backend the tables that did not exist before and are empty again. */
function restoreIptables(cmd: 'iptables' | 'ip6tables', before: string[]): void {
  const save = () => iptablesLines(spawnSync(`${cmd}-save`, [], { encoding: 'utf8' }).stdout ?? '');
  const seen = new Set(qualifiedRules(before));
  const added = qualifiedRules(save()).filter((l) => !seen.has(l) && /KUBE-/.test(l));
  const split = (l: string) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as const;
  for (const [table, line] of added.map(split)) {
    if (line.startsWith('-A ')) spawnSync('sh', ['-c', `${cmd} -w 5 -t ${table} -D ${line.slice(3)}`], { stdio: 'ignore' });
  }
  for (const [table, line] of added.map(split)) {
    if (!line.startsWith(':')) continue;
    const chain = line.slice(1).split(' ')[0] ?? '';
    spawnSync(cmd, ['-w', '5', '-t', table, '-F', chain], { stdio: 'ignore' });
    spawnSync(cmd, ['-w', '5', '-t', table, '-X', chain], { stdio: 'ignore' });
  }
  if (!/nf_tables/.test(spawnSync(cmd, ['-V'], { encoding: 'utf8' }).stdout ?? '')) return;
  const family = cmd === 'iptables' ? 'ip' : 'ip6';
  const tablesBefore = new Set(before.filter((l) => l.startsWith('*')));
  const now = save();
  for (const header of now.filter((l) => l.startsWith('*') && !tablesBefore.has(l))) {
    const table = header.slice(1);
    const lines = qualifiedRules(now).filter((l) => l.startsWith(`${table} `));
    // Only built-in chains with policy ACCEPT and no rules: what creating the table left.
    if (lines.every((l) => / :[A-Z]+ ACCEPT$/.test(l))) spawnSync('nft', ['delete', 'table', family, table], { stdio: 'ignore' });
  }
}
