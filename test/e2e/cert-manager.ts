// cert-manager's controllers and CA injector for the e2e tests: test/e2e/cert-manager (a main of
// our own over the github.com/cert-manager/cert-manager library module, whose cmd/* modules are not
// on the module proxy), built by test/tools/go-tool.ts and started against a control plane.
//
//   ./node_modules/.bin/node test/e2e/cert-manager.ts     # build if needed, print the path

import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { type GoTool, goToolAvailability, printWhenMain, toolDir, toolVersion } from '../tools/go-tool.ts';
import { goCommand, runGo } from './build-apiserver.ts';
import { type ControlPlane, logTail, spawnTracked, stopTracked, waitFor } from './harness.ts';

export const CERT_MANAGER: GoTool = {
  name: 'cert-manager',
  module: 'github.com/cert-manager/cert-manager',
  pkg: '.',
  dir: join('test', 'e2e', 'cert-manager'),
};

/** The cert-manager version test/e2e/cert-manager/go.mod requires, e.g. v1.21.2. */
export const certManagerVersion = (): string => toolVersion(CERT_MANAGER);

/** The binary, or why the tests that need it are skipped (no Go; an error with CI=true). */
export const certManagerAvailability = () => goToolAvailability(CERT_MANAGER);

/** The module's own deploy/crds in the Go module cache: the CRDs of exactly the controllers built. */
export async function certManagerCRDs(): Promise<string> {
  const go = goCommand();
  if (!go) throw new Error('cert-manager CRDs: no Go toolchain');
  const r = await runGo(go, ['list', '-m', '-f', '{{.Dir}}', CERT_MANAGER.module], toolDir(CERT_MANAGER));
  const dir = join(r.output.trim(), 'deploy', 'crds');
  if (r.code !== 0 || !existsSync(dir)) throw new Error(`cert-manager CRDs: no ${dir} (go list exit ${r.code}: ${r.output})`);
  return dir;
}

export interface CertManager {
  pid: number;
  logPath: string;
  logTail(lines?: number): string;
  /** SIGTERM, then the process group is killed; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

/** Installs cert-manager's CRDs and starts its controllers and CA injector against cp, as admin. */
export async function startCertManager(cp: ControlPlane, bin: string, timeoutMs = 120_000): Promise<CertManager> {
  const crds = await certManagerCRDs();
  const logPath = join(cp.dir, 'cert-manager.log');
  const readyFile = join(cp.dir, 'cert-manager.ready');
  const fd = openSync(logPath, 'a');
  const args = ['-kubeconfig', cp.kubeconfigPath, '-crds', crds, '-ready-file', readyFile, '-exit-on-stdin-close', '-v', '1'];
  const t = spawnTracked('cert-manager', bin, args, fd, true);
  closeSync(fd);
  let stopping: Promise<void> | undefined;
  const handle: CertManager = {
    pid: t.child.pid ?? 0,
    logPath,
    logTail: (n = 40) => logTail(logPath, n),
    stop: () => {
      stopping ??= stopTracked(t, 10_000);
      return stopping;
    },
  };
  try {
    await waitFor(
      () => {
        if (t.child.exitCode !== null || t.child.signalCode !== null) throw new Error(`cert-manager exited (${t.child.exitCode ?? t.child.signalCode})`);
        return existsSync(readyFile);
      },
      timeoutMs,
      'cert-manager to be ready',
    );
  } catch (e) {
    await handle.stop();
    throw new Error(`${(e as Error).message}\n${handle.logTail()}`);
  }
  return handle;
}

await printWhenMain(import.meta.url, CERT_MANAGER);
