/**
 * Commands the test suites take from Debian packages. Under CI=true (root on a fresh Debian
 * machine) missing ones are installed with apt-get and one still missing is a failure; elsewhere a
 * suite is skipped with a message naming what to install.
 */
import { execFileSync } from 'node:child_process';

export const CI = process.env.CI === 'true' || process.env.CI === '1';

/** The commands of `needed` (command → Debian package) that are not on PATH. */
export function missingCommands(needed: Readonly<Record<string, string>>): string[] {
  return Object.keys(needed).filter((t) => {
    try {
      execFileSync(t, ['--version'], { stdio: 'ignore' });
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT';
    }
  });
}

/**
 * undefined when every command of `needed` runs (after installing what is missing under CI), else
 * why not; under CI a missing command throws instead of skipping.
 */
export function debianToolsProblem(what: string, needed: Readonly<Record<string, string>>): string | undefined {
  let absent = missingCommands(needed);
  if (absent.length > 0 && CI) {
    const packages = [...new Set(absent.map((t) => needed[t] as string))];
    const o = { stdio: 'inherit' as const, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
    execFileSync('apt-get', ['update'], o);
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], o);
    absent = missingCommands(needed);
  }
  if (absent.length === 0) return undefined;
  const problem = `${what} need ${absent.join(', ')}: apt-get install ${[...new Set(absent.map((t) => needed[t]))].join(' ')}`;
  if (CI) throw new Error(`${problem} (CI=true: not skipping)`);
  return problem;
}
