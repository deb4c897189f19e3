/**
 * The adversarial suite's harness: a real `outrigger serve` child process (so its RSS and event
 * loop are its own), and a watcher that keeps probing it from other connections while an attack
 * runs. Each attack test asserts its budget while it runs: probes answered within a bound, peak
 * RSS under the bundle's memory limit, no wrong answer.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import type { CertificateAuthority } from '../../src/tls/certs.ts';
import { startServeProcess } from '../e2e/support-webhook.ts';
import { EXAMPLE_PROFILES, makeCerts, pod, review, send, tempDir } from '../support/webhook.ts';

/** The memory limit of the Deployment in `outrigger manifests`. */
export const BUNDLE_MEMORY_LIMIT = 256 * 1024 * 1024;
/** How long `/healthz` or a normal review from another client may take while an attack runs. */
export const PROBE_BUDGET_MS = 100;

export interface Target {
  port: number;
  /** The admin listener (/explain, verbose readiness), on 127.0.0.1. */
  adminPort: number;
  pid: number;
  caPem: string;
  /** The CA that signed the serving certificate (to issue a renewed one). */
  ca: CertificateAuthority;
  dir: string;
  profilesDir: string;
  certDir: string;
  /** Every JSON line the server logged, parsed, in order. */
  logs: Record<string, unknown>[];
  stderr(): string;
  stop(): Promise<void>;
}

export interface TargetOptions {
  /** Profile files (name → YAML text); default: the example profiles. */
  profiles?: Record<string, string>;
  /** Extra `outrigger serve` flags. */
  args?: string[];
  /** Flags for the server's Node (the bundle's memory bounds: NODE_MEMORY_FLAGS). */
  nodeArgs?: readonly string[];
}

function exampleProfiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of ['envoy.yaml', 'log-shipper.yaml', 'secrets-agent.yaml']) out[f] = readFileSync(join(EXAMPLE_PROFILES, f), 'utf8');
  return out;
}

export async function startTarget(o: TargetOptions = {}): Promise<Target> {
  const { dir, cleanup } = tempDir('outrigger-adversarial-');
  const certDir = join(dir, 'certs');
  const profilesDir = join(dir, 'profiles');
  mkdirSync(certDir);
  mkdirSync(profilesDir);
  const certs = makeCerts();
  writeFileSync(join(certDir, 'tls.crt'), certs.certPem);
  writeFileSync(join(certDir, 'tls.key'), certs.keyPem);
  for (const [name, text] of Object.entries(o.profiles ?? exampleProfiles())) writeFileSync(join(profilesDir, name), text);
  const args = [
    '--profiles',
    profilesDir,
    '--tls-cert',
    join(certDir, 'tls.crt'),
    '--tls-key',
    join(certDir, 'tls.key'),
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--kube-version',
    '1.33',
    '--log-level',
    'info', // as in the bundle; also where the "listening" line is
    ...(o.args ?? []),
  ];
  let proc: Awaited<ReturnType<typeof startServeProcess>>;
  try {
    proc = await startServeProcess(args, certs.ca.certPem, 30_000, [...(o.nodeArgs ?? [])]);
  } catch (e) {
    cleanup();
    throw e;
  }
  const pid = proc.child.pid;
  if (pid === undefined) throw new Error('outrigger serve has no pid');
  // Warm up (JIT, TLS session code) so the first probe of an attack measures the attack, not startup.
  const agent = new Agent({ keepAlive: true, ca: certs.ca.certPem, maxSockets: 1 });
  for (let i = 0; i < 30; i++) await send(proc.port, { body: PROBE_REVIEW, agent });
  agent.destroy();
  const adminPort = proc.logs.find((l) => l.msg === 'listening')?.adminPort;
  if (typeof adminPort !== 'number') throw new Error('outrigger serve logged no admin port');
  return {
    port: proc.port,
    adminPort,
    pid,
    caPem: certs.ca.certPem,
    ca: certs.ca,
    dir,
    profilesDir,
    certDir,
    logs: proc.logs,
    stderr: proc.stderr,
    async stop() {
      await proc.stop(5_000);
      cleanup();
    },
  };
}

export interface Watch {
  probes: number;
  maxHealthzMs: number;
  maxReviewMs: number;
  /** What went wrong in a probe: a status other than 200, a review not injected, an error. */
  failures: string[];
  peakRssBytes: number;
}

