/**
 * The image tests need umoci, skopeo, runc, containerd (and ctr), dpkg-deb and GNU tar. Under CI=true (root on a fresh
 * Debian machine) missing ones are installed with apt-get and a missing tool is a failure; elsewhere
 * the tests are skipped with a message naming what to install.
 */
import { execFileSync } from 'node:child_process';

const NEEDED: Record<string, string> = {
  umoci: 'umoci',
  skopeo: 'skopeo',
  runc: 'runc',
  containerd: 'containerd',
  ctr: 'containerd',
  'dpkg-deb': 'dpkg',
  tar: 'tar',
};

export const CI = process.env.CI === 'true' || process.env.CI === '1';

function missing(): string[] {
  return Object.keys(NEEDED).filter((t) => {
    try {
      execFileSync(t, ['--version'], { stdio: 'ignore' });
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ENOENT';
    }
  });
}

function aptInstall(packages: string[]): void {
  const o = { stdio: 'inherit' as const, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
  execFileSync('apt-get', ['update'], o);
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], o);
}

/** undefined when the tests can run (after installing what is missing under CI), else why not. */
export function imageToolsProblem(): string | undefined {
  let absent = missing();
  if (absent.length > 0 && CI) {
    aptInstall(absent.map((t) => NEEDED[t] as string));
    absent = missing();
  }
  const problem =
    absent.length > 0
      ? `image tests need ${absent.join(', ')}: apt-get install ${absent.map((t) => NEEDED[t]).join(' ')}`
      : process.getuid?.() !== 0
        ? 'image tests run the image with runc, which needs root'
        : undefined;
  if (problem && CI) throw new Error(`${problem} (CI=true: not skipping)`);
  return problem;
}
