/**
 * `outrigger serve`: flags, wiring and lifecycle of the admission webhook. Startup is strict (bad
 * flags, profiles or certificates exit at once with every error); afterwards, files are reloaded
 * on change and a bad edit never takes a good configuration away. SIGTERM/SIGINT: not ready at
 * once, stop accepting connections, finish every request in flight, exit within --drain-timeout.
 */
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { HandlerConfig } from '../admission/handle.ts';
import { DEFAULT_KUBE_VERSION, parseFlags, parseKubeVersion, UsageError } from '../cli/options.ts';
import { ADMIN_PORT, CA_SECRET, DEFAULT_NAMESPACE, LEADER_LEASE, NAME, TLS_SECRET, WEBHOOK_PORT } from '../common/labels.ts';
import type { KubeVersion, ProfileSet, SidecarProfile } from '../engine/index.ts';
import { ProfileLoadError } from '../profiles/load.ts';
import { isClusterWide } from '../profiles/tenancy.ts';
import { latestNotAfter } from '../tls/certs.ts';
import { COMMIT, VERSION } from '../version.ts';
import { type ClusterOptions, type ClusterRuntime, startCluster } from './cluster.ts';
import { clusterMetricsHooks } from './cluster-metrics.ts';
import { createWebhookServer, DEFAULT_LIMITS, type Limits, type Readiness, type WebhookContext } from './http.ts';
import { createLogger, errorFields, type Level, type Logger } from './log.ts';
import { bypassMessage, mandatoryBypassReporter } from './mandatory-bypass.ts';
import { createWebhookMetrics, type WebhookMetrics } from './metrics.ts';
import { loadInitialProfiles, type ProfileState, profileSummary, profilesInSync, startProfileReloader } from './profile-reloader.ts';
import {
  certLogFields,
  materialFromPem,
  readClientCa,
  readTlsMaterial,
  startTlsReloader,
  type TlsFiles,
  TlsLoadError,
  type TlsMaterial,
  type TlsState,
} from './tls-reloader.ts';
import { watchPaths } from './watch.ts';

