// Builds the e2e kube-apiserver (test/e2e/apiserver, a Go module) into the git-ignored
// .cache/e2e-bin/<k8s-version>/, and only rebuilds when the Kubernetes version or the content of
// go.mod, go.sum or the Go sources (or the Go toolchain) changes.
//
//   ./node_modules/.bin/node test/e2e/build-apiserver.ts            # build if needed, print the path
//   ./node_modules/.bin/node test/e2e/build-apiserver.ts --force    # rebuild
//   ./node_modules/.bin/node test/e2e/build-apiserver.ts --envtest  # also build kube-apiserver and
//       etcd as separate binaries into .cache/e2e-bin/<v>/envtest (usable as KUBEBUILDER_ASSETS)
//   ./node_modules/.bin/node test/e2e/build-apiserver.ts --node     # also build kubelet,
//       kube-scheduler and kube-controller-manager into .cache/e2e-bin/<v>/node (test/e2e/node)
//
// GOCACHE and GOMODCACHE stay at Go's defaults so repeated runs reuse them. GOFLAGS gets
// -mod=readonly (go.sum is complete; a build never edits go.mod) and -buildvcs=false; GOTOOLCHAIN=local.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processAlive } from '../support/processes.ts';

export const repoRoot: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const moduleDir: string = join(repoRoot, 'test', 'e2e', 'apiserver');
export const binName = 'outrigger-e2e-apiserver';

// Bump when the way the binary is built changes (flags, ldflags).
const recipe = '3';

export interface BuildResult {
  /** The in-process apiserver + etcd program (main.go). */
  binPath: string;
  /** With envtest: a directory holding kube-apiserver and etcd, usable as KUBEBUILDER_ASSETS. */
  envtestDir?: string;
  /** With node: a directory holding kubelet, kube-scheduler and kube-controller-manager. */
  nodeDir?: string;
  /** With kubectl: its path. */
  kubectlPath?: string;
  /** Kubernetes release, e.g. v1.35.4, from go.mod. */
  version: string;
  /** False when the cached binary was reused. */
  built: boolean;
  seconds: number;
}

export interface BuildOptions {
  force?: boolean;
  envtest?: boolean;
  /** Also build the node's binaries (kubelet, kube-scheduler, kube-controller-manager). */
  node?: boolean;
  /** Also build kubectl (cmd/kubectl): the tests of kubectl plugin completion run a real one. */
  kubectl?: boolean;
  /** Progress lines; defaults to stderr. */
  log?: (line: string) => void;
  /** Another minor under versions/ (default: E2E_KUBE, else go.mod's version). */
  minor?: string;
}

/** The node's programs, each a main under test/e2e/apiserver/cmd/. */
export const NODE_BINARIES = ['kubelet', 'kube-scheduler', 'kube-controller-manager'] as const;

export class BuildError extends Error {
  output: string;
  constructor(message: string, output: string) {
    super(`${message}\n${output.split('\n').slice(-60).join('\n')}`);
    this.name = 'BuildError';
    this.output = output;
  }
}

/**
 * The other Kubernetes minors the e2e tests run against: versions/<minor>/ holds the go.mod and
 * go.sum of the same main.go built against that release (gen-replace.sh writes them). E2E_KUBE=<minor>
 * selects one for a whole test run; unset, the module's own go.mod is the version.
 */
export const versionsDir: string = join(moduleDir, 'versions');

/** The minors under versions/, oldest first. */
export function otherMinors(): string[] {
  if (!existsSync(versionsDir)) return [];
  return readdirSync(versionsDir)
    .filter((d) => /^1\.\d+$/.test(d) && existsSync(join(versionsDir, d, 'go.mod')))
    .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
}

/** E2E_KUBE's minor, checked; undefined for the module's own version. */
export function selectedMinor(): string | undefined {
  const v = process.env.E2E_KUBE;
  if (v === undefined || v === '') return undefined;
  if (!otherMinors().includes(v))
    throw new Error(`E2E_KUBE=${v}: not one of the e2e Kubernetes versions (${otherMinors().join(', ') || 'none'} under ${versionsDir}; unset for go.mod's)`);
  return v;
}

/** Where the go.mod of a minor (or, undefined, of the module) is. */
function goModDir(minor: string | undefined): string {
  return minor === undefined ? moduleDir : join(versionsDir, minor);
}

/** The k8s.io/kubernetes version the e2e tests build: go.mod's, or E2E_KUBE's under versions/. */
export function kubernetesVersion(minor: string | undefined = selectedMinor()): string {
  const file = join(goModDir(minor), 'go.mod');
  const m = /^\s*(?:require\s+)?k8s\.io\/kubernetes\s+(v1\.\d+\.\d+)\s*$/m.exec(readFileSync(file, 'utf8'));
  if (!m?.[1]) throw new Error(`no k8s.io/kubernetes v1.X.Y requirement in ${file}`);
  return m[1];
}

let goPath: string | null | undefined;

/** The go command: `go` on PATH, else $GOROOT/bin/go or /usr/local/go/bin/go (the official
 *  tarball's place, often missing from PATH in non-login shells). */
