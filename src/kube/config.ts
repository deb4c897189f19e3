/**
 * Where the API server is and how to authenticate: a kubeconfig file (current context: server,
 * CA, client certificate, bearer token or an exec credential plugin) or the in-cluster service
 * account. Legacy auth-provider users are refused with a clear error rather than half-supported.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { isObject, type JsonObject, type JsonValue } from '../common/json.ts';
import { type ClusterInfo, type ExecCredentialSource, execCredentialSource, execPlugin } from './exec-credential.ts';

export interface KubeConfig {
  server: string;
  ca?: string;
  cert?: string;
  key?: string;
  /** Returns the current bearer token; re-reads a token file so rotated service-account tokens are used. */
  token?: () => string;
  insecureSkipTlsVerify?: boolean;
  /** The cluster's `tls-server-name`: the name its certificate is checked against instead of the server's host. */
  tlsServerName?: string;
  /** The cluster's `proxy-url`. */
  proxyUrl?: string;
  /** The proxy the agent uses (HTTPS_PROXY/HTTP_PROXY, both the one URL), as connect() decided it; absent: direct. */
  proxyEnv?: Record<string, string>;
  /** An exec plugin's credentials (token, or client certificate and key), run when needed. */
  exec?: ExecCredentialSource;
  /** Namespace of the context, or of the service account in-cluster. */
  namespace: string;
}

export class KubeConfigError extends Error {}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function fileOrData(obj: JsonObject, key: string, base: string): string | undefined {
  const data = obj[`${key}-data`];
  if (typeof data === 'string') return Buffer.from(data, 'base64').toString('utf8');
  const path = obj[key];
  if (typeof path === 'string') return readFileSync(isAbsolute(path) ? path : join(base, path), 'utf8');
  return undefined;
}

/** A token file is read at most once per minute. */
function tokenFromFile(path: string): () => string {
  let cached = '';
  let readAt = 0;
  return () => {
    if (Date.now() - readAt > 60_000) {
      cached = readFileSync(path, 'utf8').trim();
      readAt = Date.now();
    }
    return cached;
  };
}

/** An entry of a kubeconfig's clusters, users or contexts, with the file it came from (relative paths are resolved against it). */
interface Entry {
  value: JsonObject;
  file: string;
}

/**
 * The kubeconfig files, merged as kubectl merges a multi-path KUBECONFIG: the first file to set
 * current-context wins, and so does the first to name a cluster, user or context.
 */
function mergeFiles(files: readonly string[]): {
  currentContext?: string;
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, Entry>;
} {
  const merged = { clusters: new Map<string, Entry>(), users: new Map<string, Entry>(), contexts: new Map<string, Entry>() };
  let currentContext: string | undefined;
  for (const file of files) {
    let doc: JsonValue;
    try {
      doc = parse(readFileSync(file, 'utf8')) as JsonValue;
    } catch (e) {
      throw new KubeConfigError(`${file}: ${(e as Error).message}`);
    }
    if (doc === null || doc === undefined) continue; // an empty file, as kubectl allows
    if (!isObject(doc)) throw new KubeConfigError(`${file}: not a kubeconfig`);
    if (currentContext === undefined && typeof doc['current-context'] === 'string' && doc['current-context'] !== '') currentContext = doc['current-context'];
    for (const [list, key] of [
      ['clusters', 'cluster'],
      ['users', 'user'],
      ['contexts', 'context'],
    ] as const) {
      const items = doc[list];
      if (items === undefined || items === null) continue;
      if (!Array.isArray(items)) throw new KubeConfigError(`${file}: ${list} must be a list`);
      for (const item of items) {
        if (!isObject(item) || typeof item.name !== 'string') throw new KubeConfigError(`${file}: every entry of ${list} needs a name`);
        if (merged[list].has(item.name)) continue;
        merged[list].set(item.name, { value: isObject(item[key]) ? item[key] : {}, file });
      }
    }
  }
  return currentContext === undefined ? merged : { ...merged, currentContext };
}

function execSource(exec: JsonObject, user: string, file: string, server: string, ca: string | undefined, cluster: JsonObject): ExecCredentialSource {
  const info: ClusterInfo = { server };
  if (ca) info['certificate-authority-data'] = Buffer.from(ca).toString('base64');
  if (cluster['insecure-skip-tls-verify'] === true) info['insecure-skip-tls-verify'] = true;
  // The rest of client-go's Cluster a plugin may need to reach the API server as the client does.
  for (const k of ['tls-server-name', 'proxy-url'] as const) if (typeof cluster[k] === 'string' && cluster[k] !== '') info[k] = cluster[k];
  if (cluster['disable-compression'] === true) info['disable-compression'] = true;
  // The cluster's client.authentication.k8s.io/exec extension is the plugin's per-cluster config.
  const ext = Array.isArray(cluster.extensions) ? cluster.extensions.find((e) => isObject(e) && e.name === 'client.authentication.k8s.io/exec') : undefined;
  if (isObject(ext) && ext.extension !== undefined) info.config = ext.extension;
  return execCredentialSource(execPlugin(exec, user, file, info));
}

