/** Builds a client from flags: --kubeconfig (or $KUBECONFIG, ~/.kube/config), else in-cluster. */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeVersion } from '../engine/index.ts';
import { KubeClient } from './client.ts';
import { inClusterConfig, loadKubeconfig } from './config.ts';

export function connect(opts: { kubeconfig?: string | undefined; context?: string | undefined; env?: NodeJS.ProcessEnv }): KubeClient {
  const env = opts.env ?? process.env;
  const file = opts.kubeconfig ?? env.KUBECONFIG?.split(':')[0] ?? (env.KUBERNETES_SERVICE_HOST ? undefined : join(homedir(), '.kube', 'config'));
  if (file && (opts.kubeconfig || existsSync(file))) return new KubeClient(loadKubeconfig(file, opts.context));
  return new KubeClient(inClusterConfig(env));
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