export function goCommand(): string | undefined {
  if (goPath === undefined) {
    goPath = null;
    const candidates = ['go', ...(process.env.GOROOT ? [join(process.env.GOROOT, 'bin', 'go')] : []), '/usr/local/go/bin/go'];
    for (const c of candidates) {
      if (spawnSync(c, ['version'], { stdio: 'ignore' }).status === 0) {
        goPath = c;
        break;
      }
    }
  }
  return goPath ?? undefined;
}

export function goAvailable(): boolean {
  return goCommand() !== undefined;
}

export function goEnv(): NodeJS.ProcessEnv {
  const flags = (process.env.GOFLAGS ?? '').split(/\s+/).filter((f) => f && !f.startsWith('-mod='));
  // The module lives inside this git repository; VCS stamping is not wanted (and fails on a repo
  // without commits).
  if (!flags.some((f) => f.startsWith('-buildvcs'))) flags.push('-buildvcs=false');
  // go.mod and go.sum are generated and complete (gen-replace.sh): a build must not rewrite them.
  flags.push('-mod=readonly');
  // GOTOOLCHAIN=local: never fetch another Go toolchain.
  return { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: flags.join(' ') };
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.go') || name === 'go.mod' || name === 'go.sum') out.push(p);
  }
  return out;
}

/** The files a build reads: the module's sources, or for another minor its main.go with that minor's go.mod and go.sum. */
function buildInputs(minor: string | undefined): { rel: string; path: string }[] {
  if (minor === undefined)
    return sourceFiles(moduleDir)
      .filter((f) => !f.startsWith(`${versionsDir}/`))
      .map((f) => ({ rel: relative(moduleDir, f), path: f }));
  return ['main.go', 'go.mod', 'go.sum'].map((rel) => ({ rel, path: join(rel === 'main.go' ? moduleDir : goModDir(minor), rel) }));
}

function inputHash(goVersion: string, minor: string | undefined): string {
  const h = createHash('sha256');
  h.update(`recipe ${recipe}\n${goVersion}\n`);
  for (const f of buildInputs(minor)) {
    h.update(`${f.rel}\n`);
    h.update(readFileSync(f.path));
  }
  return h.digest('hex');
}

/** The directory `go build` runs in: the module itself, or a copy of another minor's inputs under .cache. */
function buildDir(minor: string | undefined): string {
  if (minor === undefined) return moduleDir;
  const dir = join(repoRoot, '.cache', 'e2e-src', minor);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of buildInputs(minor)) writeFileSync(join(dir, f.rel), readFileSync(f.path));
  return dir;
}

/** Runs a command of the Go toolchain with the tests' Go environment; its exit code and everything it printed. */
export function runGo(cmd: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, env: goEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? 1, output }));
  });
}

/** The release's commit time, for -X version.buildDate (reproducible, unlike "now"). */
async function releaseDate(version: string): Promise<string> {
  const r = await runGo(goCommand() ?? 'go', ['mod', 'download', '-json', `k8s.io/kubernetes@${version}`], moduleDir);
  try {
    const info = JSON.parse(r.output) as { Info?: string };
    if (info.Info) {
      const t = (JSON.parse(readFileSync(info.Info, 'utf8')) as { Time?: string }).Time;
      if (t) return t.replace(/\.\d+Z$/, 'Z');
    }
  } catch {
    // fall through
  }
  return '1970-01-01T00:00:00Z';
}

