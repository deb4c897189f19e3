/**
 * The running admission webhook, composed of parts that each start and stop (controller-runtime's
 * Runnable is the model): metrics, profiles, the cluster connection, the certificate, the
 * listeners, the reloaders and the drain. Startup is strict (bad profiles or certificates fail at
 * once with every error, and what already started is stopped); afterwards, files are reloaded on
 * change and a bad edit never takes a good configuration away. Flags and help are the CLI's
 * (src/cli/serve-flags.ts): this module takes parsed options.
 */
import type { AddressInfo } from 'node:net';
import type { HandlerConfig } from '../admission/handle.ts';
import { DEFAULT_NAMESPACE } from '../common/labels.ts';
import type { KubeVersion, ProfileSet, SidecarProfile, UnknownProfiles } from '../engine/index.ts';
import { isClusterWide } from '../profiles/tenancy.ts';
import { COMMIT, VERSION } from '../version.ts';
import type { ClusterOptions, ClusterRuntime } from './cluster.ts';
import { createDrain, type Drain } from './drain.ts';
import { createWebhookServer, type Limits, type ServerHandle, type WebhookContext } from './http.ts';
import { errorFields, type Level, type Logger } from './log.ts';
import { mandatoryBypassReporter } from './mandatory-bypass.ts';
import { createWebhookMetrics, type WebhookMetrics } from './metrics.ts';
import { loadInitialProfiles, type ProfileState, profileSummary } from './profile-reloader.ts';
import { startReloaders } from './reloaders.ts';
import { serveReadiness } from './serve-readiness.ts';
import { clusterFailed, connectCluster, initialTls, listenAll, listenFailed, noProfiles, profilesFailed, StartError, startStep, tlsFailed } from './startup.ts';
import { certLogFields, type TlsFiles, type TlsMaterial, type TlsState } from './tls-reloader.ts';

export { StartError };

/** Where the admin listener listens (see --admin-address). */
export interface AdminAddress {
  host: string;
  port: number;
}

export interface ServeOptions {
  profiles: string[];
  /** Certificate files; absent in cert mode self, where the certificate comes from the cluster. */
  tls?: TlsFiles;
  /** Cert mode self: the --client-ca file (with files it is `tls.clientCaFile`). */
  clientCaFile?: string;
  /** Kubernetes version given by flag; when absent and connected, read from the API server. */
  kubeVersionFlag?: KubeVersion;
  cluster?: ClusterOptions;
  port: number;
  host: string;
  /** The admin listener (/explain, verbose readiness); absent: none. */
  admin?: AdminAddress;
  kubeVersion: KubeVersion;
  /** Refuse to start when the --profiles paths hold no profile and none come from the cluster. */
  requireProfiles?: boolean;
  /** Pods that request a profile that does not exist (see --unknown-profiles); default admit. */
  unknownProfiles?: UnknownProfiles;
  drainTimeoutMs: number;
  /** Not ready but still accepting, before the drain (see --shutdown-delay); default 0. */
  shutdownDelayMs?: number;
  pollMs: number;
  logLevel: Level;
  limits: Limits;
  /** Whether the webhook configuration lets opted-out pods skip Outrigger (default true: the bundle's opt-out matchCondition). */
  webhookOptOut?: boolean;
  /** Quiet time before a failed reload is reported (see the reloaders). */
  settleMs?: number;
  /**
   * Adds cluster facts to the handler config each time the file profiles change: namespace labels
   * from a namespace cache, per-namespace profile sets from cluster profiles (src/kube/).
   */
  extendConfig?: (cfg: HandlerConfig) => HandlerConfig;
  /** Side effects of admissions (events): never called for dry-run requests. */
  sideEffects?: WebhookContext['sideEffects'];
}

export interface RunningServer {
  port: number;
  host: string;
  /** The admin listener's port, when there is one. */
  adminPort?: number;
  metrics: WebhookMetrics;
  profiles: ProfileState;
  tls: TlsState;
  /** Begins the drain; resolves with the exit code when stopped. */
  shutdown(reason: string): Promise<number>;
  /** Resolves with the exit code when the server has stopped. */
  done: Promise<number>;
  /** Runs both reload checks now (tests). */
  recheck(): Promise<void>;
}

export const DEFAULT_CONTROLLER_NAMESPACE = DEFAULT_NAMESPACE;

/**
 * Logged once at start without --client-ca: /mutate then answers whoever reaches the port, so a
 * forged review shows what any profile would inject, rendered, env values included.
 */