/** An http:// or https:// URL with a host: what a server and a proxy-url may be. */
const HTTP_URL = /^https?:\/\/[^/]/;

/** The current context's server and credentials from one kubeconfig file or several merged. */
export function loadKubeconfig(fileOrFiles: string | readonly string[], context?: string): KubeConfig {
  const files = typeof fileOrFiles === 'string' ? [fileOrFiles] : fileOrFiles;
  const where = files.join(', ');
  const m = mergeFiles(files);
  const ctxName = context ?? m.currentContext;
  if (typeof ctxName !== 'string' || ctxName === '') throw new KubeConfigError(`${where}: no current-context and no --context given`);
  const ctx = m.contexts.get(ctxName);
  if (!ctx) throw new KubeConfigError(`${where}: no context named ${JSON.stringify(ctxName)}`);
  const clusterEntry = m.clusters.get(ctx.value.cluster as string);
  if (!clusterEntry) throw new KubeConfigError(`${ctx.file}: no cluster named ${JSON.stringify(ctx.value.cluster)}`);
  const cluster = clusterEntry.value;
  const userEntry = ctx.value.user === undefined ? undefined : m.users.get(ctx.value.user as string);
  if (ctx.value.user !== undefined && !userEntry) throw new KubeConfigError(`${ctx.file}: no user named ${JSON.stringify(ctx.value.user)}`);
  if (typeof cluster.server !== 'string') throw new KubeConfigError(`${clusterEntry.file}: cluster ${JSON.stringify(ctx.value.cluster)} has no server`);
  const u = userEntry?.value ?? {};
  if (u['auth-provider'] !== undefined) {
    throw new KubeConfigError(
      `${userEntry?.file}: user ${JSON.stringify(ctx.value.user)} uses an auth-provider plugin, which kubectl itself no longer runs; use an exec credential plugin, a client certificate or a token`,
    );
  }
  const token = typeof u.token === 'string' ? u.token : undefined;
  const ca = fileOrData(cluster, 'certificate-authority', dirname(clusterEntry.file));
  const userBase = dirname(userEntry?.file ?? ctx.file);
  const cert = fileOrData(u, 'client-certificate', userBase);
  const key = fileOrData(u, 'client-key', userBase);
  const server = cluster.server.replace(/\/+$/, '');
  if (!HTTP_URL.test(server))
    throw new KubeConfigError(
      `${clusterEntry.file}: cluster ${JSON.stringify(ctx.value.cluster)}: server ${JSON.stringify(server)} is not an https:// or http:// URL`,
    );
  const proxyUrl = typeof cluster['proxy-url'] === 'string' && cluster['proxy-url'] !== '' ? cluster['proxy-url'] : undefined;
  if (proxyUrl !== undefined && !HTTP_URL.test(proxyUrl)) {
    throw new KubeConfigError(
      `${clusterEntry.file}: cluster ${JSON.stringify(ctx.value.cluster)}: proxy-url ${JSON.stringify(proxyUrl)} is not an http:// or https:// proxy (SOCKS is not supported)`,
    );
  }
  const exec = isObject(u.exec) ? execSource(u.exec, ctx.value.user as string, userEntry?.file ?? ctx.file, server, ca, cluster) : undefined;
  if (u.exec !== undefined && !exec) throw new KubeConfigError(`${userEntry?.file}: user ${JSON.stringify(ctx.value.user)}: exec must be an object`);
  const tokenFile = typeof u.tokenFile === 'string' ? (isAbsolute(u.tokenFile) ? u.tokenFile : join(userBase, u.tokenFile)) : undefined;
  return {
    server,
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(token !== undefined ? { token: () => token } : tokenFile !== undefined ? { token: tokenFromFile(tokenFile) } : {}),
    ...(cluster['insecure-skip-tls-verify'] === true ? { insecureSkipTlsVerify: true } : {}),
    ...(exec ? { exec } : {}),
    ...(typeof cluster['tls-server-name'] === 'string' && cluster['tls-server-name'] !== '' ? { tlsServerName: cluster['tls-server-name'] } : {}),
    ...(proxyUrl ? { proxyUrl } : {}),
    namespace: typeof ctx.value.namespace === 'string' ? ctx.value.namespace : 'default',
  };
}

/** The pod's service account, as every in-cluster client finds it. */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, dir = SA_DIR): KubeConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new KubeConfigError('not running in a cluster (KUBERNETES_SERVICE_HOST is not set); pass --kubeconfig');
  let namespace = 'default';
  try {
    namespace = readFileSync(join(dir, 'namespace'), 'utf8').trim();
  } catch {
    // Older clusters without the namespace file: callers pass --namespace.
  }
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    token: tokenFromFile(join(dir, 'token')),
    namespace,
  };
}