function ldflags(version: string, buildDate: string): string {
  const [, major = '1', minor = '0'] = /^v(\d+)\.(\d+)\./.exec(version) ?? [];
  const pkg = 'k8s.io/component-base/version';
  return [
    `-X ${pkg}.gitVersion=${version}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
    `-X ${pkg}.gitCommit=`,
    `-X ${pkg}.buildDate=${buildDate}`,
  ].join(' ');
}

/** Runs `fn` holding a lock directory; shared by every Go build of the tests (test/tools/go-tool.ts too). */
export async function withLock<T>(lockDir: string, fn: () => Promise<T>, log: (l: string) => void = () => {}): Promise<T> {
  // mkdir is atomic: parallel test processes wait for one build instead of racing.
  const started = Date.now();
  let warned = false;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder = Number.NaN;
      try {
        holder = Number(readFileSync(join(lockDir, 'pid'), 'utf8'));
      } catch {
        // being created or removed
      }
      if (Number.isInteger(holder) && holder > 0 && !processAlive(holder)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!warned) {
        log(`e2e build: waiting for another build (lock ${lockDir}, pid ${holder})`);
        warned = true;
      }
      if (Date.now() - started > 60 * 60_000) throw new Error(`e2e build: lock ${lockDir} held for an hour`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/** Builds (or finds) the binaries. Throws BuildError with the compiler output when the build fails. */
export async function ensureApiserverBinary(opts: BuildOptions = {}): Promise<BuildResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const started = Date.now();
  const minor = opts.minor ?? selectedMinor();
  if (minor !== undefined && (opts.node || opts.envtest || opts.kubectl)) {
    throw new BuildError(`e2e build: the node, envtest and kubectl binaries are built for go.mod's Kubernetes only, not ${minor}`, '');
  }
  const version = kubernetesVersion(minor);
  const outDir = join(repoRoot, '.cache', 'e2e-bin', version);
  const binPath = join(outDir, binName);
  const envtestDir = join(outDir, 'envtest');
  const nodeDir = join(outDir, 'node');
  mkdirSync(outDir, { recursive: true });

  const goVersion = spawnSync(goCommand() ?? 'go', ['version'], { encoding: 'utf8', env: goEnv() });
  if (goVersion.status !== 0) {
    throw new BuildError('e2e build: the Go toolchain is not available (`go version` failed)', `${goVersion.error ?? goVersion.stderr}`);
  }
  const hash = inputHash(goVersion.stdout.trim(), minor);

  // Each output has its own stamp: a binary is rebuilt only when its inputs changed.
  interface Target {
    pkg: string;
    out: string;
    stamp: string;
  }
  const targets: Target[] = [{ pkg: '.', out: binPath, stamp: join(outDir, 'build.json') }];
  if (opts.envtest) {
    targets.push(
      { pkg: './cmd/kube-apiserver', out: join(envtestDir, 'kube-apiserver'), stamp: join(envtestDir, 'kube-apiserver.build.json') },
      { pkg: './cmd/etcd', out: join(envtestDir, 'etcd'), stamp: join(envtestDir, 'etcd.build.json') },
    );
  }
  if (opts.node) {
    for (const name of NODE_BINARIES) targets.push({ pkg: `./cmd/${name}`, out: join(nodeDir, name), stamp: join(nodeDir, `${name}.build.json`) });
  }
  const kubectlPath = join(outDir, 'kubectl', 'kubectl');
  if (opts.kubectl) targets.push({ pkg: './cmd/kubectl', out: kubectlPath, stamp: join(outDir, 'kubectl', 'kubectl.build.json') });
  const stale = (t: Target): boolean => {
    if (opts.force || !existsSync(t.out)) return true;
    try {
      return (JSON.parse(readFileSync(t.stamp, 'utf8')) as { hash?: string }).hash !== hash;
    } catch {
      return true;
    }
  };
  const result = (built: boolean): BuildResult => ({
    binPath,
    version,
    built,
    seconds: (Date.now() - started) / 1000,
    ...(opts.envtest ? { envtestDir } : {}),
    ...(opts.node ? { nodeDir } : {}),
    ...(opts.kubectl ? { kubectlPath } : {}),
  });
  if (!targets.some(stale)) return result(false);

  return withLock(
    join(outDir, '.build-lock'),
    async () => {
      const todo = targets.filter(stale); // another process may have built some while we waited
      if (todo.length === 0) return result(false);
      log(
        `e2e build: building ${todo.map((t) => relative(repoRoot, t.out)).join(', ')} for Kubernetes ${version} with ${goVersion.stdout.trim()} (a cold build downloads modules and compiles for several minutes)`,
      );
      const flags = ldflags(version, await releaseDate(version));
      const cwd = buildDir(minor);
      for (const t of todo) {
        const t0 = Date.now();
        mkdirSync(dirname(t.out), { recursive: true });
        const tmp = `${t.out}.tmp-${process.pid}`;
        const r = await runGo(goCommand() ?? 'go', ['build', '-o', tmp, '-ldflags', flags, t.pkg], cwd);
        if (r.code !== 0) {
          rmSync(tmp, { force: true });
          throw new BuildError(`e2e build: go build ${t.pkg} failed (exit ${r.code})`, r.output);
        }
        renameSync(tmp, t.out);
        const seconds = (Date.now() - t0) / 1000;
        writeFileSync(t.stamp, `${JSON.stringify({ hash, version, go: goVersion.stdout.trim(), builtAt: new Date().toISOString(), seconds }, null, 2)}\n`);
        log(`e2e build: ${relative(repoRoot, t.out)} built in ${seconds.toFixed(1)}s`);
      }
      const check = spawnSync(binPath, ['version'], { encoding: 'utf8' });
      if (check.stdout.trim() !== version) {
        rmSync(join(outDir, 'build.json'), { force: true });
        throw new BuildError(`e2e build: ${binPath} reports version '${check.stdout.trim()}', want ${version}`, check.stderr ?? '');
      }
      const res = result(true);
      log(`e2e build: done in ${res.seconds.toFixed(1)}s`);
      return res;
    },
    log,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = new Set(process.argv.slice(2));
  try {
    const r = await ensureApiserverBinary({ force: args.has('--force'), envtest: args.has('--envtest'), node: args.has('--node') });
    process.stderr.write(`e2e build: ${r.built ? 'built' : 'up to date'} in ${r.seconds.toFixed(1)}s (Kubernetes ${r.version})\n`);
    process.stdout.write(`${r.binPath}\n`);
    if (r.envtestDir) process.stdout.write(`KUBEBUILDER_ASSETS=${r.envtestDir}\n`);
    if (r.nodeDir) process.stdout.write(`node binaries: ${r.nodeDir}\n`);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
