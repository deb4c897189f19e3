/** The CLI as npm installs it: a package directory with package.json, dist/ from `npm run build`, node_modules. */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface BuiltPackage {
  dir: string;
  /** The executable npm links as `outrigger` (package.json `bin`). */
  bin: string;
  remove(): void;
}

export function buildPackage(): BuiltPackage {
  const dir = mkdtempSync(join(tmpdir(), 'outrigger-built-'));
  try {
    copyFileSync(join(REPO, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
    execFileSync(process.execPath, [join(REPO, 'scripts/build.ts'), '--out', join(dir, 'dist')], { cwd: REPO, stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, bin: join(dir, 'dist/cli/main.js'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
