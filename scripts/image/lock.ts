/**
 * image/lock.json: every input of the image that does not come from this repository, pinned by
 * version and digest. `npm run image:lock` writes it; the build reads and checks it.
 */
import { readFileSync } from 'node:fs';

export const ARCHES = ['amd64', 'arm64'] as const;
export type Arch = (typeof ARCHES)[number];

export interface NodePackage {
  name: string;
  version: string;
  tarball: string;
  /** The registry's dist.integrity (SRI, sha512). */
  integrity: string;
  sha256: string;
}

export interface DebPackage {
  name: string;
  version: string;
  architecture: string;
  url: string;
  size: number;
  sha256: string;
}

export interface ImageLock {
  node: Record<Arch, NodePackage>;
  debian: DebPackage[];
}

export const LOCK_URL = new URL('../../image/lock.json', import.meta.url);
const PACKAGE_LOCK_URL = new URL('../../package-lock.json', import.meta.url);

/** The Node version the project pins: the `node` dev dependency as resolved in package-lock.json. */
export function pinnedNodeVersion(): string {
  const lock = JSON.parse(readFileSync(PACKAGE_LOCK_URL, 'utf8')) as { packages?: Record<string, { version?: string }> };
  const version = lock.packages?.['node_modules/node']?.version;
  if (!version) throw new Error('package-lock.json: packages["node_modules/node"].version is missing; the node dev dependency pins the runtime');
  return version;
}

const SHA256 = /^[0-9a-f]{64}$/;

function checkNode(arch: Arch, p: NodePackage | undefined, want: string): NodePackage {
  const where = `image/lock.json node.${arch}`;
  if (!p) throw new Error(`${where} is missing; run npm run image:lock`);
  if (p.version !== want) throw new Error(`${where} pins node ${p.version} but package-lock.json pins ${want}; run npm run image:lock`);
  if (!p.integrity.startsWith('sha512-') || !SHA256.test(p.sha256)) throw new Error(`${where}: integrity must be sha512-… and sha256 64 hex digits`);
  return p;
}

function checkDeb(d: DebPackage, i: number): DebPackage {
  const where = `image/lock.json debian[${i}] (${d.name ?? '?'})`;
  for (const k of ['name', 'version', 'architecture', 'url'] as const)
    if (typeof d[k] !== 'string' || d[k] === '') throw new Error(`${where}.${k} must be a string`);
  if (!SHA256.test(d.sha256)) throw new Error(`${where}.sha256 must be 64 hex digits`);
  if (!Number.isInteger(d.size) || d.size <= 0) throw new Error(`${where}.size must be a positive integer`);
  return d;
}

/** Reads the lock and checks it is complete and agrees with package-lock.json. */
export function readLock(): ImageLock {
  const raw = JSON.parse(readFileSync(LOCK_URL, 'utf8')) as Partial<ImageLock>;
  const want = pinnedNodeVersion();
  const node = Object.fromEntries(ARCHES.map((a) => [a, checkNode(a, raw.node?.[a], want)])) as Record<Arch, NodePackage>;
  if (!Array.isArray(raw.debian)) throw new Error('image/lock.json: debian must be a list of packages');
  return { node, debian: raw.debian.map(checkDeb) };
}

/** The Debian packages installed for one architecture (its own plus the architecture-independent ones). */
export function debsFor(lock: ImageLock, arch: Arch): DebPackage[] {
  return lock.debian.filter((d) => d.architecture === arch || d.architecture === 'all');
}
