import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { Spool } from './spool.ts';

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    highWaterMark: 8,
    write(chunk, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      setImmediate(cb);
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

test('past its limit the spool goes to a file, takes back to a mark, and copies it all out, removing the file', async () => {
  const spool = new Spool(10);
  const written: string[] = [];
  const put = async (t: string) => {
    written.push(t);
    await spool.write(t);
  };
  await put('häfen ✓ one\n');
  await put('two\n');
  const mark = spool.length;
  const kept = written.length;
  await put('three: dropped, and long enough to spill\n');
  await spool.rollback(mark);
  written.length = kept;
  await put('four\n');
  const inMemory = spool.length;
  await put('five\n');
  await spool.rollback(inMemory);
  written.length -= 1;
  await put('six ✓\n');
  const out = sink();
  await spool.copyTo(out.stream, (c) => c.toUpperCase());
  assert.equal(out.text(), written.join('').toUpperCase());
  const dir = (spool as unknown as { file?: { dir: string } }).file?.dir;
  assert.ok(dir && existsSync(dir), 'the output went to a file');
  await spool.close();
  assert.equal(existsSync(dir), false);
});
