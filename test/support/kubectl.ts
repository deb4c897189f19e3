/**
 * A real kubectl for the tests that need one (kubectl plugin completion): built from the e2e
 * Kubernetes module when Go is here (the same release as the e2e API server, cached in .cache),
 * else the one on PATH. Without either the caller skips, except under CI=true, where it fails.
 */
import { spawnSync } from 'node:child_process';
import { ensureApiserverBinary, goAvailable } from '../e2e/build-apiserver.ts';
import { CI } from './debian-tools.ts';

export async function realKubectl(): Promise<{ path: string } | { skip: string }> {
  if (goAvailable()) {
    const built = await ensureApiserverBinary({ kubectl: true });
    if (built.kubectlPath) return { path: built.kubectlPath };
  }
  if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0) return { path: 'kubectl' };
  const why = 'no kubectl: neither Go (to build it from the e2e Kubernetes module) nor kubectl on PATH';
  if (CI) throw new Error(`${why} (CI=true: not skipping)`);
  return { skip: why };
}
