/**
 * promtool, from Debian's `prometheus` package. Under CI=true (root on a fresh Debian machine) it is
 * installed with apt-get when missing and a missing tool is a failure; elsewhere the tests that need
 * it are skipped with a message naming what to install.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { CI } from '../image/tools.ts';

function present(): boolean {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** undefined when promtool runs (after installing it under CI), else why not. */
export function promtoolProblem(): string | undefined {
  if (!present() && CI) {
    const o = { stdio: 'inherit' as const, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
    execFileSync('apt-get', ['update'], o);
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'prometheus'], o);
  }
  if (present()) return undefined;
  const problem = 'the monitoring tests need promtool: apt-get install prometheus';
  if (CI) throw new Error(`${problem} (CI=true: not skipping)`);
  return problem;
}

export interface PromtoolResult {
  status: number | null;
  output: string;
}

/** Runs promtool with `args` (and `input` on stdin); its exit status and everything it printed. */
export function promtool(args: string[], o: { input?: string; cwd?: string } = {}): PromtoolResult {
  const r = spawnSync('promtool', args, { input: o.input ?? '', cwd: o.cwd, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
