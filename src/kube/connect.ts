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

/** The kubeconfig files to merge, or undefined for the in-cluster configuration. */
export function kubeconfigFiles(kubeconfig: string | undefined, env: NodeJS.ProcessEnv, home = homedir()): string[] | undefined {
  if (kubeconfig !== undefined) return [kubeconfig];
  const listed = [...new Set((env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== ''))];
  if (listed.length > 0) {
    const present = listed.filter((f) => existsSync(f));
    if (present.length === 0) throw new KubeConfigError(`KUBECONFIG names no file that exists: ${listed.join(', ')}`);
    return present;
  }
  // In a pod the service account is meant, whatever kubeconfig the image happens to hold.
  if (env.KUBERNETES_SERVICE_HOST) return undefined;
  const fallback = join(home, '.kube', 'config');
  return existsSync(fallback) ? [fallback] : undefined;
}

/** The proxy for the API server, as kubectl picks it: the cluster's proxy-url, else HTTPS_PROXY/HTTP_PROXY/NO_PROXY (either case). */
export function proxyEnvFor(proxyUrl: string | undefined, env: NodeJS.ProcessEnv): Record<string, string> {
  if (proxyUrl !== undefined) return { HTTPS_PROXY: proxyUrl, HTTP_PROXY: proxyUrl };
  const out: Record<string, string> = {};
  for (const k of ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY']) {
    const v = env[k] ?? env[k.toLowerCase()];
    if (v) out[k] = v;
  }
  return out;
}

export function connect(opts: { kubeconfig?: string | undefined; context?: string | undefined; env?: NodeJS.ProcessEnv }): KubeClient {
  const env = opts.env ?? process.env;
  const files = kubeconfigFiles(opts.kubeconfig, env);
  const config = files ? loadKubeconfig(files, opts.context) : inClusterConfig(env);
  return new KubeClient({ ...config, proxyEnv: proxyEnvFor(config.proxyUrl, env) });
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