export const SERVE_HELP = `Usage: outrigger serve --profiles PATH --tls-cert FILE --tls-key FILE [options]
       outrigger serve --profiles-from-cluster --cert-mode self [options]     (in a cluster)

Runs the mutating admission webhook over HTTPS (TLS 1.2 or newer). The webhook port (--port) serves
  POST /mutate    AdmissionReview admission.k8s.io/v1 or v1beta1; only pod CREATE is mutated
  GET  /healthz   alive    GET /readyz   ready to serve    GET /metrics   Prometheus
and the admin listener (--admin-address, loopback by default) serves, for operators,
  POST /explain   a Pod or an AdmissionReview (?namespace=NAME): the engine's decision as JSON (env values redacted)
  GET  /readyz?verbose  readiness detail as JSON      and /healthz, /metrics
Certificate, key, client CA and profile files are watched (including the Secret/ConfigMap volume
symlink swap) and reloaded without a restart, once they have stayed unchanged for a second (a
half-written file is never loaded); a broken update keeps the previous one.

Options:
  -p, --profiles PATH        SidecarProfile file or directory (repeatable; required without --profiles-from-cluster)
      --tls-cert FILE        serving certificate, PEM (may hold the chain; required with --cert-mode files)
      --tls-key FILE         its private key, PEM (required with --cert-mode files)
      --client-ca FILE       require client certificates signed by this CA (PEM) on /mutate and /explain
                             (any cert mode; the API server presents one when its admission config says so)
      --port N               webhook port (default 8443; 0 picks a free port)
      --host ADDR            address of the webhook port (default 0.0.0.0; :: for IPv6 and IPv4)
      --admin-address HOST:PORT  the admin listener (default 127.0.0.1:9443, or 127.0.0.1:0 with --port 0);
                             none: no admin listener
      --kube-version X.Y     Kubernetes version of the cluster; decides native sidecars for sidecarMode auto.
                             Default: read from the API server when connected, else ${DEFAULT_KUBE_VERSION.major}.${DEFAULT_KUBE_VERSION.minor}
      --drain-timeout DUR    on SIGTERM, longest wait for requests in flight (default 25s)
      --shutdown-delay DUR   on SIGTERM, keep accepting connections this long while not ready, so the
                             API server learns of the endpoint's removal first (default 0; the bundle sets 5s)
      --reload-interval DUR  poll interval for file changes, besides watching (default 10s)
      --webhook-opt-out BOOL whether the webhook configuration skips pods annotated inject "false" (its
                             opt-out matchCondition; default true, as in the bundle): mandatory
                             profiles are then reported as skippable (log, metric, profile status)
      --max-connections N    open connections at most (default ${DEFAULT_LIMITS.maxConnections}); at the limit the longest idle one is closed
      --max-connections-per-peer N  open connections from one address at most (default ${DEFAULT_LIMITS.maxConnectionsPerPeer})
      --log-level LEVEL      debug, info, warn or error (default info)
  -h, --help                 show this help

Cluster (connects with --kubeconfig, $KUBECONFIG, or the pod's service account):
      --kubeconfig FILE      kubeconfig; --context NAME picks a context
      --profiles-from-cluster  watch SidecarProfile objects (the CRD must be installed)
      --controller-namespace NAME  Outrigger's namespace: its profiles are cluster-wide (default outrigger-system)
      --no-events            do not record Events on workloads whose pods were skipped or denied
      --cert-mode MODE       files (default): --tls-cert/--tls-key; self: Outrigger keeps its own CA and
                             certificate in a Secret and the caBundle in the webhook configuration
      --tls-secret NAME      cert mode self: the serving Secret, read by every replica (default outrigger-tls)
      --ca-secret NAME       cert mode self: the CA's Secret, read by the elected replica only (default outrigger-ca)
      --service NAME         cert mode self: the Service the certificate is for (default outrigger)
      --webhook-config NAME  cert mode self: the MutatingWebhookConfiguration (default outrigger)
      --validating-webhook-config NAME  cert mode self: also keep the caBundle of this
                             ValidatingWebhookConfiguration (default none; the bundle sets outrigger)
      --leader-lease NAME    cert mode self: the Lease electing the replica that writes (default outrigger-certificates)
      --cert-validity DUR    cert mode self: lifetime of the serving certificate (default 2160h = 90 days)
      --cert-check-interval DUR  cert mode self: how often the Secret and caBundle are checked (default 10s)
      --identity NAME        name of this replica in the Lease (default $POD_NAME or the host name)

Logs are JSON lines on stdout, one per admission. DUR is a number of seconds or 500ms, 25s, 2m, 3h.
Exit codes: 0 stopped after a clean drain, 1 drain timed out, failed to listen or could not reach the
cluster, 2 usage error, 3 invalid profiles or unreadable certificate/key.
`;

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

