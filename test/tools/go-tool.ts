// Builds a Go program from a Go module in test/tools/<name> (go.mod/go.sum pin it; tools.go imports
// its main package), or in another directory with a main of its own, into the git-ignored
// .cache/tools/<name>/<version>/<name>, the way test/e2e/build-apiserver.ts builds the apiserver:
// rebuilt only when go.mod, go.sum, the module's .go files or the Go toolchain change;
// GOFLAGS=-mod=readonly, GOTOOLCHAIN=local. Never a downloaded binary.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BuildError, goCommand, goEnv, repoRoot, runGo, withLock } from '../e2e/build-apiserver.ts';

export interface GoTool {
  /** Directory under test/tools, and the binary's name. */
  name: string;
  /** The module whose version names the build, e.g. helm.sh/helm/v4. */
  module: string;
  /** The main package to build. */
  pkg: string;
  /** The module's directory relative to the repository; test/tools/<name> when absent. */
  dir?: string;
  /** -ldflags for a version, e.g. to stamp it where `<tool> version` reads it. */
  ldflags?: (version: string) => string;
}

// Bump when the way binaries are built changes (flags).
const recipe = '1';

export const toolDir = (t: GoTool): string => join(repoRoot, ...(t.dir ? [t.dir] : ['test', 'tools', t.name]));

/** The version of t.module that test/tools/<name>/go.mod requires. */
export function toolVersion(t: GoTool): string {
  const goMod = readFileSync(join(toolDir(t), 'go.mod'), 'utf8');
  const escaped = t.module.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const m = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\d+\\.\\d+\\.\\d+)\\s*$`, 'm').exec(goMod);
  if (!m?.[1]) throw new Error(`no ${t.module} vX.Y.Z requirement in ${join(toolDir(t), 'go.mod')}`);
  return m[1];
}

const builds = new Map<string, Promise<string>>();

/** The path of the tool's binary, built first when missing or stale. Throws BuildError with the compiler output. */
export function goToolBinary(t: GoTool): Promise<string> {
  let p = builds.get(t.name);
  if (!p) {
    p = build(t);
    builds.set(t.name, p);
  }
  return p;
}

async function build(t: GoTool): Promise<string> {
  const go = goCommand();
  if (!go) throw new BuildError(`${t.name} build: the Go toolchain is not available`, 'no `go` on PATH, in $GOROOT/bin or /usr/local/go/bin');
  const dir = toolDir(t);
  const version = toolVersion(t);
  const outDir = join(repoRoot, '.cache', 'tools', t.name, version);
  const bin = join(outDir, t.name);
  const stamp = join(outDir, 'build.json');
  const goVersion = spawnSync(go, ['version'], { encoding: 'utf8', env: goEnv() }).stdout.trim();
  const ldflags = t.ldflags?.(version) ?? '';
  const h = createHash('sha256').update(`recipe ${recipe}\n${goVersion}\n${t.pkg}\n${ldflags}\n`);
  // The module's own sources (tools.go alone for a pinned tool), in a stable order.
  const sources = readdirSync(dir)
    .filter((f) => f.endsWith('.go'))
    .sort();
  for (const f of ['go.mod', 'go.sum', ...sources]) h.update(`${f}\n`).update(readFileSync(join(dir, f)));
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
    process.stderr.write(
      `${t.name} build: building ${t.pkg === '.' ? `${dir} (${t.module}@${version})` : `${t.pkg}@${version}`} with ${goVersion} (a cold build takes minutes)\n`,
    );
    const tmp = `${bin}.tmp-${process.pid}`;
    const r = await runGo(go, ['build', '-o', tmp, ...(ldflags ? ['-ldflags', ldflags] : []), t.pkg], dir);
    if (r.code !== 0) {
      rmSync(tmp, { force: true });
      throw new BuildError(`${t.name} build: go build ${t.pkg} failed (exit ${r.code})`, r.output);
    }
    renameSync(tmp, bin);
    writeFileSync(stamp, `${JSON.stringify({ hash, version, go: goVersion, builtAt: new Date().toISOString() }, null, 2)}\n`);
    return bin;
  });
}

/**
 * The tool's binary, or why the tests that need it are skipped: without Go (the only way the tool
 * is made here) they skip loudly, except with CI=true, where that is an error.
 */
export async function goToolAvailability(t: GoTool): Promise<{ bin: string; skip: false } | { bin: undefined; skip: string }> {
  if (goCommand()) return { bin: await goToolBinary(t), skip: false };
  const msg = `${t.name}: SKIPPED: no Go toolchain to build ${t.name} from its module (test/tools/${t.name})`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`cannot run the ${t.name} tests with CI=true: ${msg}`);
  process.stderr.write(`\n${msg}\n\n`);
  return { bin: undefined, skip: msg };
}

/** For a tool module run as a program (`node test/tools/helm.ts`): build if needed, print the binary's path. */
export async function printWhenMain(moduleUrl: string, t: GoTool): Promise<void> {
  if (!process.argv[1] || resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  try {
    process.stdout.write(`${await goToolBinary(t)}\n`);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
