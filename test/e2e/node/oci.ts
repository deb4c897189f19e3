// Single-layer OCI image archives written from local files, for the node tests: nothing is pulled
// from a registry. The layer is a deterministic tar (sorted names, mtime 0, owner 0:0) made with
// GNU tar; the archive is an OCI layout (oci-layout, index.json, blobs/sha256/*) that
// `ctr images import` reads.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface ImageSpec {
  /** Full reference, e.g. outrigger-e2e.local/busybox:1 (a tag other than latest: never pulled). */
  ref: string;
  /** Files of the root filesystem: path inside the image → host file to copy. */
  files: Record<string, string>;
  /** Directory trees: path inside the image → host directory to copy recursively. */
  trees?: Record<string, string>;
  /** Symbolic links: path inside the image → target. */
  links?: Record<string, string>;
  entrypoint?: string[];
  cmd?: string[];
  user?: string;
  env?: string[];
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function tar(args: string[]): Buffer {
  const r = spawnSync('tar', args, { maxBuffer: 512 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`tar ${args.join(' ')} failed: ${r.error ?? r.stderr.toString()}`);
  return r.stdout;
}

const deterministic = ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=posix', '--pax-option=delete=atime,delete=ctime'];

/** Writes the image as an OCI archive at `out`; returns the manifest digest. */
export function writeOciArchive(spec: ImageSpec, out: string): string {
  const work = mkdtempSync(join(tmpdir(), 'outrigger-oci-'));
  try {
    const root = join(work, 'rootfs');
    mkdirSync(root);
    for (const [inImage, host] of Object.entries(spec.files)) {
      const p = join(root, inImage);
      mkdirSync(dirname(p), { recursive: true });
      copyFileSync(host, p);
      chmodSync(p, 0o755);
    }
    for (const [inImage, host] of Object.entries(spec.trees ?? {})) {
      cpSync(host, join(root, inImage), { recursive: true, dereference: true });
    }
    for (const [inImage, target] of Object.entries(spec.links ?? {})) {
      const p = join(root, inImage);
      mkdirSync(dirname(p), { recursive: true });
      symlinkSync(target, p);
    }
    mkdirSync(join(root, 'tmp'), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    const layerTar = tar([...deterministic, '-C', root, '-cf', '-', '.']);
    const layer = gzipSync(layerTar, { level: 1 }); // speed over size: the archive stays local
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: {
          ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
          ...(spec.cmd ? { Cmd: spec.cmd } : {}),
          ...(spec.user ? { User: spec.user } : {}),
          Env: spec.env ?? ['PATH=/bin'],
        },
        rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layerTar)}`] },
        history: [{ created_by: 'test/e2e/node/oci.ts' }],
      }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(config)}`, size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha256(layer)}`, size: layer.length }],
      }),
    );
    const layout = join(work, 'layout');
    mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
    for (const b of [layer, config, manifest]) writeFileSync(join(layout, 'blobs', 'sha256', sha256(b)), b);
    const tag = spec.ref.slice(spec.ref.lastIndexOf(':') + 1);
    writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(
      join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: `sha256:${sha256(manifest)}`,
            size: manifest.length,
            annotations: { 'io.containerd.image.name': spec.ref, 'org.opencontainers.image.ref.name': tag },
          },
        ],
      }),
    );
    writeFileSync(out, tar([...deterministic, '-C', layout, '-cf', '-', 'oci-layout', 'index.json', 'blobs']));
    return `sha256:${sha256(manifest)}`;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export const BUSYBOX_REF = 'outrigger-e2e.local/busybox:1';
export const PAUSE_REF = 'outrigger-e2e.local/pause:1';

const BUSYBOX_APPLETS = ['sh', 'sleep', 'cat', 'env', 'ls', 'echo', 'id', 'grep', 'test', 'true', 'date', 'wc', 'touch', 'mkdir', 'ps', 'head'];

/** busybox-static: sh, sleep, cat, env… for app containers and test sidecars. */
export function busyboxImage(busybox = '/usr/bin/busybox'): ImageSpec {
  return {
    ref: BUSYBOX_REF,
    files: { 'bin/busybox': busybox },
    links: Object.fromEntries(BUSYBOX_APPLETS.map((a) => [`bin/${a}`, 'busybox'])),
    cmd: ['sh'],
  };
}

/** The sandbox ("pause") image: Debian's static catatonit, which only reaps and waits. */
export function pauseImage(catatonit = '/usr/bin/catatonit'): ImageSpec {
  return { ref: PAUSE_REF, files: { catatonit }, entrypoint: ['/catatonit', '-P'], user: '65535:65535' };
}
