// Builds helm from its Go module (test/tools/helm: go.mod/go.sum pin helm.sh/helm/v4) into the
// git-ignored .cache/tools/helm/<version>/helm, the way test/e2e/build-apiserver.ts builds the
// apiserver: rebuilt only when go.mod, go.sum or the Go toolchain change; GOFLAGS=-mod=readonly,
// GOTOOLCHAIN=local. Never a downloaded binary.
//
//   ./node_modules/.bin/node test/tools/helm.ts     # build if needed, print the path

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BuildError, goCommand, goEnv, repoRoot } from '../e2e/build-apiserver.ts';

export const helmModuleDir: string = join(repoRoot, 'test', 'tools', 'helm');

// Bump when the way the binary is built changes (flags, ldflags).
const recipe = '1';

/** The helm.sh/helm/v4 version test/tools/helm/go.mod requires, e.g. v4.3.2. */
export function helmVersion(): string {
  const goMod = readFileSync(join(helmModuleDir, 'go.mod'), 'utf8');
  const m = /^\s*(?:require\s+)?helm\.sh\/helm\/v4\s+(v4\.\d+\.\d+)\s*$/m.exec(goMod);
  if (!m?.[1]) throw new Error(`no helm.sh/helm/v4 v4.X.Y requirement in ${join(helmModuleDir, 'go.mod')}`);
  return m[1];
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, env: goEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? 1, output }));
  });
}

async function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  // mkdir is atomic: parallel test files wait for one build instead of racing.
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(readFileSync(join(lockDir, 'pid'), { encoding: 'utf8', flag: 'a+' }));
      if (Number.isInteger(holder) && holder > 0 && !alive(holder)) rmSync(lockDir, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let cached: Promise<string> | undefined;

/** The path of the helm binary, built first when missing or stale. Throws BuildError with the compiler output. */
export function helmBinary(): Promise<string> {
  cached ??= build();
  return cached;
}

async function build(): Promise<string> {
  const go = goCommand();
  if (!go) throw new BuildError('helm build: the Go toolchain is not available', 'no `go` on PATH, in $GOROOT/bin or /usr/local/go/bin');
  const version = helmVersion();
  const outDir = join(repoRoot, '.cache', 'tools', 'helm', version);
  const bin = join(outDir, 'helm');
  const stamp = join(outDir, 'build.json');
  const goVersion = spawnSync(go, ['version'], { encoding: 'utf8', env: goEnv() }).stdout.trim();
  const h = createHash('sha256').update(`recipe ${recipe}\n${goVersion}\n`);
  for (const f of ['go.mod', 'go.sum', 'tools.go']) h.update(`${f}\n`).update(readFileSync(join(helmModuleDir, f)));
  const hash = h.digest('hex');
  const fresh = (): boolean => {
    try {
      return existsSync(bin) && (JSON.parse(readFileSync(stamp, 'utf8')) as { hash?: string }).hash === hash;
    } catch {
      return false;
    }
  };
  if (fresh()) return bin;
  mkdirSync(outDir, { recursive: true });
  return withLock(join(outDir, '.build-lock'), async () => {
    if (fresh()) return bin; // built by another process while this one waited
    const tmp = `${bin}.tmp-${process.pid}`;
    const pkg = 'helm.sh/helm/v4/internal/version';
    // The version helm reports (`helm version`) and checks charts' kubeVersion against.
    const ldflags = `-s -w -X ${pkg}.version=${version}`;
    const r = await run(go, ['build', '-o', tmp, '-ldflags', ldflags, 'helm.sh/helm/v4/cmd/helm'], helmModuleDir);
    if (r.code !== 0) {
      rmSync(tmp, { force: true });
      throw new BuildError(`helm build: go build helm.sh/helm/v4/cmd/helm failed (exit ${r.code})`, r.output);
    }
    renameSync(tmp, bin);
    writeFileSync(stamp, `${JSON.stringify({ hash, version, go: goVersion, builtAt: new Date().toISOString() }, null, 2)}\n`);
    return bin;
  });
}

/**
 * The helm binary, or why the tests that need it are skipped: without Go (the only way helm is
 * made here) they skip loudly, except with CI=true, where that is an error.
 */
export async function helmAvailability(): Promise<{ helm: string; skip: false } | { helm: undefined; skip: string }> {
  if (goCommand()) return { helm: await helmBinary(), skip: false };
  const msg = 'helm: SKIPPED: no Go toolchain to build helm from its module (test/tools/helm)';
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`cannot run the helm tests with CI=true: ${msg}`);
  process.stderr.write(`\n${msg}\n\n`);
  return { helm: undefined, skip: msg };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.stdout.write(`${await helmBinary()}\n`);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
