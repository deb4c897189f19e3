/**
 * What `outrigger serve` does with a cluster connection: namespace labels and SidecarProfiles
 * watched into memory (the admission path only reads these caches), the API server's version,
 * events on workloads whose pods were skipped or denied, and (cert mode `self`) the serving
 * certificate from the Secret that the elected replica keeps. Startup waits until the caches have
 * synced and a certificate exists, so a replica never answers from an empty cache.
 */
import { hostname } from 'node:os';
import type { AdmissionResult, HandlerConfig } from '../admission/handle.ts';
import { ERROR_REASONS } from '../common/errors.ts';
import type { KubeVersion, ProfileSet, SidecarProfile } from '../engine/index.ts';
import type { KubeClient } from '../kube/client.ts';
import { connect, serverVersion } from '../kube/connect.ts';
import { EventRecorder, podEvent } from '../kube/events.ts';
import { LeaderElection } from '../kube/lease.ts';
import { NamespaceCache } from '../kube/namespaces.ts';
import { ClusterProfiles, type ProfileObjectState } from '../kube/profiles.ts';
import { SelfManagedTls, type ServingMaterial } from '../kube/self-tls.ts';
import { kubeVersionRefusal } from '../policy/refusals.ts';
import { PolicySync, servedCondition } from '../policy/sync.ts';
import { tenancy } from '../profiles/tenancy.ts';
import type { Logger } from './log.ts';

export interface ClusterOptions {
  kubeconfig?: string;
  context?: string;
  /** Watch SidecarProfile objects (with the CRD installed); file profiles still apply. */
  profilesFromCluster: boolean;
  /** Outrigger's own namespace: its profiles are cluster-wide, and its Secret and Lease live there. */
  controllerNamespace: string;
  events: boolean;
  identity?: string;
  /** Cert mode `self`. */
  self?: {
    secretName: string;
    caSecretName: string;
    service: string;
    /** Unset in policy mode (no webhook mutates pods): the validating configuration is then required. */
    webhookConfig?: string;
    validatingWebhookConfig?: string;
    leaderLease: string;
    leafValiditySeconds?: number;
    checkIntervalMs?: number;
  };
  /** `policy`: keep admission policies for the cluster-wide profiles in the cluster (policy/sync.ts). */
  admission?: 'webhook' | 'policy';
  /** The Lease electing the replica that writes, when not cert mode self's (policy mode). */
  leaderLease?: string;
  /** See mandatory-bypass.ts: written into the status of mandatory cluster profiles. */
  mandatoryBypass?: string;
  /** Called with the cluster profiles in use after each change. */
  onClusterProfiles?: (profiles: readonly SidecarProfile[]) => void;
  /** Called after each change with how many SidecarProfiles are not in use as written, by reason. */
  onProblems?: (counts: ProblemCounts) => void;
  /** Cert mode self: called when this replica gains or loses the Lease. */
  onLeader?: (leader: boolean, lease: string) => void;
  /** Cert mode self: called after each of the leader's caBundle checks (true: wrong and not fixed). */
  onCaBundleMismatch?: (mismatch: boolean) => void;
  /** Longest wait for caches and the first certificate at startup. */
  syncTimeoutMs?: number;
}

export interface ClusterRuntime {
  client: KubeClient;
  kubeVersion: KubeVersion;
  /** Adds namespace labels and per-namespace profile sets to the handler config built from file profiles. */
  extendConfig(cfg: HandlerConfig): HandlerConfig;
  sideEffects(result: AdmissionResult): void;
  readiness(): { ready: boolean; detail: Record<string, unknown> };
  /** Cert mode self: the first certificate (resolved before startup ends) and later ones. */
  tls?: { first: ServingMaterial; onChange(cb: (m: ServingMaterial) => void): void };
  stop(): Promise<void>;
}

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms / 1000}s waiting for ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });

const WEBHOOK_SERVED = { status: 'True', reason: 'Webhook', message: 'Injected by the mutating admission webhook.' } as const;

export type ProblemCounts = Record<'Invalid' | 'NameTaken', number>;

