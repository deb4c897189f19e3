/**
 * The release dry-run needs umoci, skopeo, dpkg-deb and GNU tar (the image build and the copy that
 * rehearses the push). Under CI=true missing ones are installed with apt-get and a missing tool is a
 * failure; elsewhere the test is skipped with a message naming what to install.
 */
import { execFileSync } from 'node:child_process';
import { CI } from '../image/tools.ts';

const NEEDED: Record<string, string> = { umoci: 'umoci', skopeo: 'skopeo', 'dpkg-deb': 'dpkg', tar: 'tar', git: 'git' };

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

/** undefined when the dry-run can run (after installing what is missing under CI), else why not. */
export function releaseToolsProblem(): string | undefined {
  let absent = missing();
  if (absent.length > 0 && CI) {
    const o = { stdio: 'inherit' as const, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
    execFileSync('apt-get', ['update'], o);
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...absent.map((t) => NEEDED[t] as string)], o);
    absent = missing();
  }
  if (absent.length === 0) return undefined;
  const problem = `the release dry-run needs ${absent.join(', ')}: apt-get install ${absent.map((t) => NEEDED[t]).join(' ')}`;
  if (CI) throw new Error(`${problem} (CI=true: not skipping)`);
  return problem;
}