export interface ServeHooks {
  /** Stops the server as SIGTERM would (for in-process use and tests). */
  signal?: AbortSignal;
  /** Called once the server listens and is ready. */
  onListening?: (s: RunningServer) => void;
  /** Do not install SIGTERM/SIGINT handlers (in-process tests). */
  noSignalHandlers?: boolean;
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

const DEFAULT_CONTROLLER_NAMESPACE = DEFAULT_NAMESPACE;

/** How long idle keep-alive connections are kept after SIGTERM (bounded by half the drain timeout). */
const IDLE_GRACE_MS = 5_000;
const netClose = TlsServer.prototype.close;

/** `25s`, `500ms`, `2m`, or seconds as a bare number. */
export function parseDuration(v: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a duration such as 25s, 500ms, 2m or 3h`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] as number;
  return Math.round(n * unit);
}

function parseInteger(v: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) < min || Number(v) > max)
    throw new UsageError(`${flag}: ${JSON.stringify(v)} must be a whole number from ${min} to ${max}`);
  return Number(v);
}

function parseCheckInterval(v: string): number {
  const ms = parseDuration(v, '--cert-check-interval');
  if (ms < 100) throw new UsageError('--cert-check-interval: must be at least 100ms');
  return ms;
}

/** `HOST:PORT` or `[IPv6]:PORT`, or `none`. */
export function parseAdminAddress(v: string): AdminAddress | undefined {
  if (v === 'none') return undefined;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(v);
  if (!m) throw new UsageError(`--admin-address: ${JSON.stringify(v)} must be HOST:PORT, [IPv6]:PORT or none`);
  return { host: (m[1] ?? m[2]) as string, port: parseInteger(m[3] as string, '--admin-address port', 0, 65535) };
}

const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];

/** argv → options, or 'help'. Throws UsageError naming the flag. */
export function parseServeArgs(argv: string[]): ServeOptions | 'help' {
  const { values } = parseFlags(argv, {
    profiles: { type: 'string', short: 'p', multiple: true },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'client-ca': { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'admin-address': { type: 'string' },
    'kube-version': { type: 'string' },
    'drain-timeout': { type: 'string' },
    'shutdown-delay': { type: 'string' },
    'reload-interval': { type: 'string' },
    'webhook-opt-out': { type: 'string' },
    'max-connections': { type: 'string' },
    'max-connections-per-peer': { type: 'string' },
    'log-level': { type: 'string' },
    kubeconfig: { type: 'string' },
    context: { type: 'string' },
    'profiles-from-cluster': { type: 'boolean' },
    'controller-namespace': { type: 'string' },
    'no-events': { type: 'boolean' },
    'cert-mode': { type: 'string' },
    'tls-secret': { type: 'string' },
    'ca-secret': { type: 'string' },
    service: { type: 'string' },
    'webhook-config': { type: 'string' },
    'validating-webhook-config': { type: 'string' },
    'leader-lease': { type: 'string' },
    'cert-validity': { type: 'string' },
    'cert-check-interval': { type: 'string' },
    identity: { type: 'string' },
  } as const);
  if (values.help) return 'help';
  const certMode = values['cert-mode'] ?? 'files';
  if (certMode !== 'files' && certMode !== 'self') throw new UsageError(`--cert-mode: ${JSON.stringify(certMode)} must be files or self`);
  const fromCluster = values['profiles-from-cluster'] === true;
  const required = [...(fromCluster ? [] : (['profiles'] as const)), ...(certMode === 'files' ? (['tls-cert', 'tls-key'] as const) : [])];
  const missing = required.filter((f) => values[f] === undefined || (Array.isArray(values[f]) && values[f].length === 0));
  if (missing.length > 0) throw new UsageError(`missing ${missing.map((f) => `--${f}`).join(', ')}`);
  if (certMode === 'self' && (values['tls-cert'] || values['tls-key'])) {
    throw new UsageError('--cert-mode self makes its own certificate: drop --tls-cert and --tls-key');
  }
  const selfOnly = (
    ['tls-secret', 'ca-secret', 'service', 'webhook-config', 'validating-webhook-config', 'leader-lease', 'cert-validity', 'cert-check-interval'] as const
  ).filter((f) => values[f] !== undefined);
  if (certMode !== 'self' && selfOnly.length > 0) throw new UsageError(`${selfOnly.map((f) => `--${f}`).join(', ')} only apply to --cert-mode self`);
  const connected = fromCluster || certMode === 'self' || values.kubeconfig !== undefined;
  const cluster: ClusterOptions | undefined = connected
    ? {
        ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
        ...(values.context !== undefined ? { context: values.context } : {}),
        profilesFromCluster: fromCluster,
        controllerNamespace: values['controller-namespace'] ?? DEFAULT_CONTROLLER_NAMESPACE,
        events: values['no-events'] !== true,
        ...(values.identity !== undefined ? { identity: values.identity } : {}),
        ...(certMode === 'self'
          ? {
              self: {
                secretName: values['tls-secret'] ?? TLS_SECRET,
                caSecretName: values['ca-secret'] ?? CA_SECRET,
                service: values.service ?? NAME,
                webhookConfig: values['webhook-config'] ?? NAME,
                ...(values['validating-webhook-config'] ? { validatingWebhookConfig: values['validating-webhook-config'] } : {}),
                leaderLease: values['leader-lease'] ?? LEADER_LEASE,
                ...(values['cert-check-interval'] !== undefined ? { checkIntervalMs: parseCheckInterval(values['cert-check-interval']) } : {}),
                ...(values['cert-validity'] !== undefined
                  ? { leafValiditySeconds: Math.max(1, Math.round(parseDuration(values['cert-validity'], '--cert-validity') / 1000)) }
                  : {}),
              },
            }
          : {}),
      }
    : undefined;
  const logLevel = (values['log-level'] ?? 'info') as Level;
  if (!LEVELS.includes(logLevel)) throw new UsageError(`--log-level: ${JSON.stringify(logLevel)} must be one of ${LEVELS.join(', ')}`);
  const pollMs = values['reload-interval'] !== undefined ? parseDuration(values['reload-interval'], '--reload-interval') : 10_000;
  if (pollMs < 100) throw new UsageError('--reload-interval: must be at least 100ms');
  const optOut = values['webhook-opt-out'];
  if (optOut !== undefined && optOut !== 'true' && optOut !== 'false')
    throw new UsageError(`--webhook-opt-out: ${JSON.stringify(optOut)} must be true or false`);
  const kubeVersionFlag = values['kube-version'] !== undefined ? parseKubeVersion(values['kube-version']) : undefined;
  const port = values.port !== undefined ? parseInteger(values.port, '--port', 0, 65535) : WEBHOOK_PORT;
  // With --port 0 (tests, several servers on one machine) the admin port is picked freely too.
  const admin = parseAdminAddress(values['admin-address'] ?? `127.0.0.1:${port === 0 ? 0 : ADMIN_PORT}`);
  return {
    profiles: (values.profiles as string[] | undefined) ?? [],
    ...(certMode === 'files'
      ? {
          tls: {
            certFile: values['tls-cert'] as string,
            keyFile: values['tls-key'] as string,
            ...(values['client-ca'] !== undefined ? { clientCaFile: values['client-ca'] } : {}),
          },
        }
      : values['client-ca'] !== undefined
        ? { clientCaFile: values['client-ca'] }
        : {}),
    ...(kubeVersionFlag ? { kubeVersionFlag } : {}),
    ...(cluster ? { cluster } : {}),
    port,
    host: values.host ?? '0.0.0.0',
    ...(admin ? { admin } : {}),
    kubeVersion: kubeVersionFlag ?? DEFAULT_KUBE_VERSION,
    drainTimeoutMs: values['drain-timeout'] !== undefined ? parseDuration(values['drain-timeout'], '--drain-timeout') : 25_000,
    shutdownDelayMs: values['shutdown-delay'] !== undefined ? parseDuration(values['shutdown-delay'], '--shutdown-delay') : 0,
    pollMs,
    ...(optOut !== undefined ? { webhookOptOut: optOut === 'true' } : {}),
    logLevel,
    limits: {
      ...DEFAULT_LIMITS,
      ...(values['max-connections'] !== undefined ? { maxConnections: parseInteger(values['max-connections'], '--max-connections', 1, 1_000_000) } : {}),
      ...(values['max-connections-per-peer'] !== undefined
        ? { maxConnectionsPerPeer: parseInteger(values['max-connections-per-peer'], '--max-connections-per-peer', 1, 1_000_000) }
        : {}),
    },
  };
}

/**
 * Logged once at start without --client-ca: /mutate then answers whoever reaches the port, so a
 * forged review shows what any profile would inject, rendered, env values included.
 */
export const UNAUTHENTICATED_WARNING =
  'no --client-ca: /mutate answers any caller that reaches the port; any pod there can learn what every profile would inject, rendered with its env values, for any namespace it names';

/** Thrown by startServe when startup fails; carries the exit code. */
export class StartError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

export async function startServe(opts: ServeOptions, log: Logger): Promise<RunningServer> {
  const metrics = createWebhookMetrics({ version: VERSION, commit: COMMIT });
  let profiles: ProfileState;
  try {
    profiles = await loadInitialProfiles(opts.profiles);
  } catch (e) {
    metrics.stop();
    if (e instanceof ProfileLoadError) {
      log.error('cannot start: invalid profiles', { errors: e.errors });
      throw new StartError(e.errors.map((x) => `error: ${x}`).join('\n'), 3);
    }
    throw e;
  }
  // Connected: caches synced and (cert mode self) a certificate in hand before listening, so a
  // replica never answers from an empty cache.
  const webhookOptOut = opts.webhookOptOut ?? true;
  const reportBypass = mandatoryBypassReporter(webhookOptOut, log, metrics);
  let clusterProfiles: readonly SidecarProfile[] = [];
  const checkMandatory = () => reportBypass([...profiles.set.profiles, ...clusterProfiles]);
  checkMandatory();
  let cluster: ClusterRuntime | undefined;
  if (opts.cluster) {
    const bypass = bypassMessage(webhookOptOut);
    const onClusterProfiles = (ps: readonly SidecarProfile[]) => {
      clusterProfiles = ps;
      checkMandatory();
    };
    try {
      cluster = await startCluster(
        {
          ...opts.cluster,
          ...(bypass ? { mandatoryBypass: bypass } : {}),
          onClusterProfiles,
          ...clusterMetricsHooks(metrics),
        },
        log,
        opts.kubeVersionFlag,
      );
    } catch (e) {
      metrics.stop();
      log.error('cannot start: the cluster is not usable', { error: (e as Error).message });
      throw new StartError(`error: ${(e as Error).message}`, 1);
    }
    opts = { ...opts, kubeVersion: cluster.kubeVersion };
    log.info('connected to the cluster', { apiServer: cluster.client.config.server, kubeVersion: `${cluster.kubeVersion.major}.${cluster.kubeVersion.minor}` });
  }
  const secretSource = opts.cluster?.self ? `Secret ${opts.cluster.controllerNamespace}/${opts.cluster.self.secretName}` : '';
  let tlsMaterial: TlsMaterial;
  try {
    if (opts.tls) tlsMaterial = await readTlsMaterial(opts.tls);
    else if (cluster?.tls) {
      const ca = opts.clientCaFile ? await readClientCa(opts.clientCaFile) : undefined;
      tlsMaterial = materialFromPem(cluster.tls.first.certPem, cluster.tls.first.keyPem, secretSource, ca);
    } else throw new TlsLoadError('no certificate: give --tls-cert and --tls-key, or --cert-mode self');
  } catch (e) {
    metrics.stop();
    await cluster?.stop();
    if (e instanceof TlsLoadError) {
      log.error('cannot start: unusable certificate or key', { error: e.message });
      throw new StartError(`error: ${e.message}`, 3);
    }
    throw e;
  }
  if (tlsMaterial.notAfter.getTime() <= Date.now()) log.warn('the serving certificate has expired; clients will refuse it', certLogFields(tlsMaterial));

  const makeConfig = (set: ProfileSet): HandlerConfig => {
    let cfg: HandlerConfig = { profiles: set, kubeVersion: opts.kubeVersion };
    if (cluster) cfg = cluster.extendConfig(cfg);
    return opts.extendConfig ? opts.extendConfig(cfg) : cfg;
  };
  let config = makeConfig(profiles.set);
  let listening = false;
  let draining = false;
  let tlsState: TlsState = { current: tlsMaterial };

  metrics.profileReloads.inc(['success']);
  metrics.profileReloadOk.set(1);
  metrics.profileReloadSuccess.set(Date.parse(profiles.loadedAt) / 1000);
  metrics.profilesLoaded.set(profiles.set.profiles.length);
  metrics.profilesInSync.set(1);
  metrics.tlsReloads.inc(['success']);
  metrics.tlsReloadOk.set(1);

  const clientCaFile = opts.tls?.clientCaFile ?? opts.clientCaFile;
  const clientAuth = clientCaFile !== undefined;
  metrics.clientAuth.set(clientAuth ? 1 : 0);
  if (!clientAuth)
    log.warn(UNAUTHENTICATED_WARNING, {
      clientAuth,
      fix: 'serve --client-ca FILE (manifests --client-ca-configmap), or manifests --webhook-ingress-from CIDR',
    });
  const readiness = (): Readiness => {
    const clusterReady = cluster?.readiness();
    const ready = listening && !draining && (clusterReady?.ready ?? true);
    return {
      ready,
      detail: {
        ...(clusterReady ? { cluster: clusterReady.detail } : {}),
        draining,
        listening,
        kubeVersion: `${opts.kubeVersion.major}.${opts.kubeVersion.minor}`,
        profiles: {
          loaded: profileSummary(profiles.set),
          loadedAt: profiles.loadedAt,
          lastReloadError: profiles.lastError ?? null,
          // false while the files hold something else: a change in its quiet period, or one that fails to load
          inSync: profilesInSync(profiles),
          differsSince: profiles.disk?.differsSince ?? null,
        },
        tls: {
          ...certLogFields(tlsState.current),
          expired: tlsState.current.notAfter.getTime() <= Date.now(),
          source: opts.tls ? 'files' : secretSource,
          clientAuth,
          lastReloadError: tlsState.lastError ?? null,
        },
      },
    };
  };

  const controllerNamespace = opts.cluster?.controllerNamespace ?? DEFAULT_CONTROLLER_NAMESPACE;
  const ctx: WebhookContext = {
    config: () => config,
    readiness,
    draining: () => draining,
    metrics,
    log,
    limits: opts.limits,
    clusterWide: (p: SidecarProfile) => isClusterWide(p, controllerNamespace),
    ...(opts.sideEffects || cluster ? { sideEffects: sideEffectsOf(opts.sideEffects, cluster) } : {}),
  };
  const handle = createWebhookServer({ tls: tlsMaterial, clientAuth, ctx });
  const { server } = handle;
  const admin = opts.admin ? createWebhookServer({ tls: tlsMaterial, clientAuth, ctx, listener: 'admin' }) : undefined;

  const listened: Server[] = [];
  try {
    await listen(server, opts.host, opts.port);
    listened.push(server);
    if (admin && opts.admin) await listen(admin.server, opts.admin.host, opts.admin.port);
  } catch (e) {
    for (const s of listened) s.close();
    metrics.stop();
    await cluster?.stop();
    const where = listened.length === 0 ? { host: opts.host, port: opts.port } : { host: opts.admin?.host, port: opts.admin?.port };
    log.error('cannot start: failed to listen', { ...where, ...errorFields(e) });
    throw new StartError(`error: cannot listen on ${where.host}:${where.port}${listened.length > 0 ? ' (--admin-address)' : ''}: ${(e as Error).message}`, 1);
  }
  server.on('error', (e) => log.error('server error', errorFields(e, true)));
  admin?.server.on('error', (e) => log.error('admin server error', errorFields(e, true)));
  const setTls = (m: TlsMaterial) => {
    handle.setTls(m);
    admin?.setTls(m);
  };
  listening = true;
  metrics.ready.set(1);

  const tlsReloader = opts.tls
    ? startTlsReloader({
        files: opts.tls,
        initial: tlsMaterial,
        apply: setTls,
        log,
        metrics,
        pollMs: opts.pollMs,
        ...(opts.settleMs !== undefined ? { settleMs: opts.settleMs } : {}),
      })
    : secretTlsReloader({
        cluster,
        initial: tlsMaterial,
        source: secretSource,
        apply: setTls,
        log,
        metrics,
        pollMs: opts.pollMs,
        ...(opts.clientCaFile ? { clientCaFile: opts.clientCaFile } : {}),
      });
  tlsState = tlsReloader.state;
  const profileReloader = startProfileReloader({
    paths: opts.profiles,
    state: profiles,
    log,
    metrics,
    pollMs: opts.pollMs,
    ...(opts.settleMs !== undefined ? { settleMs: opts.settleMs } : {}),
    onLoad: (set) => {
      config = makeConfig(set);
      checkMandatory();
    },
  });

  const address = server.address() as AddressInfo;
  const adminAddress = admin?.server.address() as AddressInfo | undefined;
  log.info('listening', {
    version: VERSION,
    commit: COMMIT,
    host: address.address,
    port: address.port,
    ...(adminAddress ? { adminHost: adminAddress.address, adminPort: adminAddress.port } : {}),
    profiles: profileSummary(profiles.set),
    kubeVersion: `${opts.kubeVersion.major}.${opts.kubeVersion.minor}`,
    certificate: certLogFields(tlsMaterial),
    clientAuth,
    maxBodyBytes: opts.limits.maxBodyBytes,
  });

  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((r) => {
    resolveDone = r;
  });
  let forced = false;

  let closing: (() => void) | undefined;

  const shutdown = (reason: string): Promise<number> => {
    if (draining) {
      // A second signal: stop waiting.
      if (!forced) {
        forced = true;
        log.warn('second stop request: closing every connection now', { reason });
        closing?.();
        server.closeAllConnections();
        handle.destroyAllSockets();
      }
      return done;
    }
    draining = true;
    metrics.ready.set(0);
    tlsReloader.stop();
    profileReloader.stop();
    const inFlight = metrics.inFlight.get();
    server.getConnections((_e, open) =>
      log.info('shutting down: not ready, draining', {
        reason,
        openConnections: open,
        inFlight,
        shutdownDelayMs: opts.shutdownDelayMs ?? 0,
        drainTimeoutMs: opts.drainTimeoutMs,
      }),
    );
    const started = performance.now();
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    let idleGrace: NodeJS.Timeout | undefined;
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearTimeout(idleGrace);
      clearTimeout(delay);
      server.close(() => {}); // clears the HTTP layer's timeout checker; the listener is already closed
      if (admin) {
        // Operators' requests only: nothing to drain for.
        admin.server.close(() => {});
        admin.server.closeAllConnections();
        admin.destroyAllSockets();
      }
      metrics.stop();
      const report = () => {
        log.info('stopped', { exitCode: code, drainMs: Math.round(performance.now() - started) });
        log.flush();
        resolveDone(code);
      };
      // Releases the Lease at once, so another replica takes over certificate duty without waiting.
      if (cluster)
        cluster.stop().then(report, (e: Error) => {
          log.warn('cluster shutdown failed', { error: e.message });
          report();
        });
      else report();
    };
    // Until the delay is over the listener stays open: the API server picks endpoints from its own
    // view of the Service, which learns of this pod's removal a moment after the pod is not ready,
    // and a refused connection in that moment would fail an admission. Answers already carry
    // `Connection: close`, so connections do not outlive the delay by much.
    closing = () => {
      closing = undefined;
      timer = setTimeout(() => {
        server.getConnections((_e, open) => {
          log.warn('drain timeout: closing the connections still open', { openConnections: open, inFlight: metrics.inFlight.get() });
          server.closeAllConnections();
          handle.destroyAllSockets();
          finish(1);
        });
      }, opts.drainTimeoutMs);
      // Stop accepting at once, but keep open connections for a grace period: the API server keeps
      // reusing its idle keep-alive connections to this pod (they are pinned, endpoint removal does
      // not move them), and each request on one is answered with `Connection: close`, which retires
      // that connection without a race. Closing an idle connection is the one step that can race
      // with a request already on the wire, so it is done once, after the busy connections have
      // been retired. (https.Server#close would close idle connections immediately: the net-level
      // close is used on purpose.)
      netClose.call(server, () => finish(forced ? 1 : 0));
      idleGrace = setTimeout(() => server.closeIdleConnections(), Math.min(IDLE_GRACE_MS, opts.drainTimeoutMs / 2));
      idleGrace.unref();
    };
    const delay = opts.shutdownDelayMs ? setTimeout(() => closing?.(), opts.shutdownDelayMs) : undefined;
    if (!delay) closing();
    return done;
  };

  const running: RunningServer = {
    port: address.port,
    host: address.address,
    ...(adminAddress ? { adminPort: adminAddress.port } : {}),
    metrics,
    profiles,
    tls: tlsState,
    shutdown,
    done,
    recheck: async () => {
      await Promise.all([tlsReloader.check(), profileReloader.check()]);
    },
  };
  return running;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function sideEffectsOf(own: ServeOptions['sideEffects'], cluster: ClusterRuntime | undefined): NonNullable<WebhookContext['sideEffects']> {
  return (result) => {
    own?.(result);
    cluster?.sideEffects(result);
  };
}

/**
 * Cert mode self: new material arrives from the Secret (every replica polls it), and a --client-ca
 * file is watched like the files of cert mode files. Either change rebuilds the material from the
 * latest of both; a refused one keeps what is served, reported like any failed reload.
 */
function secretTlsReloader(o: {
  cluster: ClusterRuntime | undefined;
  initial: TlsMaterial;
  source: string;
  apply: (m: TlsMaterial) => void;
  log: Logger;
  metrics: WebhookMetrics;
  pollMs: number;
  clientCaFile?: string;
}) {
  const { metrics, log, source } = o;
  const state: TlsState = { current: o.initial };
  metrics.certExpiry.set(o.initial.notAfter.getTime() / 1000);
  let pem = o.cluster?.tls?.first;
  const reportCa = (bundle: string) => {
    const t = latestNotAfter(bundle);
    if (t) metrics.caExpiry.set(t.getTime() / 1000);
  };
  if (pem) reportCa(pem.caBundle);
  let ca = o.initial.ca && o.clientCaFile ? { file: o.clientCaFile, pem: o.initial.ca } : undefined;
  let failed = '';
  const rebuild = (what: string) => {
    if (!pem) return;
    try {
      const m = materialFromPem(pem.certPem, pem.keyPem, source, ca);
      if (m.fingerprint === state.current.fingerprint) {
        // Back to what is served: an earlier refusal no longer applies.
        if (failed) {
          failed = '';
          delete state.lastError;
          metrics.tlsReloadOk.set(1);
        }
        return;
      }
      o.apply(m);
      state.current = m;
      delete state.lastError;
      failed = '';
      metrics.tlsReloads.inc(['success']);
      metrics.tlsReloadOk.set(1);
      metrics.certExpiry.set(m.notAfter.getTime() / 1000);
      log.info(`${what} replaced`, { source, ...certLogFields(m) });
    } catch (e) {
      refuse(what, (e as Error).message);
    }
  };
  const refuse = (what: string, error: string) => {
    if (error === failed) return; // the same refusal, seen again by the poll
    failed = error;
    state.lastError = { time: new Date().toISOString(), error };
    metrics.tlsReloads.inc(['failure']);
    metrics.tlsReloadOk.set(0);
    log.error(`new ${what} refused; keeping the current one`, { source, error });
  };
  o.cluster?.tls?.onChange((m) => {
    pem = m;
    reportCa(m.caBundle);
    rebuild('serving certificate');
  });
  const file = o.clientCaFile;
  const check = async () => {
    if (!file) return;
    try {
      ca = await readClientCa(file);
    } catch (e) {
      refuse('client CA', (e as Error).message);
      return;
    }
    rebuild('client CA');
  };
  const w = file ? watchPaths({ paths: [file], pollMs: o.pollMs, check }) : undefined;
  return { state, stop: () => w?.stop(), check };
}

/** The `outrigger serve` command: returns the exit code once the server has stopped. */
export async function runServe(argv: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }, hooks: ServeHooks = {}): Promise<number> {
  let opts: ServeOptions | 'help';
  try {
    opts = parseServeArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`error: ${e.message}\nRun 'outrigger serve --help' for usage.\n`);
    return 2;
  }
  if (opts === 'help') {
    io.stdout.write(SERVE_HELP);
    return 0;
  }
  const log = createLogger(io.stdout, { level: opts.logLevel });
  let running: RunningServer;
  try {
    running = await startServe(opts, log);
  } catch (e) {
    log.flush();
    if (e instanceof StartError) {
      io.stderr.write(`${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }

  const onSignal = (signal: NodeJS.Signals) => void running.shutdown(signal);
  if (!hooks.noSignalHandlers) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  const onAbort = () => void running.shutdown('abort');
  if (hooks.signal?.aborted) onAbort();
  else hooks.signal?.addEventListener('abort', onAbort, { once: true });
  hooks.onListening?.(running);

  const code = await running.done;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  hooks.signal?.removeEventListener('abort', onAbort);
  return code;
}
