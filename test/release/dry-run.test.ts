/**
 * `npm run release:dry-run` end to end: every local step really runs (image for both platforms,
 * SBOM, provenance, the rehearsed push, npm pack and publish --dry-run), the publish steps print the
 * exact commands, and the outputs agree with each other: one index digest, one version, one commit.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { STEPS } from '../../scripts/release/steps.ts';
import { checkImageOutputs, readReleaseImage } from '../../scripts/release/verify.ts';
import { IMAGE_REPOSITORY } from '../../src/deploy/image.ts';
import { releaseToolsProblem } from './tools.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const problem = releaseToolsProblem();
const skip = problem ? `skipped: ${problem}` : false;
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let out = '';
let stdout = '';
const blob = (layout: string, digest: string) => readFileSync(join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)));
const json = <T>(layout: string, digest: string) => JSON.parse(blob(layout, digest).toString('utf8')) as T;
const release = (args: string[]) => spawnSync('npm', ['run', '--silent', 'release', '--', ...args], { cwd: repo, encoding: 'utf8' });

before(() => {
  if (skip) return;
  out = mkdtempSync(join(tmpdir(), 'outrigger-release-test-'));
  const r = spawnSync('npm', ['run', '--silent', 'release:dry-run', '--', '--out', out, '--tag', `v${version}`], { cwd: repo, encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  stdout = r.stdout;
});
after(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

test('every step runs or is printed, in the order of the one step list the workflow uses', { skip }, () => {
  const ran = [...stdout.matchAll(/^== ([\w-]+):/gm)].map((m) => m[1]);
  assert.deepEqual(
    ran,
    STEPS.map((s) => s.id),
  );
  const workflow = readFileSync(join(repo, '.github/workflows/release.yml'), 'utf8');
  const called = [...workflow.matchAll(/^\s*- run: npm run release -- --step ([\w-]+)$/gm)].map((m) => m[1]);
  assert.deepEqual(
    called,
    STEPS.map((s) => s.id),
    'the workflow runs every step, in order',
  );
  assert.match(stdout, /nothing was pushed, signed or published\n$/);
});

test('the index, both platform images, the SBOM and the provenance name the same digests', { skip }, () => {
  const layout = join(out, 'oci');
  const top = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const indexDigest = top.manifests[0]?.digest as string;
  assert.equal(sha256(blob(layout, indexDigest)), indexDigest);
  const entries = json<{ manifests: { digest: string; platform: { os: string; architecture: string } }[] }>(layout, indexDigest).manifests;
  assert.deepEqual(
    entries.map((e) => `${e.platform.os}/${e.platform.architecture}`),
    ['linux/amd64', 'linux/arm64', 'unknown/unknown'],
  );
  const [amd64, arm64, sbomEntry] = entries as [(typeof entries)[0], (typeof entries)[0], (typeof entries)[0]];
  const sbomFile = readFileSync(join(out, 'sbom.cdx.json'));
  assert.equal(
    json<{ layers: { digest: string }[] }>(layout, sbomEntry.digest).layers[0]?.digest,
    sha256(sbomFile),
    'the SBOM beside the layout is the one in it',
  );

  const statement = JSON.parse(readFileSync(join(out, 'provenance.json'), 'utf8')) as {
    predicateType: string;
    subject: { name: string; digest: { sha256: string } }[];
    predicate: unknown;
  };
  assert.equal(statement.predicateType, 'https://slsa.dev/provenance/v1');
  assert.deepEqual(
    statement.subject.map((s) => [s.name, `sha256:${s.digest.sha256}`]),
    [
      [IMAGE_REPOSITORY, indexDigest],
      [`${IMAGE_REPOSITORY}@linux/amd64`, amd64.digest],
      [`${IMAGE_REPOSITORY}@linux/arm64`, arm64.digest],
    ],
  );
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'provenance.predicate.json'), 'utf8')), statement.predicate);

  // The rehearsed push kept the digest that is signed and attested.
  assert.equal(readReleaseImage(join(out, 'pushed')).index.digest, indexDigest);
  const ref = `${IMAGE_REPOSITORY}@${indexDigest}`;
  assert.ok(stdout.includes(`would run: cosign sign --yes --recursive ${ref}\n`), stdout);
  assert.ok(stdout.includes(`would run: cosign attest --yes --type cyclonedx --predicate ${join(out, 'sbom.cdx.json')} ${ref}\n`));
  assert.ok(stdout.includes(`would run: cosign attest --yes --type slsaprovenance1 --predicate ${join(out, 'provenance.predicate.json')} ${ref}\n`));
  assert.ok(stdout.includes(`would run: skopeo copy --all --preserve-digests oci:${layout}:${version} docker://${IMAGE_REPOSITORY}:${version}\n`));
});

test('one version and one commit everywhere: labels, SBOM, provenance, npm tarball', { skip }, () => {
  const layout = join(out, 'oci');
  assert.deepEqual(
    checkImageOutputs(
      { layout, sbomFile: join(out, 'sbom.cdx.json'), provenanceFile: join(out, 'provenance.json') },
      { version, commit: head, arches: ['amd64', 'arm64'] },
    ),
    [],
  );
  // What `outrigger version` reads inside each image: the app layer's stamp names the labels' commit.
  for (const arch of ['amd64', 'arm64']) {
    const entry = readReleaseImage(layout).platforms.find((p) => p.platform?.architecture === arch) as { digest: string };
    const appLayer = json<{ layers: { digest: string }[] }>(layout, entry.digest).layers.at(-1) as { digest: string };
    const stamp = execFileSync('tar', ['-xzO', 'app/dist/build-info.json'], { input: blob(layout, appLayer.digest), encoding: 'utf8' });
    assert.deepEqual(JSON.parse(stamp), { commit: head }, arch);
  }
  const tgz = join(out, 'npm', `outrigger-${version}.tgz`);
  const files = execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const f of ['package/package.json', 'package/dist/cli/main.js', 'package/dist/build-info.json', 'package/README.md']) assert.ok(files.includes(f), f);
  assert.deepEqual(
    files.filter((f) => /\.test\.|^package\/(src|test|scripts)\//.test(f)),
    [],
  );
  assert.equal((JSON.parse(execFileSync('tar', ['-xzOf', tgz, 'package/package.json'], { encoding: 'utf8' })) as { version: string }).version, version);
  assert.deepEqual(JSON.parse(execFileSync('tar', ['-xzOf', tgz, 'package/dist/build-info.json'], { encoding: 'utf8' })), { commit: head });
  assert.ok(stdout.includes(`would run: npm publish --provenance --access public --tag latest ${tgz}\n`));
  if (existsSync(join(repo, 'charts/outrigger/Chart.yaml'))) assert.ok(existsSync(join(out, 'chart', `outrigger-${version}.tgz`)));
  else assert.match(stdout, /^skipped: charts\/outrigger\/Chart\.yaml does not exist/m);
});

test('outputs that disagree are caught: a changed SBOM, a provenance naming another image', { skip }, () => {
  const copy = mkdtempSync(join(tmpdir(), 'outrigger-release-tamper-'));
  try {
    cpSync(out, copy, { recursive: true });
    const files = { layout: join(copy, 'oci'), sbomFile: join(copy, 'sbom.cdx.json'), provenanceFile: join(copy, 'provenance.json') };
    writeFileSync(files.sbomFile, `${readFileSync(files.sbomFile, 'utf8')} `);
    const st = JSON.parse(readFileSync(files.provenanceFile, 'utf8')) as { subject: { digest: { sha256: string } }[] };
    (st.subject[0] as { digest: { sha256: string } }).digest.sha256 = '0'.repeat(64);
    writeFileSync(files.provenanceFile, JSON.stringify(st));
    const problems = checkImageOutputs(files, { version, commit: head, arches: ['amd64', 'arm64'] });
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0] as string, /sbom\.cdx\.json is sha256:[0-9a-f]{64}, the index's SBOM is sha256:/);
    assert.match(problems[1] as string, /^the provenance names sha256:0{64}, /);
    assert.match(
      checkImageOutputs(files, { version: '9.9.9', commit: head, arches: ['amd64', 'arm64'] }).join('\n'),
      new RegExp(`label version is ${version.replaceAll('.', '\\.')}, not 9\\.9\\.9`),
    );
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});

test('a tag that is not v<package.json version> stops the release; publish steps need the image first', { skip }, () => {
  const wrong = release(['--step', 'check-version', '--tag', 'v0.0.0-other']);
  assert.equal(wrong.status, 1);
  assert.match(
    wrong.stderr,
    new RegExp(
      `^error: tag v0\\.0\\.0-other does not match package\\.json version ${version.replaceAll('.', '\\.')} \\(expected v${version.replaceAll('.', '\\.')}\\)`,
    ),
  );
  const empty = mkdtempSync(join(tmpdir(), 'outrigger-release-empty-'));
  try {
    const sign = release(['--step', 'sign-image', '--tag', `v${version}`, '--out', empty]);
    assert.equal(sign.status, 1);
    assert.match(sign.stderr, /no image; run the image step first/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
