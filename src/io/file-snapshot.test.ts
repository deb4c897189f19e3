import assert from 'node:assert/strict';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/support/webhook.ts';
import { FileTooLargeError, readFileSnapshot } from './file-snapshot.ts';

test('a snapshot is the bytes read and a stamp that changes with the file even when its bytes do not', async () => {
  const { dir, cleanup } = tempDir('snapshot-');
  try {
    const f = join(dir, 'p.yaml');
    writeFileSync(f, 'a: 1\n');
    utimesSync(f, 1_700_000_000, 1_700_000_000);
    const a = await readFileSnapshot(f);
    assert.equal(a.bytes.toString(), 'a: 1\n');
    assert.equal((await readFileSnapshot(f)).stamp, a.stamp, 'a quiet file reads with the same stamp');
    writeFileSync(f, 'a: 1\n');
    utimesSync(f, 1_700_000_001, 1_700_000_001);
    const b = await readFileSnapshot(f);
    assert.deepEqual(b.bytes, a.bytes);
    assert.notEqual(b.stamp, a.stamp, 'rewritten: another stamp');
  } finally {
    cleanup();
  }
});

test('a file over the limit is refused, naming it and the limit, without reading it whole', async () => {
  const { dir, cleanup } = tempDir('snapshot-');
  try {
    const f = join(dir, 'big.yaml');
    writeFileSync(f, Buffer.alloc(4096, 'x'));
    await assert.rejects(
      readFileSnapshot(f, 1024),
      (e: unknown) => e instanceof FileTooLargeError && e.message === `${f}: 4096 bytes, more than the limit of 1024`,
    );
  } finally {
    cleanup();
  }
});
