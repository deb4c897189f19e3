/**
 * Checks a release's outputs against each other before anything is published: the OCI layout's
 * index, its platform images and SBOM artifact, the SBOM file beside it, the provenance statement,
 * and the version and commit every one of them names. Collects every problem, then fails once.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Descriptor } from '../image/oci.ts';
import { SBOM_MEDIA_TYPE } from '../image/sbom.ts';

export type { Descriptor };

export interface ReleaseImage {
  /** The multi-platform index, as pushed and signed. */
  index: Descriptor;
  /** linux/amd64, linux/arm64, … in index order (not the SBOM artifact). */
  platforms: Descriptor[];
  sbom: Descriptor;
}

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export function readBlob(layout: string, digest: string): Buffer {
  const [alg, hex] = digest.split(':');
  if (alg !== 'sha256' || !hex || !/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${layout}: ${JSON.stringify(digest)} is not a sha256 digest`);
  const bytes = readFileSync(join(layout, 'blobs', 'sha256', hex));
  if (sha256(bytes) !== digest) throw new Error(`${layout}: blob ${digest} does not hash to its name`);
  return bytes;
}

const json = <T>(layout: string, d: { digest: string }): T => JSON.parse(readBlob(layout, d.digest).toString('utf8')) as T;

/** The image in an OCI layout written by `npm run image`, found through index.json's one entry. */
export function readReleaseImage(layout: string): ReleaseImage {
  const top = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests?: Descriptor[] };
  if (top.manifests?.length !== 1) throw new Error(`${layout}/index.json: expected one entry (the image index), found ${top.manifests?.length ?? 0}`);
  const index = top.manifests[0] as Descriptor;
  const entries = json<{ manifests: Descriptor[] }>(layout, index).manifests;
  const sbom = entries.find((m) => m.platform?.os === 'unknown');
  if (!sbom) throw new Error(`${layout}: the image index ${index.digest} holds no SBOM artifact`);
  return { index, platforms: entries.filter((m) => m !== sbom), sbom };
}

export interface Expect {
  version: string;
  commit: string;
  arches: readonly string[];
}

interface Statement {
  subject: { name: string; digest: { sha256: string } }[];
  predicate: { buildDefinition: { externalParameters: { source: { digest: { gitCommit: string } }; version: string } } };
}

/** Every problem found; empty when the outputs agree with each other and with `want`. */
export function checkImageOutputs(out: { layout: string; sbomFile: string; provenanceFile: string }, want: Expect): string[] {
  const problems: string[] = [];
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  const img = readReleaseImage(out.layout);
  expect(
    img.index.annotations?.['org.opencontainers.image.ref.name'] === want.version,
    `index.json tags the image ${JSON.stringify(img.index.annotations?.['org.opencontainers.image.ref.name'])}, not ${want.version}`,
  );
  const arches = img.platforms.map((p) => `${p.platform?.os}/${p.platform?.architecture}`);
  expect(
    JSON.stringify(arches) === JSON.stringify(want.arches.map((a) => `linux/${a}`)),
    `the index holds ${arches.join(', ')}, not ${want.arches.map((a) => `linux/${a}`).join(', ')}`,
  );
  for (const p of img.platforms) {
    const manifest = json<{ config: Descriptor }>(out.layout, p);
    const labels = json<{ config: { Labels?: Record<string, string> } }>(out.layout, manifest.config).config.Labels ?? {};
    const where = `${p.platform?.architecture} image ${p.digest}`;
    expect(
      labels['org.opencontainers.image.version'] === want.version,
      `${where}: label version is ${labels['org.opencontainers.image.version']}, not ${want.version}`,
    );
    expect(
      labels['org.opencontainers.image.revision'] === want.commit,
      `${where}: label revision is ${labels['org.opencontainers.image.revision']}, not ${want.commit}`,
    );
  }

  const artifact = json<{ artifactType: string; layers: Descriptor[] }>(out.layout, img.sbom);
  expect(artifact.artifactType === SBOM_MEDIA_TYPE, `the SBOM artifact's type is ${artifact.artifactType}, not ${SBOM_MEDIA_TYPE}`);
  if (!existsSync(out.sbomFile)) problems.push(`${out.sbomFile}: missing`);
  else {
    const file = readFileSync(out.sbomFile);
    expect(artifact.layers[0]?.digest === sha256(file), `${out.sbomFile} is ${sha256(file)}, the index's SBOM is ${artifact.layers[0]?.digest}`);
    const bom = JSON.parse(file.toString('utf8')) as { metadata: { component: { version: string; properties: { name: string; value: string }[] } } };
    const c = bom.metadata.component;
    expect(c.version === want.version, `the SBOM describes version ${c.version}, not ${want.version}`);
    const rev = c.properties.find((p) => p.name === 'org.opencontainers.image.revision')?.value;
    expect(rev === want.commit, `the SBOM names commit ${rev}, not ${want.commit}`);
  }

  if (!existsSync(out.provenanceFile)) problems.push(`${out.provenanceFile}: missing`);
  else {
    const st = JSON.parse(readFileSync(out.provenanceFile, 'utf8')) as Statement;
    const named = st.subject.map((s) => `sha256:${s.digest.sha256}`);
    const built = [img.index.digest, ...img.platforms.map((p) => p.digest)];
    expect(JSON.stringify(named) === JSON.stringify(built), `the provenance names ${named.join(', ')}, the layout holds ${built.join(', ')}`);
    const ext = st.predicate.buildDefinition.externalParameters;
    expect(ext.source.digest.gitCommit === want.commit, `the provenance names commit ${ext.source.digest.gitCommit}, not ${want.commit}`);
    expect(ext.version === want.version, `the provenance names version ${ext.version}, not ${want.version}`);
  }
  return problems;
}

/** The files of an npm tarball (`tar -tzf` names), checked for what the package must and must not hold. */
export function checkPackageFiles(files: readonly string[]): string[] {
  const problems: string[] = [];
  for (const f of ['package/package.json', 'package/dist/cli/main.js', 'package/dist/version.js', 'package/dist/build-info.json', 'package/README.md']) {
    if (!files.includes(f)) problems.push(`the npm package has no ${f}`);
  }
  const stray = files.filter((f) => /\.test\.|^package\/(src|test|scripts|node_modules)\//.test(f));
  if (stray.length > 0) problems.push(`the npm package holds files it must not: ${stray.slice(0, 5).join(', ')}${stray.length > 5 ? ', …' : ''}`);
  return problems;
}
