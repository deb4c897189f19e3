/** The release's pure parts: the provenance statement, the npm tarball rules, the step list. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { provenanceStatement } from '../../scripts/release/provenance.ts';
import { findStep, npmDistTag, STEPS } from '../../scripts/release/steps.ts';
import { checkPackageFiles } from '../../scripts/release/verify.ts';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const input = {
  version: '1.2.3',
  tag: 'v1.2.3',
  commit: 'c'.repeat(40),
  digests: [
    { name: 'img', digest: d('a') },
    { name: 'img@linux/amd64', digest: d('b') },
  ],
};

test('the provenance names every digest, the tag and the commit, and the workflow run when there is one', () => {
  const local = provenanceStatement({ ...input, env: {} });
  assert.deepEqual(local.subject, [
    { name: 'img', digest: { sha256: 'a'.repeat(64) } },
    { name: 'img@linux/amd64', digest: { sha256: 'b'.repeat(64) } },
  ]);
  const p = local.predicate as {
    buildDefinition: { externalParameters: { source: { uri: string; digest: { gitCommit: string } } } };
    runDetails: { builder: { id: string; invocationId?: string } };
  };
  assert.match(p.buildDefinition.externalParameters.source.uri, /@refs\/tags\/v1\.2\.3$/);
  assert.equal(p.buildDefinition.externalParameters.source.digest.gitCommit, 'c'.repeat(40));
  assert.match(p.runDetails.builder.id, /#local-dry-run$/);
  const ci = provenanceStatement({
    ...input,
    env: {
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'o/r',
      GITHUB_WORKFLOW_REF: 'o/r/.github/workflows/release.yml@refs/tags/v1.2.3',
      GITHUB_RUN_ID: '7',
      GITHUB_RUN_ATTEMPT: '2',
    },
  }).predicate as typeof p;
  assert.deepEqual(ci.runDetails.builder, {
    id: 'https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1.2.3',
    invocationId: 'https://github.com/o/r/actions/runs/7/attempts/2',
  });
  assert.throws(
    () => provenanceStatement({ ...input, digests: [{ name: 'img', digest: 'sha256:xyz' }] }),
    /^Error: provenance: img: "sha256:xyz" is not a sha256 digest$/,
  );
});

test('the npm tarball must hold the built CLI and its stamp, and no sources or tests', () => {
  const good = ['package/package.json', 'package/README.md', 'package/dist/cli/main.js', 'package/dist/version.js', 'package/dist/build-info.json'];
  assert.deepEqual(checkPackageFiles(good), []);
  assert.deepEqual(checkPackageFiles([...good.filter((f) => !f.endsWith('build-info.json')), 'package/src/version.ts', 'package/dist/x.test.js']), [
    'the npm package has no package/dist/build-info.json',
    'the npm package holds files it must not: package/src/version.ts, package/dist/x.test.js',
  ]);
});

test('pre-releases are not npm latest; step ids are unique and an unknown one is named with the list', () => {
  assert.equal(npmDistTag('1.2.3'), 'latest');
  assert.equal(npmDistTag('1.2.3-rc.1'), 'next');
  assert.equal(new Set(STEPS.map((s) => s.id)).size, STEPS.length);
  for (const s of STEPS) assert.ok((s.kind === 'local') === (s.run !== undefined) && (s.kind === 'publish') === (s.commands !== undefined), s.id);
  assert.throws(
    () => findStep('deploy'),
    /^Error: no release step "deploy"; the steps are check-version, image, verify-image, npm-pack, helm-package, push-image, /,
  );
});
