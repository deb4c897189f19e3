// What a real node needs from the host (containerd, runc, CNI plugins, iptables, util-linux), and
// a snapshot of the host state the node could change, to prove it is left as found.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CNI_BIN_DIR = '/usr/lib/cni';

const TOOLS: { path: string; pkg: string }[] = [
  { path: 'containerd', pkg: 'containerd' },
  { path: 'ctr', pkg: 'containerd' },
  { path: 'containerd-shim-runc-v2', pkg: 'containerd' },
  { path: 'runc', pkg: 'runc' },
  { path: join(CNI_BIN_DIR, 'bridge'), pkg: 'containernetworking-plugins' },
  { path: join(CNI_BIN_DIR, 'host-local'), pkg: 'containernetworking-plugins' },
  { path: join(CNI_BIN_DIR, 'loopback'), pkg: 'containernetworking-plugins' },
  { path: 'busybox', pkg: 'busybox-static' },
  { path: 'catatonit', pkg: 'catatonit' },
  { path: 'iptables-save', pkg: 'iptables' },
  // Outrigger's own image, built by `npm run image` (its tools; the image suite needs them too).
  { path: 'umoci', pkg: 'umoci' },
  { path: 'dpkg-deb', pkg: 'dpkg' },
  { path: 'unshare', pkg: 'util-linux' },
  { path: 'nsenter', pkg: 'util-linux' },
];

function which(p: string): string | undefined {
  if (p.startsWith('/')) return existsSync(p) ? p : undefined;
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (d && existsSync(join(d, p))) return join(d, p);
  }
  return undefined;
}

export function toolPath(name: string): string {
  const p = which(name);
  if (!p) throw new Error(`node e2e: ${name} not found`);
  return p;
}

function missingPackages(): string[] {
  return [...new Set(TOOLS.filter((t) => !which(t.path)).map((t) => t.pkg))];
}

/** false when the node can run; else why not (a message for `skip`). As root, missing Debian
 *  packages are installed with apt-get; with CI=true anything missing throws. */
export function nodeAvailability(): false | string {
  const ci = process.env.CI === 'true' || process.env.CI === '1';
  let missing = missingPackages();
  const isRoot = process.getuid?.() === 0;
  if (missing.length > 0 && isRoot && which('apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update'], { encoding: 'utf8', env });
    const install = spawnSync('apt-get', ['install', '-y', ...missing], { encoding: 'utf8', env });
    if (install.status !== 0) {
      throw new Error(`node e2e: apt-get install -y ${missing.join(' ')} failed:\n${update.stderr}\n${install.stderr}`);
    }
    missing = missingPackages();
  }
  let why: string | undefined;
  if (!isRoot) why = 'a kubelet-backed node needs root (mount namespaces, cgroups, container runtime)';
  else if (missing.length > 0) why = `missing Debian packages; install them with: apt-get install -y ${missing.join(' ')}`;
  else if (!existsSync('/sys/fs/cgroup/memory') && !existsSync('/sys/fs/cgroup/cgroup.controllers')) why = 'no cgroup filesystem at /sys/fs/cgroup';
  if (!why) return false;
  const msg = `node e2e: SKIPPED: ${why}`;
  if (ci) throw new Error(`node e2e: cannot run with CI=true: ${why}`);
  process.stderr.write(`\n${'!'.repeat(msg.length)}\n${msg}\n${'!'.repeat(msg.length)}\n\n`);
  return msg;
}

// ---------------------------------------------------------------------------------------------
// Host snapshot

/** Sysctls the kubelet writes (setupKernelTunables) and the CNI bridge would (ip_forward). */
export const KUBELET_SYSCTLS: Record<string, string> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};
const WATCHED_SYSCTLS = [...Object.keys(KUBELET_SYSCTLS), 'net/ipv4/ip_forward', 'net/ipv6/conf/all/forwarding'];

/** Host paths the kubelet, containerd or CNI write whatever their configured roots say. */
export const HOST_STATE_PATHS = [
  '/var/lib/kubelet',
  '/var/log/pods',
  '/var/log/containers',
  '/var/lib/cni',
  '/run/containerd',
  '/run/netns',
  '/opt/containerd',
  '/etc/cni',
];

/** Programs the node starts; after the suite none of them may run. */
export const NODE_PROGRAMS = ['containerd', 'containerd-shim-runc-v2', 'runc', 'kubelet', 'kube-scheduler', 'kube-controller-manager', 'catatonit'];

