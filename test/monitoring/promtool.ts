/**
 * promtool, from Debian's `prometheus` package. Under CI=true (root on a fresh Debian machine) it is
 * installed with apt-get when missing and a missing tool is a failure; elsewhere the tests that need
 * it are skipped with a message naming what to install.
 */
import { spawnSync } from 'node:child_process';
import { debianToolsProblem } from '../support/debian-tools.ts';

/** undefined when promtool runs (after installing it under CI), else why not. */
export const promtoolProblem = (): string | undefined => debianToolsProblem('the monitoring tests', { promtool: 'prometheus' });

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
