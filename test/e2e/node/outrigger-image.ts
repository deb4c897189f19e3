// The Outrigger image the node tests run: the project's own build (`npm run image`), for this
// machine's architecture only, as an oci-archive that `ctr images import` reads.

import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE } from '../../../src/deploy/image.ts';
import { VERSION } from '../../../src/version.ts';
import { repoRoot } from '../build-apiserver.ts';

export interface BuiltImage {
  archive: string;
  ref: string;
  version: string;
}

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

export function buildOutriggerImage(dir: string): BuiltImage {
  mkdirSync(dir, { recursive: true });
  const arch = ARCH[process.arch];
  if (!arch) throw new Error(`npm run image builds amd64 and arm64 only, not ${process.arch}`);
  const archive = join(dir, 'outrigger.oci.tar');
  const args = ['run', '--silent', 'image', '--', '--out', join(dir, 'layout'), '--archive', archive, '--platform', arch];
  const r = spawnSync('npm', args, { cwd: repoRoot, encoding: 'utf8', timeout: 15 * 60_000 });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return { archive, ref: IMAGE, version: VERSION };
}
