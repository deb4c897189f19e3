/**
 * Where the API server is and how to authenticate: a kubeconfig file (current context: server,
 * CA, client certificate or bearer token) or the in-cluster service account. Only what Outrigger
 * uses is supported; exec and auth-provider plugins are refused with a clear error rather than
 * half-supported.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { isObject, type JsonObject, type JsonValue } from '../common/json.ts';

export interface KubeConfig {
  server: string;
  ca?: string;
  cert?: string;
  key?: string;
  /** Returns the current bearer token; re-reads a token file so rotated service-account tokens are used. */
  token?: () => string;
  insecureSkipTlsVerify?: boolean;
  /** Namespace of the context, or of the service account in-cluster. */
  namespace: string;
}

export class KubeConfigError extends Error {}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function named(list: JsonValue | undefined, name: string, what: string, file: string): JsonObject {
  const hit = Array.isArray(list) ? list.find((x) => isObject(x) && x.name === name) : undefined;
  if (!isObject(hit)) throw new KubeConfigError(`${file}: no ${what} named ${JSON.stringify(name)}`);
  return hit;
}

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

export function loadKubeconfig(file: string, context?: string): KubeConfig {
  let doc: JsonValue;
  try {
    doc = parse(readFileSync(file, 'utf8')) as JsonValue;
  } catch (e) {
    throw new KubeConfigError(`${file}: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw new KubeConfigError(`${file}: not a kubeconfig`);
  const ctxName = context ?? doc['current-context'];
  if (typeof ctxName !== 'string' || ctxName === '') throw new KubeConfigError(`${file}: no current-context and no --context given`);
  const ctx = named(doc.contexts, ctxName, 'context', file).context;
  if (!isObject(ctx)) throw new KubeConfigError(`${file}: context ${JSON.stringify(ctxName)} is empty`);
  const cluster = named(doc.clusters, ctx.cluster as string, 'cluster', file).cluster;
  const user = ctx.user === undefined ? {} : named(doc.users, ctx.user as string, 'user', file).user;
  if (!isObject(cluster) || typeof cluster.server !== 'string') throw new KubeConfigError(`${file}: cluster ${JSON.stringify(ctx.cluster)} has no server`);
  const u = isObject(user) ? user : {};
  if (u.exec !== undefined || u['auth-provider'] !== undefined) {
    throw new KubeConfigError(
      `${file}: user ${JSON.stringify(ctx.user)} uses an exec or auth-provider plugin, which Outrigger does not run; use a client certificate or a token`,
    );
  }
  const base = dirname(file);
  const token = typeof u.token === 'string' ? u.token : undefined;
  const ca = fileOrData(cluster, 'certificate-authority', base);
  const cert = fileOrData(u, 'client-certificate', base);
  const key = fileOrData(u, 'client-key', base);
  return {
    server: cluster.server.replace(/\/+$/, ''),
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(token !== undefined ? { token: () => token } : typeof u.tokenFile === 'string' ? { token: tokenFromFile(u.tokenFile) } : {}),
    ...(cluster['insecure-skip-tls-verify'] === true ? { insecureSkipTlsVerify: true } : {}),
    namespace: typeof ctx.namespace === 'string' ? ctx.namespace : 'default',
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
