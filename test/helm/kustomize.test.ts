// deploy/kustomize (written by `npm run generate`): `kustomize build`, with kustomize built from its
// Go module, gives exactly the objects of `outrigger manifests`, and works as an overlay's base.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { repoRoot } from '../e2e/build-apiserver.ts';
import { kustomizeAvailability } from '../tools/kustomize.ts';
import { byKey, manifests, type Obj, parseObjects, run } from './chart.ts';

const { bin, skip } = await kustomizeAvailability();
const base = join(repoRoot, 'deploy', 'kustomize');
const tmp = mkdtempSync(join(tmpdir(), 'outrigger-kustomize-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function build(dir: string): Obj[] {
  const r = run(bin as string, ['build', dir]);
  assert.equal(r.status, 0, `kustomize build ${dir} failed (exit ${r.status}):\n${r.stderr}`);
  return parseObjects(r.stdout, 'kustomize build');
}

describe('deploy/kustomize', { skip }, () => {
  test('kustomize build gives the objects of `outrigger manifests` with its defaults, one by one', () => {
    const built = byKey(build(base));
    const bundle = byKey(manifests());
    assert.deepEqual([...built.keys()].sort(), [...bundle.keys()].sort());
    for (const [k, o] of bundle) assert.deepEqual(built.get(k), o, `${k} differs`);
  });

  test('an overlay on the base patches what it names and nothing else', () => {
    const dir = mkdtempSync(join(tmp, 'overlay-'));
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources:',
        `  - ${relative(dir, base)}`, // kustomize takes bases by relative path only
        'patches:',
        '  - target: { kind: Deployment, name: outrigger }',
        '    patch: |-',
        '      - { op: replace, path: /spec/replicas, value: 3 }',
        '',
      ].join('\n'),
    );
    const built = byKey(build(dir));
    const bundle = byKey(manifests(['--replicas', '3']));
    for (const [k, o] of bundle) assert.deepEqual(built.get(k), o, `${k} differs`);
  });
});
