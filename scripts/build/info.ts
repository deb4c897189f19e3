/**
 * Stamps a build with the commit it came from: `<outDir>/build-info.json`, read by src/version.ts.
 * Outside a git checkout (a source tarball) the commit is "unknown" rather than a failed build.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BUILD_INFO_FILE = 'build-info.json';

/** HEAD of the checkout at `repo`, or "unknown" when `repo` is not in one (or git is absent). */
export function gitCommit(repo: string): string {
  try {
    const out = execFileSync('git', ['rev-parse', '--verify', 'HEAD'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return /^[0-9a-f]{40}$/.test(out) ? out : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Deterministic for one commit, so the image build stays reproducible. */
export function buildInfoJson(commit: string): string {
  return `${JSON.stringify({ commit })}\n`;
}

export function writeBuildInfo(outDir: string, commit: string): string {
  const path = join(outDir, BUILD_INFO_FILE);
  writeFileSync(path, buildInfoJson(commit));
  return path;
}
