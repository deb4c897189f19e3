/**
 * Builds a client from flags, as kubectl finds its configuration: --kubeconfig (one file, which
 * must exist), else every file of $KUBECONFIG that exists, merged, else (outside a pod)
 * ~/.kube/config when it exists, else the in-cluster service account.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { KubeVersion } from '../engine/index.ts';
import { KubeClient } from './client.ts';
import { inClusterConfig, KubeConfigError, loadKubeconfig } from './config.ts';
import { proxyFor } from './proxy.ts';

/** The kubeconfig files to merge, or undefined for the in-cluster configuration. */
export function kubeconfigFiles(kubeconfig: string | undefined, env: NodeJS.ProcessEnv, home = homedir()): string[] | undefined {
  if (kubeconfig !== undefined) return [kubeconfig];
  const listed = [...new Set((env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== ''))];
  if (listed.length > 0) {
    const present = listed.filter((f) => existsSync(f));
    if (present.length > 0) return present;
    // In a pod, as client-go does, a KUBECONFIG naming nothing that exists leaves the service account.
    if (env.KUBERNETES_SERVICE_HOST) return undefined;
    throw new KubeConfigError(`KUBECONFIG names no file that exists: ${listed.join(', ')}`);
  }
  // In a pod the service account is meant, whatever kubeconfig the image happens to hold.
  if (env.KUBERNETES_SERVICE_HOST) return undefined;
  const fallback = join(home, '.kube', 'config');
  return existsSync(fallback) ? [fallback] : undefined;
}

/** Node's agents take a proxy from 24.5 on; an older 24 would connect directly without a word. */
function proxySupported(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 24 || (major === 24 && minor >= 5);
}

export function connect(opts: { kubeconfig?: string | undefined; context?: string | undefined; env?: NodeJS.ProcessEnv }): KubeClient {
  const env = opts.env ?? process.env;
  const files = kubeconfigFiles(opts.kubeconfig, env);
  // In a pod the service account talks to the API server directly, as it always has.
  if (!files) return new KubeClient(inClusterConfig(env));
  const config = loadKubeconfig(files, opts.context);
  const proxy = proxyFor(config.server, config.proxyUrl, env);
  if (proxy === undefined) return new KubeClient(config);
  if (!proxySupported())
    throw new KubeConfigError(`reaching ${config.server} through the proxy ${redactUserinfo(proxy)} needs Node.js 24.5 or newer; this is ${process.version}`);
  return new KubeClient({ ...config, proxyEnv: { HTTPS_PROXY: proxy, HTTP_PROXY: proxy } });
}

/** A proxy URL without its user and password, for messages. */
function redactUserinfo(u: string): string {
  try {
    const url = new URL(u);
    url.username = '';
    url.password = '';
    return url.href;
  } catch {
    return '(an unparsable URL)';
  }
}
/** The API server's version from /version, e.g. { major: 1, minor: 35 } (minor may carry a "+"). */
export async function serverVersion(client: KubeClient): Promise<KubeVersion> {
  const v = await client.request<{ major?: string; minor?: string; gitVersion?: string }>('GET', '/version');
  const m = /^v(\d+)\.(\d+)/.exec(v.gitVersion ?? '');
  const major = Number.parseInt(v.major ?? m?.[1] ?? '', 10);
  const minor = Number.parseInt(v.minor ?? m?.[2] ?? '', 10);
  if (!Number.isFinite(major) || !Number.isFinite(minor)) throw new Error(`cannot read the API server version from /version: ${JSON.stringify(v)}`);
  return { major, minor };
}