export const UNAUTHENTICATED_WARNING =
  'no --client-ca: /mutate answers any caller that reaches the port; any pod there can learn what every profile would inject, rendered with its env values, for any namespace it names';

export async function startServe(opts: ServeOptions, log: Logger): Promise<RunningServer> {
  // What outlives the listeners, stopped in reverse order: after the drain, or at once when a later step fails.
  const resources = new AsyncDisposableStack();
  const { metrics, profiles, cluster, kubeVersion, tlsMaterial, secretSource, checkMandatory } = await startFoundation(opts, log, resources);
  const makeConfig = (set: ProfileSet): HandlerConfig => {
    let cfg: HandlerConfig = { profiles: set, kubeVersion, ...(opts.unknownProfiles ? { unknownProfiles: opts.unknownProfiles } : {}) };
    if (cluster) cfg = cluster.extendConfig(cfg);
    return opts.extendConfig ? opts.extendConfig(cfg) : cfg;
  };
  let config = makeConfig(profiles.set);
  const clientAuth = announceClientAuth(opts, log, metrics);

  // The handler asks whether the server drains; the drain needs the listeners: bound once they listen.
  let drain: Drain | undefined;
  let listening = false;
  let tlsState: TlsState = { current: tlsMaterial };
  const readiness = serveReadiness({
    listening: () => listening,
    draining: () => drain?.draining() ?? false,
    cluster,
    kubeVersion,
    profiles,
    tls: () => tlsState,
    tlsSource: opts.tls ? 'files' : secretSource,
    clientAuth,
  });
  const controllerNamespace = opts.cluster?.controllerNamespace ?? DEFAULT_CONTROLLER_NAMESPACE;
  const ctx: WebhookContext = {
    config: () => config,
    readiness,
    draining: () => drain?.draining() ?? false,
    metrics,
    log,
    limits: opts.limits,
    clusterWide: (p: SidecarProfile) => isClusterWide(p, controllerNamespace),
    ...(opts.sideEffects || cluster ? { sideEffects: sideEffectsOf(opts.sideEffects, cluster) } : {}),
  };
  const webhook = createWebhookServer({ tls: tlsMaterial, clientAuth, ctx });
  const admin = opts.admin ? createWebhookServer({ tls: tlsMaterial, clientAuth, ctx, listener: 'admin' }) : undefined;
  await startStep(
    resources,
    () => listenAll(webhook, admin, opts),
    (e) => listenFailed(e, log),
  );
  webhook.server.on('error', (e) => log.error('server error', errorFields(e, true)));
  admin?.server.on('error', (e) => log.error('admin server error', errorFields(e, true)));
  listening = true;
  metrics.ready.set(1);

  const setTls = (m: TlsMaterial) => {
    webhook.setTls(m);
    admin?.setTls(m);
  };
  let reloaders: ReturnType<typeof startReloaders>;
  try {
    reloaders = startReloaders(opts, { log, metrics, profiles, cluster, tlsMaterial, secretSource, setTls }, (set) => {
      config = makeConfig(set);
      checkMandatory();
    });
  } catch (e) {
    // Not a step that can fail today (watchers report their own errors); if it ever does, nothing
    // that already started is left running.
    for (const s of [webhook.server, admin?.server]) {
      s?.close();
      s?.closeAllConnections();
    }
    await resources.disposeAsync();
    throw e;
  }
  tlsState = reloaders.tls;
  const afterDrain = resources.move();
  drain = createDrain({
    webhook,
    admin,
    log,
    metrics,
    drainTimeoutMs: opts.drainTimeoutMs,
    shutdownDelayMs: opts.shutdownDelayMs ?? 0,
    onBegin: () => {
      metrics.ready.set(0);
      reloaders.stop();
    },
    // Releases the Lease at once, so another replica takes over certificate duty without waiting.
    release: () => afterDrain.disposeAsync(),
  });

  const { address, adminAddress } = logListening(log, webhook, admin, {
    profiles,
    kubeVersion,
    tlsMaterial,
    clientAuth,
    maxBodyBytes: opts.limits.maxBodyBytes,
  });
  return {
    port: address.port,
    host: address.address,
    ...(adminAddress ? { adminPort: adminAddress.port } : {}),
    metrics,
    profiles,
    tls: tlsState,
    shutdown: drain.stop,
    done: drain.done,
    recheck: reloaders.check,
  };
}

/**
 * What the listeners need, in order: metrics, the profiles, the cluster connection (caches synced
 * and, in cert mode self, a certificate in hand, so a replica never answers from an empty cache),
 * the first certificate. Each part goes on `resources` as it starts.
 */