/** A review of the shop pod asking for log-shipper, which every example profile set injects. */
export const PROBE_REVIEW = JSON.stringify(review(pod({ 'outrigger.dev/inject': 'log-shipper' }), { uid: 'probe' }));

/** The child's peak resident set (VmHWM: since it started) or current RSS, in bytes. */
export function rssBytes(pid: number, field: 'VmHWM' | 'VmRSS' = 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

/**
 * Runs `attack` while probing the target every `probeEveryMs` (default 20) from two connections of
 * its own: `GET /healthz`, and a normal injecting review (its answer must allow with a patch).
 * Probes run one after another, so a stalled server shows as one long probe, not a pile of them.
 */
export async function underAttack<T>(t: Target, attack: () => Promise<T>, o: { probeEveryMs?: number } = {}): Promise<{ result: T; watch: Watch }> {
  const every = o.probeEveryMs ?? 20;
  const agent = new Agent({ keepAlive: true, ca: t.caPem, maxSockets: 2 });
  const watch: Watch = { probes: 0, maxHealthzMs: 0, maxReviewMs: 0, failures: [], peakRssBytes: 0 };
  let running = true;
  const probing = (async () => {
    // At least one probe round, even when the attack ends at once.
    do {
      try {
        const h = await timed(() => send(t.port, { method: 'GET', path: '/healthz', agent }));
        watch.maxHealthzMs = Math.max(watch.maxHealthzMs, h.ms);
        if (h.value.status !== 200) watch.failures.push(`/healthz answered ${h.value.status}: ${h.value.text.slice(0, 200)}`);
        const r = await timed(() => send(t.port, { body: PROBE_REVIEW, agent }));
        watch.maxReviewMs = Math.max(watch.maxReviewMs, r.ms);
        if (r.value.status !== 200) watch.failures.push(`probe review answered ${r.value.status}: ${r.value.text.slice(0, 200)}`);
        else {
          const res = (r.value.json().response ?? {}) as { allowed?: boolean; patch?: string };
          if (res.allowed !== true || typeof res.patch !== 'string') watch.failures.push(`probe review not injected: ${r.value.text.slice(0, 200)}`);
        }
      } catch (e) {
        watch.failures.push(`probe failed: ${(e as Error).message}`);
      }
      watch.probes++;
      try {
        watch.peakRssBytes = Math.max(watch.peakRssBytes, rssBytes(t.pid, 'VmRSS'));
      } catch {
        // the process is gone; the failures say why
      }
      await new Promise((r) => setTimeout(r, every));
    } while (running);
  })();
  try {
    const result = await attack();
    return { result, watch };
  } finally {
    running = false;
    await probing;
    agent.destroy();
    try {
      watch.peakRssBytes = Math.max(watch.peakRssBytes, rssBytes(t.pid, 'VmHWM'));
    } catch {
      // exited: a failed probe already recorded it
    }
  }
}

export interface Budget {
  /** Longest a probe may take (default PROBE_BUDGET_MS). */
  probeMs?: number;
  /** Peak RSS of the server (default the bundle's memory limit). */
  rssBytes?: number;
}

export function assertWithinBudget(w: Watch, b: Budget = {}): void {
  const probeMs = b.probeMs ?? PROBE_BUDGET_MS;
  const rss = b.rssBytes ?? BUNDLE_MEMORY_LIMIT;
  assert.deepEqual(w.failures, [], 'every probe answered correctly during the attack');
  assert.ok(w.probes > 0, 'at least one probe ran');
  assert.ok(w.maxHealthzMs <= probeMs, `/healthz took ${w.maxHealthzMs.toFixed(1)} ms during the attack (budget ${probeMs} ms)`);
  assert.ok(w.maxReviewMs <= probeMs, `a normal review took ${w.maxReviewMs.toFixed(1)} ms during the attack (budget ${probeMs} ms)`);
  assert.ok(w.peakRssBytes <= rss, `peak RSS ${(w.peakRssBytes / 2 ** 20).toFixed(0)} MiB (budget ${(rss / 2 ** 20).toFixed(0)} MiB)`);
}

/** A connected TLS socket to the target (verified against its CA), for hand-written requests. */
export function rawTls(t: Target): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: t.port, servername: 'localhost', ca: t.caPem }, () => resolve(s));
    s.once('error', reject);
  });
}
