import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

test('past its limit the spool goes to a file, takes back to a mark, and copies it all out, with nothing left on disk', async () => {
  const before = new Set(readdirSync(tmpdir()));
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
  assert.ok((spool as unknown as { file?: object }).file, 'the output went to a file');
  // Unlinked as soon as it was open: a run killed now leaves nothing in the temporary directory.
  assert.deepEqual(
    readdirSync(tmpdir()).filter((n) => n.startsWith('outrigger-output-') && !before.has(n)),
    [],
  );
  await spool.close();
});
