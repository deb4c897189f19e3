/**
 * Where an image comes from: the package version, the git commit and its time. The commit time is
 * SOURCE_DATE_EPOCH (unless set), so two builds of one commit carry the same timestamps.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_TAG, SOURCE_URL } from '../../src/deploy/image.ts';
import { run } from './run.ts';

export interface Provenance {
  version: string;
  revision: string;
  epoch: number;
  created: string;
  license: string;
  description: string;
}

export function provenance(repo: string, env: NodeJS.ProcessEnv = process.env): Provenance {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { license: string; description: string };
  const revision = run('git', ['rev-parse', 'HEAD'], { cwd: repo }).trim();
  const fromEnv = env.SOURCE_DATE_EPOCH;
  const epoch = Number(fromEnv ?? run('git', ['log', '-1', '--format=%ct', 'HEAD'], { cwd: repo }).trim());
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`SOURCE_DATE_EPOCH: ${JSON.stringify(fromEnv)} is not a whole number of seconds`);
  return {
    version: IMAGE_TAG,
    revision,
    epoch,
    created: new Date(epoch * 1000).toISOString().replace('.000Z', 'Z'),
    license: pkg.license,
    description: pkg.description,
  };
}

export function imageLabels(p: Provenance): Record<string, string> {
  return {
    'org.opencontainers.image.created': p.created,
    'org.opencontainers.image.description': p.description,
    'org.opencontainers.image.licenses': p.license,
    'org.opencontainers.image.revision': p.revision,
    'org.opencontainers.image.source': SOURCE_URL,
    'org.opencontainers.image.title': 'outrigger',
    'org.opencontainers.image.version': p.version,
  };
}
