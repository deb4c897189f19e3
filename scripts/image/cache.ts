/**
 * Downloads image inputs once into .cache/image/sha256/<digest> and checks every byte against the
 * digest the lock records, on download and on every later use.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CACHE_DIR = fileURLToPath(new URL('../../.cache/image/', import.meta.url));

export interface Expected {
  sha256: string;
  /** An npm SRI string (sha512-…), checked as well when given. */
  integrity?: string;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function check(url: string, data: Uint8Array, want: Expected): void {
  const got = sha256(data);
  if (got !== want.sha256) throw new Error(`${url}: sha256 is ${got}, the lock says ${want.sha256}`);
  if (want.integrity) {
    const sri = `sha512-${createHash('sha512').update(data).digest('base64')}`;
    if (sri !== want.integrity) throw new Error(`${url}: integrity is ${sri}, the lock says ${want.integrity}`);
  }
}

/** No input of the image is near this; a mirror sending more is cut off instead of filling memory. */
export const MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024;

export async function download(url: string, maxBytes = MAX_DOWNLOAD_BYTES): Promise<Uint8Array> {
  const res = await fetch(url, { signal: AbortSignal.timeout(300_000) });
  if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.length;
    // Throwing inside for-await cancels the body stream.
    if (size > maxBytes) {
      throw new Error(`${url}: more than ${maxBytes} bytes; no image input is that large`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The path of the checked file, downloading it first when it is not cached. */
export async function cached(url: string, want: Expected, cacheDir = CACHE_DIR, maxBytes = MAX_DOWNLOAD_BYTES): Promise<string> {
  const path = `${cacheDir}sha256/${want.sha256}`;
  if (existsSync(path)) {
    check(path, readFileSync(path), want);
    return path;
  }
  const data = await download(url, maxBytes);
  check(url, data, want);
  return store(data, cacheDir);
}

/** Puts bytes into the cache under their sha256; returns the path. */
export function store(data: Uint8Array, cacheDir = CACHE_DIR): string {
  const dir = `${cacheDir}sha256/`;
  const path = dir + sha256(data);
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${path}.part`, data);
  renameSync(`${path}.part`, path);
  return path;
}