async function startFoundation(opts: ServeOptions, log: Logger, resources: AsyncDisposableStack) {
  const metrics = resources.adopt(createWebhookMetrics({ version: VERSION, commit: COMMIT }), (m) => m.stop());
  const profiles = await startStep(
    resources,
    () => loadInitialProfiles(opts.profiles),
    (e) => profilesFailed(e, log),
  );
  await startStep(
    resources,
    async () => noProfiles(opts, profiles.set, log),
    () => undefined,
  );
  const reportBypass = mandatoryBypassReporter(opts.webhookOptOut ?? true, log, metrics);
  let clusterProfiles: readonly SidecarProfile[] = [];
  const checkMandatory = () => reportBypass([...profiles.set.profiles, ...clusterProfiles]);
  checkMandatory();
  const onClusterProfiles = (ps: readonly SidecarProfile[]) => {
    clusterProfiles = ps;
    checkMandatory();
  };
  const clusterOpts = opts.cluster;
  const cluster = clusterOpts
    ? resources.adopt(
        await startStep(
          resources,
          () => connectCluster({ ...opts, cluster: clusterOpts }, log, metrics, onClusterProfiles),
          (e) => clusterFailed(e, log),
        ),
        (c) => c.stop(),
      )
    : undefined;
  const secretSource = opts.cluster?.self ? `Secret ${opts.cluster.controllerNamespace}/${opts.cluster.self.secretName}` : '';
  const tlsMaterial = await startStep(
    resources,
    () => initialTls(opts, cluster, secretSource),
    (e) => tlsFailed(e, log),
  );
  if (tlsMaterial.notAfter.getTime() <= Date.now()) log.warn('the serving certificate has expired; clients will refuse it', certLogFields(tlsMaterial));
  reportStarted(metrics, profiles);
  return { metrics, profiles, cluster, kubeVersion: cluster?.kubeVersion ?? opts.kubeVersion, tlsMaterial, secretSource, checkMandatory };
}

/** The one line that says the server is up, and with what. */
function logListening(
  log: Logger,
  webhook: ServerHandle,
  admin: ServerHandle | undefined,
  o: { profiles: ProfileState; kubeVersion: KubeVersion; tlsMaterial: TlsMaterial; clientAuth: boolean; maxBodyBytes: number },
) {
  const address = webhook.server.address() as AddressInfo;
  const adminAddress = admin?.server.address() as AddressInfo | undefined;
  log.info('listening', {
    version: VERSION,
    commit: COMMIT,
    host: address.address,
    port: address.port,
    ...(adminAddress ? { adminHost: adminAddress.address, adminPort: adminAddress.port } : {}),
    profiles: profileSummary(o.profiles.set),
    kubeVersion: `${o.kubeVersion.major}.${o.kubeVersion.minor}`,
    certificate: certLogFields(o.tlsMaterial),
    clientAuth: o.clientAuth,
    maxBodyBytes: o.maxBodyBytes,
  });
  return { address, adminAddress };
}

/** Whether /mutate and /explain need a client certificate; without one, says loudly what that exposes. */
function announceClientAuth(opts: ServeOptions, log: Logger, metrics: WebhookMetrics): boolean {
  const clientAuth = (opts.tls?.clientCaFile ?? opts.clientCaFile) !== undefined;
  metrics.clientAuth.set(clientAuth ? 1 : 0);
  if (!clientAuth)
    log.warn(UNAUTHENTICATED_WARNING, {
      clientAuth,
      fix: 'serve --client-ca FILE (manifests --client-ca-configmap), or manifests --webhook-ingress-from CIDR',
    });
  return clientAuth;
}

/** The gauges of a successful first load, as a reload would set them. */
function reportStarted(metrics: WebhookMetrics, profiles: ProfileState): void {
  metrics.profileReloads.inc(['success']);
  metrics.profileReloadOk.set(1);
  metrics.profileReloadSuccess.set(Date.parse(profiles.loadedAt) / 1000);
  metrics.profilesLoaded.set(profiles.set.profiles.length);
  metrics.profilesInSync.set(1);
  metrics.tlsReloads.inc(['success']);
  metrics.tlsReloadOk.set(1);
}

function sideEffectsOf(own: ServeOptions['sideEffects'], cluster: ClusterRuntime | undefined): NonNullable<WebhookContext['sideEffects']> {
  return (result) => {
    own?.(result);
    cluster?.sideEffects(result);
  };
}
