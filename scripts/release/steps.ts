/**
 * The release, as one list of steps. The workflow (.github/workflows/release.yml) runs each with
 * `npm run release -- --step ID`; `npm run release:dry-run` runs the local ones here and prints the
 * commands of those that need registry credentials or an OIDC identity. One list, so the two
 * cannot drift apart.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_REPOSITORY, IMAGE_TAG, SOURCE_URL } from '../../src/deploy/image.ts';
import { VERSION } from '../../src/version.ts';
import { ARCHES } from '../image/lock.ts';
import { provenanceStatement, subjectName } from './provenance.ts';
import { checkImageOutputs, checkPackageFiles, readReleaseImage } from './verify.ts';

/** Where the chart goes: an OCI repository beside the image's. */
export const CHART_REGISTRY = `oci://${IMAGE_REPOSITORY.slice(0, IMAGE_REPOSITORY.lastIndexOf('/'))}/charts`;
export const CHART_DIR = 'charts/outrigger';

export interface Context {
  repo: string;
  /** All outputs: oci/, sbom.cdx.json, provenance.json, npm/, chart/. */
  out: string;
  version: string;
  tag: string;
  commit: string;
  dryRun: boolean;
  /** Progress and results, one line each. */
  log: (line: string) => void;
}

export class ReleaseError extends Error {}

export const paths = (c: Pick<Context, 'out' | 'version'>) => ({
  layout: join(c.out, 'oci'),
  sbom: join(c.out, 'sbom.cdx.json'),
  provenance: join(c.out, 'provenance.json'),
  provenancePredicate: join(c.out, 'provenance.predicate.json'),
  npmDir: join(c.out, 'npm'),
  npmTarball: join(c.out, 'npm', `outrigger-${c.version}.tgz`),
  /** Where a dry-run copies the image to, as the push would. */
  pushed: join(c.out, 'pushed'),
  chartDir: join(c.out, 'chart'),
  chartTarball: join(c.out, 'chart', `outrigger-${c.version}.tgz`),
});

export interface Step {
  id: string;
  summary: string;
  /** local: runs in the dry-run too. publish: needs credentials or an OIDC identity; printed there. */
  kind: 'local' | 'publish';
  /** local steps. */
  run?: (c: Context) => void;
  /** publish steps: the commands, run in order. */
  commands?: (c: Context) => string[][];
  /** publish steps: what of them a dry-run can do without credentials, done instead. */
  rehearse?: (c: Context) => void;
}

function sh(cmd: string, args: string[], c: Context, o: { input?: string } = {}): string {
  try {
    return execFileSync(cmd, args, { cwd: c.repo, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['pipe', 'pipe', 'pipe'], ...o });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { status?: number; stderr?: string };
    if (err.code === 'ENOENT') throw new ReleaseError(`${cmd} is not installed (needed for ${args.slice(0, 2).join(' ')})`);
    throw new ReleaseError(`${cmd} ${args.join(' ')} failed (exit ${err.status ?? err.code}):\n${String(err.stderr ?? err.message).trim()}`);
  }
}

/** The image's digest, read back from the layout the image step wrote (each step may run in its own process). */
function indexDigest(c: Context): string {
  const { layout } = paths(c);
  if (!existsSync(join(layout, 'index.json'))) throw new ReleaseError(`${layout}: no image; run the image step first`);
  return readReleaseImage(layout).index.digest;
}

const imageRef = (c: Context) => `${IMAGE_REPOSITORY}@${indexDigest(c)}`;