/** How many profiles are not in use as written, by reason; the metric's labels. */
export function problemCounts(p: ClusterProfiles): ProblemCounts {
  const counts: ProblemCounts = { Invalid: 0, NameTaken: 0 };
  for (const s of p.problems.values()) if (s.problem) counts[s.problem.reason]++;
  return counts;
}

/** Shown in /readyz?verbose: counts, and the first few profiles not in use as written (a probe's cost must not grow with the cluster). */
const PROBLEMS_SHOWN = 20;
function clusterProfilesDetail(p: ClusterProfiles): Record<string, unknown> {
  const notInUse: Record<string, unknown>[] = [];
  for (const s of p.problems.values()) {
    if (notInUse.length === PROBLEMS_SHOWN) break;
    notInUse.push({ profile: s.key, active: s.active?.version ?? null, problem: s.problem?.message ?? null });
  }
  return { count: p.states.size, notInUseCount: p.problems.size, notInUse };
}

export async function startCluster(o: ClusterOptions, log: Logger, kubeVersionFlag: KubeVersion | undefined): Promise<ClusterRuntime> {
  const client = connect({ kubeconfig: o.kubeconfig, context: o.context });
  const timeoutMs = o.syncTimeoutMs ?? 120_000;
  const identity = o.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const kubeLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => log[level](msg, fields ?? {});
  const started: { stop(): Promise<void> }[] = [];
  try {
    const kubeVersion = kubeVersionFlag ?? (await withTimeout(serverVersion(client), timeoutMs, 'the API server version'));

    const namespaces = new NamespaceCache(client, { onError: (e, retryInMs) => log.warn('namespace watch failed; retrying', { error: e.message, retryInMs }) });
    namespaces.informer.start();
    started.push(namespaces.informer);

    let election: LeaderElection | undefined;
    let profiles: ClusterProfiles | undefined;
    let policies: PolicySync | undefined;
    // One elected replica writes the certificates (cert mode self) and the admission policies
    // (policy mode): replicas that compiled different sets (a rolling upgrade) must not fight.
    const lease = o.self?.leaderLease ?? o.leaderLease;
    if (lease) {
      // The replica that becomes leader takes over status writes: it checks every profile's status once.
      const onChange = (leader: boolean) => {
        o.onLeader?.(leader, lease);
        if (leader) {
          policies?.resync();
          profiles?.resyncStatus();
        } else o.onCaBundleMismatch?.(false);
      };
      election = new LeaderElection(client, { namespace: o.controllerNamespace, name: lease, identity, log: kubeLog, onChange });
      o.onLeader?.(false, lease);
      election.start();
      started.push(election);
    }
    if (o.admission === 'policy') {
      const unsupported = kubeVersionRefusal(kubeVersion);
      if (unsupported) throw new Error(`--admission policy: ${unsupported}`);
      const leader = election;
      policies = new PolicySync(client, {
        controllerNamespace: o.controllerNamespace,
        kubeVersion,
        isLeader: () => leader?.leader ?? true,
        onServed: (keys) => profiles?.resyncStatus(keys),
        log: kubeLog,
      });
      // Started after the election, so stopped before it: no write once the Lease is released.
      started.push(policies);
    }

    let filesKnown = false;
    if (o.profilesFromCluster) {
      // Status is written by the elected replica only (or by every replica when none is elected).
      const writer = election;
      const inUse = () => [...(profiles?.states.values() ?? [])].flatMap((s) => (s.active ? [s.active] : []));
      profiles = new ClusterProfiles(client, {
        controllerNamespace: o.controllerNamespace,
        log: kubeLog,
        writeStatus: () => writer?.leader ?? true,
        ...(o.mandatoryBypass ? { mandatoryBypass: o.mandatoryBypass } : {}),
        // Which mode serves each profile: its admission policies, or this webhook.
        served: (s: ProfileObjectState) => (policies ? servedCondition(s, policies) : s.active ? WEBHOOK_SERVED : undefined),
        onUpdate: (t) => {
          // Not before the file profiles are known: a set without them would take their policies away.
          if (filesKnown) policies?.update(t);
          o.onClusterProfiles?.(inUse());
          if (profiles) o.onProblems?.(problemCounts(profiles));
        },
      });
      profiles.start();
      started.push(profiles);
    }

    let tls: ClusterRuntime['tls'];
    if (o.self && election) {
      const listeners: ((m: ServingMaterial) => void)[] = [];
      let first: ((m: ServingMaterial) => void) | undefined;
      const firstMaterial = new Promise<ServingMaterial>((r) => {
        first = r;
      });
      const leader = election;
      const selfTls = new SelfManagedTls(client, {
        namespace: o.controllerNamespace,
        secretName: o.self.secretName,
        caSecretName: o.self.caSecretName,
        service: o.self.service,
        ...(o.self.webhookConfig ? { webhookConfig: o.self.webhookConfig } : {}),
        ...(o.self.validatingWebhookConfig ? { validatingWebhookConfig: o.self.validatingWebhookConfig } : {}),
        isLeader: () => leader.leader,
        ...(o.self.leafValiditySeconds ? { policy: { leafValiditySeconds: o.self.leafValiditySeconds } } : {}),
        ...(o.self.checkIntervalMs ? { intervalMs: o.self.checkIntervalMs } : {}),
        log: kubeLog,
        // Only the leader keeps the caBundle, so only the leader reports on it: a round still in
        // flight when the Lease is lost must not set the gauge again after onChange cleared it.
        ...(o.onCaBundleMismatch ? { onCaBundleMismatch: (m: boolean) => o.onCaBundleMismatch?.(m && leader.leader) } : {}),
        onMaterial: (m) => {
          first?.(m);
          first = undefined;
          for (const l of listeners) l(m);
        },
      });
      selfTls.start();
      started.push(selfTls);
      tls = {
        first: await withTimeout(firstMaterial, timeoutMs, `a serving certificate in Secret ${o.controllerNamespace}/${o.self.secretName}`),
        onChange: (cb) => listeners.push(cb),
      };
    }

    await withTimeout(
      Promise.all([namespaces.informer.waitForSync(), profiles?.informer.waitForSync()]),
      timeoutMs,
      o.profilesFromCluster ? 'the namespace and SidecarProfile caches to sync (is the CRD installed?)' : 'the namespace cache to sync',
    );

    const events = o.events ? new EventRecorder(client, { instance: identity }) : undefined;
    if (events) events.onError = (e) => log.warn('could not record an event', { error: e.message });
    let fileTenancy = tenancy([], o.controllerNamespace);

    return {
      client,
      kubeVersion,
      extendConfig(cfg) {
        const files = cfg.profiles.profiles;
        let profilesFor: (namespace: string) => ProfileSet;
        if (profiles) {
          filesKnown = true;
          profiles.setFileProfiles(files);
          const p = profiles;
          profilesFor = (ns) => p.tenancy.forNamespace(ns);
        } else {
          fileTenancy = tenancy(files, o.controllerNamespace);
          const t = fileTenancy;
          profilesFor = (ns) => t.forNamespace(ns);
        }
        return { ...cfg, namespaceLabels: (ns) => namespaces.labels(ns), profilesFor };
      },
      sideEffects(result) {
        const d = result.decision;
        if (!events || !d || result.outcome === 'injected' || !ERROR_REASONS.has(d.reason)) return;
        const e = podEvent(d.pod, result.namespace, 'Warning', d.outcome === 'denied' ? 'InjectionDenied' : 'InjectionSkipped', d.message);
        if (e) events.record(e);
      },
      readiness() {
        const synced = namespaces.informer.synced && (profiles?.informer.synced ?? true);
        return {
          ready: synced,
          detail: {
            cachesSynced: synced,
            apiServer: client.config.server,
            ...(election ? { leader: election.leader, identity } : {}),
            ...(events ? { events: events.stats } : {}),
            ...(profiles ? { clusterProfiles: clusterProfilesDetail(profiles) } : {}),
          },
        };
      },
      ...(tls ? { tls } : {}),
      async stop() {
        await events?.flush();
        for (const s of started.reverse()) await s.stop();
        client.close();
      },
    };
  } catch (e) {
    for (const s of started.reverse()) await s.stop().catch(() => {});
    client.close();
    throw e;
  }
}
