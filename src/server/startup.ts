/**
 * The steps of startServe that can fail, each with its own exit code and log line. Startup is
 * strict: a failed step stops what the earlier ones started (the resources stack, in reverse
 * order), logs why, and ends the process with the code the help text documents.
 */
import type { Server } from 'node:https';
import type { ProfileSet, SidecarProfile } from '../engine/index.ts';
import { ProfileLoadError } from '../profiles/load.ts';
import { type ClusterRuntime, startCluster } from './cluster.ts';
import { clusterMetricsHooks } from './cluster-metrics.ts';
import type { ServerHandle } from './http.ts';
import { errorFields, type Logger } from './log.ts';
import { bypassMessage } from './mandatory-bypass.ts';
import type { WebhookMetrics } from './metrics.ts';
import type { ServeOptions } from './serve-command.ts';
import { materialFromPem, readClientCa, readTlsMaterial, TlsLoadError, type TlsMaterial } from './tls-reloader.ts';

/** Thrown by startServe when startup fails; carries the exit code. */
export class StartError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Runs one startup step. If it throws, everything started so far is stopped, then `failed` logs
 * and names the StartError; an error it does not know (a bug) is thrown as it is.
 */
export async function startStep<T>(started: AsyncDisposableStack, run: () => Promise<T>, failed: (e: unknown) => StartError | undefined): Promise<T> {
  try {
    return await run();
  } catch (e) {
    await started.disposeAsync();
    throw failed(e) ?? e;
  }
}

export function profilesFailed(e: unknown, log: Logger): StartError | undefined {
  if (!(e instanceof ProfileLoadError)) return undefined;
  log.error('cannot start: invalid profiles', { errors: e.errors });
  return new StartError(e.errors.map((x) => `error: ${x}`).join('\n'), 3);
}

/**
 * Zero profiles from the files, with none to come from the cluster, serves nothing: usually a wrong
 * path or an empty ConfigMap. Said at start (a warning), or refused with --require-profiles.
 */
export function noProfiles(opts: ServeOptions, set: ProfileSet, log: Logger): void {
  if (set.profiles.length > 0 || opts.cluster?.profilesFromCluster) return;
  const paths = opts.profiles.join(', ');
  if (opts.requireProfiles) {
    log.error('cannot start: no profiles', { paths: opts.profiles });
    throw new StartError(`error: --profiles ${paths}: no SidecarProfiles found (--require-profiles)`, 3);
  }
  log.warn('no profiles loaded: every pod is admitted unchanged', { paths: opts.profiles });
}

/** Connected: caches synced and (cert mode self) a certificate in hand before listening, so a replica never answers from an empty cache. */
export async function connectCluster(
  opts: ServeOptions & { cluster: NonNullable<ServeOptions['cluster']> },
  log: Logger,
  metrics: WebhookMetrics,
  onClusterProfiles: (ps: readonly SidecarProfile[]) => void,
): Promise<ClusterRuntime> {
  const bypass = bypassMessage(opts.webhookOptOut ?? true);
  const cluster = await startCluster(
    { ...opts.cluster, ...(bypass ? { mandatoryBypass: bypass } : {}), onClusterProfiles, ...clusterMetricsHooks(metrics) },
    log,
    opts.kubeVersionFlag,
  );
  log.info('connected to the cluster', { apiServer: cluster.client.config.server, kubeVersion: `${cluster.kubeVersion.major}.${cluster.kubeVersion.minor}` });
  return cluster;
}

/** Any failure to connect is the cluster's: exit 1. */
export function clusterFailed(e: unknown, log: Logger): StartError {
  log.error('cannot start: the cluster is not usable', { error: (e as Error).message });
  return new StartError(`error: ${(e as Error).message}`, 1);
}

/** The first certificate: from the files (cert mode files) or from the cluster's Secret (cert mode self). */
export async function initialTls(opts: ServeOptions, cluster: ClusterRuntime | undefined, secretSource: string): Promise<TlsMaterial> {
  if (opts.tls) return readTlsMaterial(opts.tls);
  if (cluster?.tls) {
    const ca = opts.clientCaFile ? await readClientCa(opts.clientCaFile) : undefined;
    return materialFromPem(cluster.tls.first.certPem, cluster.tls.first.keyPem, secretSource, ca);
  }
  throw new TlsLoadError('no certificate: give --tls-cert and --tls-key, or --cert-mode self');
}

export function tlsFailed(e: unknown, log: Logger): StartError | undefined {
  if (!(e instanceof TlsLoadError)) return undefined;
  log.error('cannot start: unusable certificate or key', { error: e.message });
  return new StartError(`error: ${e.message}`, 3);
}

/** A listener that could not listen: which one, and why. */
export class ListenError extends Error {
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly admin: boolean;
  readonly error: unknown;
  constructor(host: string | undefined, port: number | undefined, admin: boolean, error: unknown) {
    super((error as Error).message);
    this.host = host;
    this.port = port;
    this.admin = admin;
    this.error = error;
  }
}

/** Listens on the webhook port, then the admin address; on a failure closes what already listens. */
export async function listenAll(webhook: ServerHandle, admin: ServerHandle | undefined, opts: ServeOptions): Promise<void> {
  try {
    await listen(webhook.server, opts.host, opts.port);
  } catch (e) {
    throw new ListenError(opts.host, opts.port, false, e);
  }
  if (!admin || !opts.admin) return;
  try {
    await listen(admin.server, opts.admin.host, opts.admin.port);
  } catch (e) {
    webhook.server.close();
    throw new ListenError(opts.admin.host, opts.admin.port, true, e);
  }
}

export function listenFailed(e: unknown, log: Logger): StartError | undefined {
  if (!(e instanceof ListenError)) return undefined;
  log.error('cannot start: failed to listen', { host: e.host, port: e.port, ...errorFields(e.error) });
  return new StartError(`error: cannot listen on ${e.host}:${e.port}${e.admin ? ' (--admin-address)' : ''}: ${e.message}`, 1);
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