export const STEPS: readonly Step[] = [
  {
    id: 'check-version',
    summary: 'the tag, package.json, the CLI and the image tag name one version',
    kind: 'local',
    run(c) {
      const problems: string[] = [];
      if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(c.version)) problems.push(`package.json: version ${JSON.stringify(c.version)} is not semver X.Y.Z[-pre]`);
      if (c.tag !== `v${c.version}`) problems.push(`tag ${c.tag} does not match package.json version ${c.version} (expected v${c.version})`);
      if (VERSION !== c.version) problems.push(`src/version.ts reports ${VERSION}, package.json says ${c.version}`);
      if (IMAGE_TAG !== c.version) problems.push(`the image tag is ${IMAGE_TAG}, package.json says ${c.version}`);
      // npm checks a provenance's source repository against package.json's, and refuses a mismatch.
      const repository = (JSON.parse(readFileSync(join(c.repo, 'package.json'), 'utf8')) as { repository?: { url?: string } }).repository?.url;
      if (repository !== `git+${SOURCE_URL}.git`)
        problems.push(`package.json: repository.url is ${JSON.stringify(repository)}, not "git+${SOURCE_URL}.git" (npm publish --provenance needs them equal)`);
      if (!/^[0-9a-f]{40}$/.test(c.commit)) problems.push(`${c.repo}: not a git checkout (commit ${c.commit}); a release is built from one`);
      if (problems.length > 0) throw new ReleaseError(problems.join('\n'));
      c.log(`version ${c.version}, tag ${c.tag}, commit ${c.commit}`);
    },
  },
  {
    id: 'image',
    summary: `npm run image for ${ARCHES.map((a) => `linux/${a}`).join(' and ')}, with its SBOM, then the provenance statement`,
    kind: 'local',
    run(c) {
      const p = paths(c);
      mkdirSync(c.out, { recursive: true });
      sh(process.execPath, [join(c.repo, 'scripts/image.ts'), '--out', p.layout, '--sbom', p.sbom, '--platform', ARCHES.map((a) => `linux/${a}`).join(',')], c);
      const img = readReleaseImage(p.layout);
      const statement = provenanceStatement({
        version: c.version,
        tag: c.tag,
        commit: c.commit,
        digests: [{ name: subjectName(), digest: img.index.digest }, ...img.platforms.map((m) => ({ name: subjectName(m.platform), digest: m.digest }))],
      });
      writeFileSync(p.provenance, `${JSON.stringify(statement, null, 2)}\n`);
      // cosign attest takes the predicate and makes the statement itself, with the pushed digest as subject.
      writeFileSync(p.provenancePredicate, `${JSON.stringify(statement.predicate, null, 2)}\n`);
      c.log(`image ${img.index.digest} (${img.platforms.map((m) => `${m.platform?.architecture} ${m.digest}`).join(', ')}), SBOM ${img.sbom.digest}`);
    },
  },
  {
    id: 'verify-image',
    summary: 'the index, platform images, SBOM and provenance name the same digests, version and commit',
    kind: 'local',
    run(c) {
      const p = paths(c);
      const problems = checkImageOutputs(
        { layout: p.layout, sbomFile: p.sbom, provenanceFile: p.provenance },
        { version: c.version, commit: c.commit, arches: ARCHES },
      );
      if (problems.length > 0) throw new ReleaseError(`the image outputs disagree:\n  ${problems.join('\n  ')}`);
      c.log(`index, SBOM and provenance agree on ${indexDigest(c)}`);
    },
  },
  {
    id: 'npm-pack',
    summary: 'npm pack (prepare builds and stamps dist/), the tarball checked, then npm publish --dry-run of that tarball',
    kind: 'local',
    run(c) {
      const p = paths(c);
      rmSync(p.npmDir, { recursive: true, force: true });
      mkdirSync(p.npmDir, { recursive: true });
      sh('npm', ['pack', '--pack-destination', p.npmDir, '--json'], c);
      if (!existsSync(p.npmTarball)) throw new ReleaseError(`npm pack wrote ${readdirSync(p.npmDir).join(', ')}, not ${p.npmTarball}`);
      const files = sh('tar', ['-tzf', p.npmTarball], c).split('\n').filter(Boolean);
      const problems = checkPackageFiles(files);
      const pkg = JSON.parse(sh('tar', ['-xzOf', p.npmTarball, 'package/package.json'], c)) as { version: string };
      if (pkg.version !== c.version) problems.push(`the tarball's package.json says ${pkg.version}, not ${c.version}`);
      const info = JSON.parse(sh('tar', ['-xzOf', p.npmTarball, 'package/dist/build-info.json'], c)) as { commit: string };
      if (info.commit !== c.commit) problems.push(`the tarball's dist/build-info.json names commit ${info.commit}, not ${c.commit}`);
      if (problems.length > 0) throw new ReleaseError(`${p.npmTarball}:\n  ${problems.join('\n  ')}`);
      // Publishing a tarball runs no lifecycle scripts: what is published is exactly what was checked.
      sh('npm', ['publish', '--dry-run', '--access', 'public', '--tag', npmDistTag(c.version), p.npmTarball], c);
      c.log(`${p.npmTarball}: ${files.length} files, version ${pkg.version}, commit ${info.commit}`);
    },
  },
  {
    id: 'helm-package',
    summary: `helm package ${CHART_DIR} with version and appVersion ${'<version>'}`,
    kind: 'local',
    run(c) {
      const p = paths(c);
      if (!existsSync(join(c.repo, CHART_DIR, 'Chart.yaml'))) {
        const msg = `${CHART_DIR}/Chart.yaml does not exist: there is no chart to package`;
        // A release without its chart is incomplete; a dry-run says so and goes on.
        if (!c.dryRun) throw new ReleaseError(msg);
        c.log(`skipped: ${msg}`);
        return;
      }
      rmSync(p.chartDir, { recursive: true, force: true });
      mkdirSync(p.chartDir, { recursive: true });
      sh(helm(), ['package', join(c.repo, CHART_DIR), '--version', c.version, '--app-version', c.version, '--destination', p.chartDir], c);
      if (!existsSync(p.chartTarball)) throw new ReleaseError(`helm package wrote ${readdirSync(p.chartDir).join(', ')}, not ${p.chartTarball}`);
      const chart = sh('tar', ['-xzOf', p.chartTarball, 'outrigger/Chart.yaml'], c);
      for (const field of ['version', 'appVersion']) {
        const m = new RegExp(`^${field}: "?([^"\\n]+)"?$`, 'm').exec(chart);
        if (m?.[1] !== c.version) throw new ReleaseError(`${p.chartTarball}: Chart.yaml ${field} is ${m?.[1]}, not ${c.version}`);
      }
      c.log(`${p.chartTarball}: version and appVersion ${c.version}`);
    },
  },
  {
    id: 'push-image',
    summary: `copy the OCI layout, every platform and the SBOM, digests unchanged, to ${IMAGE_REPOSITORY}:<version>`,
    kind: 'publish',
    commands: (c) => [['skopeo', 'copy', '--all', '--preserve-digests', `oci:${paths(c).layout}:${c.version}`, `docker://${IMAGE_REPOSITORY}:${c.version}`]],
    // The same copy into a local layout: every platform and the SBOM travel, and the digest that is signed stays.
    rehearse(c) {
      const p = paths(c);
      rmSync(p.pushed, { recursive: true, force: true });
      sh('skopeo', ['copy', '--all', '--preserve-digests', `oci:${p.layout}:${c.version}`, `oci:${p.pushed}:${c.version}`], c);
      const copied = readReleaseImage(p.pushed).index.digest;
      if (copied !== indexDigest(c)) throw new ReleaseError(`skopeo copy --all changed the index digest: ${indexDigest(c)} became ${copied}`);
      c.log(`rehearsed: skopeo copy --all --preserve-digests into ${p.pushed} keeps ${copied}`);
    },
  },
  {
    id: 'sign-image',
    summary: 'keyless cosign signature of the index and each platform image (the workflow OIDC identity)',
    kind: 'publish',
    commands: (c) => [['cosign', 'sign', '--yes', '--recursive', imageRef(c)]],
  },
  {
    id: 'attest-image',
    summary: 'attach the SBOM (CycloneDX) and the SLSA provenance to the image as signed attestations',
    kind: 'publish',
    commands: (c) => [
      ['cosign', 'attest', '--yes', '--type', 'cyclonedx', '--predicate', paths(c).sbom, imageRef(c)],
      ['cosign', 'attest', '--yes', '--type', 'slsaprovenance1', '--predicate', paths(c).provenancePredicate, imageRef(c)],
    ],
  },
  {
    id: 'npm-publish',
    summary: 'publish the checked tarball to npm with provenance',
    kind: 'publish',
    commands: (c) => [['npm', 'publish', '--provenance', '--access', 'public', '--tag', npmDistTag(c.version), paths(c).npmTarball]],
  },
  {
    id: 'helm-push',
    summary: `push the chart to ${CHART_REGISTRY}`,
    kind: 'publish',
    commands: (c) => [[helm(), 'push', paths(c).chartTarball, CHART_REGISTRY]],
    rehearse(c) {
      if (!existsSync(paths(c).chartTarball)) c.log('no chart was packaged (see helm-package), so this would fail until there is one');
    },
  },
];

/** Pre-releases (1.2.0-rc.1) must not become npm's `latest`. */
export function npmDistTag(version: string): string {
  return version.includes('-') ? 'next' : 'latest';
}

/** HELM names the binary (built from its Go module elsewhere); else helm on PATH. */
export function helm(env: NodeJS.ProcessEnv = process.env): string {
  return env.HELM || 'helm';
}

export function findStep(id: string): Step {
  const s = STEPS.find((x) => x.id === id);
  if (!s) throw new ReleaseError(`no release step ${JSON.stringify(id)}; the steps are ${STEPS.map((x) => x.id).join(', ')}`);
  return s;
}

export function packageVersion(repo: string): string {
  return (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
}
