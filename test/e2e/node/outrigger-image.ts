// The Outrigger image the node tests run. When the project's image build (`npm run image`) is
// available, its archive is used; until then a stand-in is assembled from this checkout: the
// Node.js binary the project develops with, the shared libraries it links (from the host), the
// TypeScript sources (Node 24 runs them directly), package.json and the runtime dependency.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../build-apiserver.ts';
import { writeOciArchive } from './oci.ts';

export interface BuiltImage {
  archive: string;
  ref: string;
  version: string;
}

const packageVersion = (): string => (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** Shared libraries a dynamically linked binary needs, as ldd resolves them on this host. */
function sharedLibraries(binary: string): Record<string, string> {
  const r = spawnSync('ldd', [binary], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ldd ${binary}: ${r.stderr}`);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) out[m[1].replace(/^\//, '')] = realpathSync(m[1]);
  }
  return out;
}

export function buildOutriggerImage(dir: string): BuiltImage {
  mkdirSync(dir, { recursive: true });
  const version = packageVersion();
  const ref = `outrigger-e2e.local/outrigger:${version}`;
  const node = realpathSync(join(repoRoot, 'node_modules', '.bin', 'node'));
  const archive = join(dir, 'outrigger.oci.tar');
  writeOciArchive(
    {
      ref,
      files: { 'usr/local/bin/node': node, ...sharedLibraries(node), 'app/package.json': join(repoRoot, 'package.json') },
      trees: { 'app/src': join(repoRoot, 'src'), 'app/node_modules/yaml': join(repoRoot, 'node_modules', 'yaml') },
      entrypoint: ['/usr/local/bin/node', '/app/src/cli/main.ts'],
      user: '65532:65532',
      env: ['PATH=/usr/local/bin', 'NODE_ENV=production'],
    },
    archive,
  );
  return { archive, ref, version };
}
