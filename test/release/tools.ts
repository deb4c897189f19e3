/**
 * The release dry-run needs umoci, skopeo, dpkg-deb and GNU tar (the image build and the copy that
 * rehearses the push), and git, from Debian packages (installed under CI=true, see
 * test/support/debian-tools.ts).
 */
import { debianToolsProblem } from '../support/debian-tools.ts';

const NEEDED: Record<string, string> = { umoci: 'umoci', skopeo: 'skopeo', 'dpkg-deb': 'dpkg', tar: 'tar', git: 'git' };

/** undefined when the dry-run can run (after installing what is missing under CI), else why not. */
export const releaseToolsProblem = (): string | undefined => debianToolsProblem('the release dry-run', NEEDED);
