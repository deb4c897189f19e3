/**
 * The OCI layout: umoci writes each platform's image (compressed layers, config, manifest); the
 * multi-platform index on top, which umoci does not make, is written here. index.json then names
 * that one index by the version tag.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from './cache.ts';
import type { Arch } from './lock.ts';
import { run } from './run.ts';

export const INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const REF_NAME = 'org.opencontainers.image.ref.name';
/** containerd (`ctr images import`) names the image by this annotation, without needing --base-name. */
export const CONTAINERD_NAME = 'io.containerd.image.name';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

export interface ImageConfig {
  user: string;
  entrypoint: string[];
  env: string[];
  workingDir: string;
  labels: Record<string, string>;
  created: string;
}

export interface LayerSpec {
  tar: string;
  createdBy: string;
}

export function initLayout(dir: string): void {
  run('umoci', ['init', '--layout', dir]);
}

/** One platform's image, tagged `arch` in the layout. */
export function addImage(layout: string, arch: Arch, layers: LayerSpec[], c: ImageConfig): void {
  const image = `${layout}:${arch}`;
  run('umoci', ['new', '--image', image]);
  for (const l of layers) {
    run('umoci', ['raw', 'add-layer', '--image', image, '--history.created', c.created, '--history.created_by', l.createdBy, l.tar]);
  }
  const labels = Object.entries(c.labels).sort(([a], [b]) => a.localeCompare(b));
  run('umoci', [
    'config',
    '--image',
    image,
    '--no-history',
    '--os=linux',
    `--architecture=${arch}`,
    `--created=${c.created}`,
    `--config.user=${c.user}`,
    ...c.entrypoint.map((e) => `--config.entrypoint=${e}`),
    ...c.env.map((e) => `--config.env=${e}`),
    `--config.workingdir=${c.workingDir}`,
    ...labels.map(([k, v]) => `--config.label=${k}=${v}`),
    ...labels.map(([k, v]) => `--manifest.annotation=${k}=${v}`),
  ]);
}

export function readIndex(layout: string): { manifests: Descriptor[] } {
  return JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
}

export function readBlob(layout: string, digest: string): Buffer {
  return readFileSync(join(layout, 'blobs', ...digest.split(':')));
}

/** Writes a JSON blob and returns its descriptor. */
export function writeJsonBlob(layout: string, mediaType: string, value: unknown): Descriptor {
  const bytes = Buffer.from(JSON.stringify(value));
  const digest = `sha256:${sha256(bytes)}`;
  writeFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), bytes);
  return { mediaType, digest, size: bytes.length };
}

/** The platform manifests umoci tagged by architecture, with their platforms, in ARCHES order. */
export function platformManifests(layout: string, arches: readonly Arch[]): Descriptor[] {
  const tagged = readIndex(layout).manifests;
  return arches.map((arch) => {
    const d = tagged.find((m) => m.annotations?.[REF_NAME] === arch);
    if (!d) throw new Error(`umoci left no image tagged ${arch} in ${layout}`);
    return { mediaType: d.mediaType, digest: d.digest, size: d.size, platform: { architecture: arch, os: 'linux' } };
  });
}

/** Replaces the per-architecture tags (after `umoci gc`) with one index, tagged `tag`, holding `manifests`. */
export function writeTopIndex(layout: string, manifests: Descriptor[], tag: string, name: string, annotations: Record<string, string>): Descriptor {
  const index = writeJsonBlob(layout, INDEX_MEDIA_TYPE, { schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests, annotations });
  const top = { ...index, annotations: { [REF_NAME]: tag, [CONTAINERD_NAME]: name } };
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests: [top] }));
  return index;
}

const EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';

/**
 * A document as an OCI artifact manifest (empty config, the document as its one layer), for an
 * entry of the image index. Its platform is unknown/unknown, so clients choosing a platform pass it
 * by, while `skopeo copy --all` and registries carry it with the image. The descriptor leaves out
 * `artifactType` (the manifest holds it): skopeo 1.9 drops that field, which would change the digest.
 */
export function addArtifact(layout: string, artifactType: string, bytes: Buffer, title: string, created: string): Descriptor {
  const digest = `sha256:${sha256(bytes)}`;
  writeFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), bytes);
  const empty = Buffer.from('{}');
  writeFileSync(join(layout, 'blobs', 'sha256', sha256(empty)), empty);
  const manifest = writeJsonBlob(layout, MANIFEST_MEDIA_TYPE, {
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA_TYPE,
    artifactType,
    config: { mediaType: EMPTY_MEDIA_TYPE, digest: `sha256:${sha256(empty)}`, size: empty.length, data: empty.toString('base64') },
    layers: [{ mediaType: artifactType, digest, size: bytes.length, annotations: { 'org.opencontainers.image.title': title } }],
    annotations: { 'org.opencontainers.image.created': created },
  });
  return { ...manifest, platform: { architecture: 'unknown', os: 'unknown' } };
}
