/**
 * Builds the image: checked inputs → file trees → deterministic layers → umoci images per
 * platform → one index tagged with the package version, and optionally an oci-archive.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IMAGE, IMAGE_TAG } from '../../src/deploy/image.ts';
import { cached } from './cache.ts';
import { tarLayer } from './layer.ts';
import { type Arch, debsFor, type ImageLock, readLock } from './lock.ts';
import { addArtifact, addImage, type Descriptor, initLayout, platformManifests, writeTopIndex } from './oci.ts';
import { imageLabels, type Provenance } from './provenance.ts';
import { APP_DIR, ENTRYPOINT, ENV, NONROOT, normalizeModes, productionModules, stageApp, stageRuntime } from './rootfs.ts';
import { requireTools, run } from './run.ts';
import { SBOM_FILE, SBOM_MEDIA_TYPE, sbom } from './sbom.ts';

export interface BuildOptions {
  out: string;
  archive?: string;
  /** Also write the SBOM here (it is in the index either way). */
  sbom?: string;
  arches: Arch[];
  sourceMaps: boolean;
}

export interface BuildResult {
  index: Descriptor;
  manifests: Descriptor[];
}

interface Inputs {
  node: Record<Arch, string>;
  debs: Record<Arch, string[]>;
}

async function fetchInputs(lock: ImageLock, arches: Arch[]): Promise<Inputs> {
  const node = {} as Record<Arch, string>;
  const debs = {} as Record<Arch, string[]>;
  for (const arch of arches) {
    const n = lock.node[arch];
    node[arch] = await cached(n.tarball, { sha256: n.sha256, integrity: n.integrity });
    debs[arch] = [];
    for (const d of debsFor(lock, arch)) debs[arch].push(await cached(d.url, { sha256: d.sha256 }, undefined, d.size));
  }
  return { node, debs };
}

/** An output directory is replaced only when it is empty or already an OCI layout. */
function prepareOut(out: string): void {
  if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, 'oci-layout'))) {
    throw new Error(`--out ${out}: exists, is not empty and is not an OCI layout; refusing to replace it`);
  }
  rmSync(out, { recursive: true, force: true });
}

export async function buildImage(repo: string, o: BuildOptions, p: Provenance): Promise<BuildResult> {
  requireTools(['umoci', 'tar', 'dpkg-deb']);
  const lock = readLock();
  const inputs = await fetchInputs(lock, o.arches);
  const tmp = mkdtempSync(join(tmpdir(), 'outrigger-image-'));
  try {
    const appRoot = join(tmp, 'app-root');
    stageApp(appRoot, repo, { sourceMaps: o.sourceMaps, revision: p.revision });
    normalizeModes(appRoot);
    const appTar = join(tmp, 'app.tar');
    tarLayer(appRoot, appTar, p.epoch);

    const layout = join(tmp, 'layout');
    initLayout(layout);
    const labels = imageLabels(p);
    for (const arch of o.arches) {
      const root = join(tmp, `runtime-${arch}`);
      stageRuntime(root, tmp, { nodeTarball: inputs.node[arch], debs: inputs.debs[arch] });
      normalizeModes(root);
      const runtimeTar = join(tmp, `runtime-${arch}.tar`);
      tarLayer(root, runtimeTar, p.epoch);
      addImage(
        layout,
        arch,
        [
          {
            tar: runtimeTar,
            createdBy: `outrigger image: node ${lock.node[arch].version}, ${debsFor(lock, arch)
              .map((d) => `${d.name} ${d.version}`)
              .join(', ')}`,
          },
          { tar: appTar, createdBy: `outrigger image: ${APP_DIR} (dist, package.json, production node_modules)` },
        ],
        {
          user: `${NONROOT.uid}:${NONROOT.gid}`,
          entrypoint: ENTRYPOINT,
          env: ENV,
          workingDir: APP_DIR,
          labels,
          created: p.created,
        },
      );
    }
    const manifests = platformManifests(layout, o.arches);
    run('umoci', ['gc', '--layout', layout]);
    const bom = Buffer.from(`${JSON.stringify(sbom(lock, o.arches, productionModules(repo), p), null, 2)}\n`);
    manifests.push(addArtifact(layout, SBOM_MEDIA_TYPE, bom, SBOM_FILE, p.created));
    const index = writeTopIndex(layout, manifests, IMAGE_TAG, IMAGE, labels);
    prepareOut(o.out);
    mkdirSync(o.out, { recursive: true });
    cpSync(layout, o.out, { recursive: true });
    normalizeModes(o.out);
    if (o.archive) tarLayer(o.out, o.archive, p.epoch);
    if (o.sbom) writeFileSync(o.sbom, bom);
    return { index, manifests };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