export interface HostSnapshot {
  iptables: string[];
  ip6tables: string[];
  links: string[];
  mounts: string[];
  cgroups: string[];
  sysctls: Record<string, string>;
  paths: string[];
  processes: string[];
}

function rules(cmd: string): string[] {
  const r = spawnSync(cmd, [], { encoding: 'utf8' });
  if (r.status !== 0) return [`(${cmd} failed: ${r.stderr.trim()})`];
  return iptablesLines(r.stdout);
}

/** iptables-save output without what changes by itself (counters, generated-at comments). */
export function iptablesLines(save: string): string[] {
  return save
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/\s\[\d+:\d+\]$/, ''));
}

/** Chain and rule lines prefixed with their table: "filter -A INPUT -j KUBE-FIREWALL". */
export function qualifiedRules(lines: string[]): string[] {
  let table = '';
  const out: string[] = [];
  for (const l of lines) {
    if (l.startsWith('*')) table = l.slice(1);
    else if (l.startsWith(':') || l.startsWith('-A ')) out.push(`${table} ${l}`);
  }
  return out;
}

function cgroupRoots(): string[] {
  const out: string[] = [];
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const p = join('/sys/fs/cgroup', h);
    try {
      for (const e of readdirSync(p, { withFileTypes: true })) if (e.isDirectory()) out.push(join(p, e.name));
    } catch {
      // not a directory (cgroup2 files at the root)
    }
  }
  return out.sort();
}

/** runc and catatonit also run for other tools on a shared machine: only those of a node count
 *  (containerd's k8s.io namespace on the command line, or a node's cgroup root). */
const SHARED_PROGRAMS = new Set(['runc', 'catatonit']);

function programPids(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const exe = cmdline.split('\0')[0] ?? '';
      const base = exe.slice(exe.lastIndexOf('/') + 1);
      if (!NODE_PROGRAMS.includes(base)) continue;
      if (SHARED_PROGRAMS.has(base) && !cmdline.includes('k8s.io') && !readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes('/outrigger-e2e-node-')) continue;
      out.push(`${pid} ${base}`);
    } catch {
      // exited
    }
  }
  return out.sort();
}

export function hostSnapshot(): HostSnapshot {
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  return {
    iptables: rules('iptables-save'),
    ip6tables: rules('ip6tables-save'),
    links: links.map((l) => l.split(':')[1]?.trim().split('@')[0] ?? l).sort(),
    mounts: readFileSync('/proc/self/mounts', 'utf8').split('\n').filter(Boolean).sort(),
    cgroups: cgroupRoots(),
    sysctls: Object.fromEntries(WATCHED_SYSCTLS.map((s) => [s, readSysctl(s)])),
    paths: HOST_STATE_PATHS.filter((p) => existsSync(p)),
    processes: programPids(),
  };
}

function readSysctl(s: string): string {
  try {
    return readFileSync(join('/proc/sys', s), 'utf8').trim();
  } catch {
    return '(none)';
  }
}

/** Human-readable differences between two snapshots (empty when the host is as found). The
 *  machine is shared: mounts, cgroups and processes that others remove meanwhile are not
 *  differences, nor links other than the nodes' bridges and veths. */
export function snapshotDiff(before: HostSnapshot, after: HostSnapshot): string[] {
  const out: string[] = [];
  const both: (keyof HostSnapshot)[] = ['iptables', 'ip6tables', 'paths'];
  const addedOnly: (keyof HostSnapshot)[] = ['links', 'mounts', 'cgroups', 'processes'];
  const ours = (k: keyof HostSnapshot, x: string) => k !== 'links' || /^(ore2e|veth)/.test(x);
  for (const k of [...both, ...addedOnly]) {
    const b = new Set(before[k] as string[]);
    const a = new Set(after[k] as string[]);
    for (const x of a) if (!b.has(x) && ours(k, x)) out.push(`${k}: added ${x}`);
    if (both.includes(k)) for (const x of b) if (!a.has(x)) out.push(`${k}: removed ${x}`);
  }
  for (const [s, v] of Object.entries(before.sysctls)) {
    if (after.sysctls[s] !== v) out.push(`sysctl ${s}: ${v} -> ${after.sysctls[s]}`);
  }
  return out;
}
