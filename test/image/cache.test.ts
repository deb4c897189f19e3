/**
 * Image inputs are used only when their bytes match the lock: a tampered download or a tampered
 * cache entry stops the build with the digest it found and the one it expected.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cached, sha256, store } from '../../scripts/image/cache.ts';

const dir = `${mkdtempSync(join(tmpdir(), 'outrigger-image-cache-'))}/`;
after(() => rmSync(dir, { recursive: true, force: true }));
const good = Buffer.from('the package the lock pins\n');
const evil = Buffer.from('something else, served in its place\n');
const integrity = `sha512-${createHash('sha512').update(good).digest('base64')}`;
/** Nothing listens there: a test that reaches it would fail with a connection error, not the digest one. */
const UNREACHABLE = 'http://127.0.0.1:9/never-fetched';

async function serving(body: Buffer, fn: (url: string) => Promise<void>): Promise<void> {
  const server = createServer((_req, res) => res.end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}/pkg.deb`);
  } finally {
    await new Promise((r) => server.close(r));
  }
}

test('a download whose bytes differ from the lock is refused and not cached', async () => {
  await serving(evil, async (url) => {
    await assert.rejects(cached(url, { sha256: sha256(good) }, dir), new RegExp(`pkg\\.deb: sha256 is ${sha256(evil)}, the lock says ${sha256(good)}`));
  });
  assert.equal(existsSync(`${dir}sha256/${sha256(good)}`), false);
});

test('a download matching the lock is cached under its sha256 and used without the network afterwards', async () => {
  await serving(good, async (url) => {
    const path = await cached(url, { sha256: sha256(good), integrity }, dir);
    assert.deepEqual(readFileSync(path), good);
  });
  assert.deepEqual(readFileSync(await cached(UNREACHABLE, { sha256: sha256(good), integrity }, dir)), good);
});

test('a cache entry changed after download is refused', async () => {
  const path = store(good, dir);
  writeFileSync(path, evil);
  await assert.rejects(cached(UNREACHABLE, { sha256: sha256(good) }, dir), /sha256 is .*, the lock says/);
  rmSync(path);
});

test('an npm integrity that does not match is refused even when the sha256 does', async () => {
  store(good, dir);
  const wrong = `sha512-${createHash('sha512').update(evil).digest('base64')}`;
  await assert.rejects(cached(UNREACHABLE, { sha256: sha256(good), integrity: wrong }, dir), /integrity is sha512-.*, the lock says sha512-/);
});

test('a download larger than the bound is cut off with an error naming the bound', async () => {
  await serving(Buffer.alloc(64 * 1024, 1), async (url) => {
    await assert.rejects(cached(url, { sha256: sha256(evil) }, dir, 1024), /pkg\.deb: more than 1024 bytes/);
  });
});
