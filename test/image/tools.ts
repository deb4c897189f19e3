/**
 * The image tests need umoci, skopeo, runc, containerd (and ctr), dpkg-deb and GNU tar, from Debian
 * packages (installed under CI=true, see test/support/debian-tools.ts), and root to run runc.
 */
import { CI, debianToolsProblem } from '../support/debian-tools.ts';

export { CI };

const NEEDED: Record<string, string> = {
  umoci: 'umoci',
  skopeo: 'skopeo',
  runc: 'runc',
  containerd: 'containerd',
  ctr: 'containerd',
  'dpkg-deb': 'dpkg',
  tar: 'tar',
};

/** undefined when the tests can run (after installing what is missing under CI), else why not. */
export function imageToolsProblem(): string | undefined {
  const problem = debianToolsProblem('image tests', NEEDED) ?? (process.getuid?.() !== 0 ? 'image tests run the image with runc, which needs root' : undefined);
  if (problem && CI) throw new Error(`${problem} (CI=true: not skipping)`);
  return problem;
}
