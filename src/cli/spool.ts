/**
 * Where the offline commands put their output until the run has succeeded: in memory while it is
 * small, then in a private temporary file, so that a large output is never held whole and a run
 * that fails writes nothing. Marks let a bad file's documents be taken back. The file is unlinked
 * as soon as it is open: however the run ends (a signal, a closed stdout), nothing is left behind.
 */
import { once } from 'node:events';
import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Held in memory up to this many bytes. */
const IN_MEMORY = 4 * 1024 * 1024;

export class Spool {
  private readonly limit: number;
  private pieces: Buffer[] = [];
  private pending = 0;
  private file: { handle: FileHandle } | undefined;
  private fileBytes = 0;

  constructor(limit = IN_MEMORY) {
    this.limit = limit;
  }

  /** Bytes written so far: a mark to go back to. */
  get length(): number {
    return this.fileBytes + this.pending;
  }

  async write(text: string): Promise<void> {
    if (text === '') return;
    const b = Buffer.from(text, 'utf8');
    this.pieces.push(b);
    this.pending += b.length;
    if (this.pending > this.limit) await this.spill();
  }

  /** Forgets what was written after `mark` (a `length` read before, at a write boundary). */
  async rollback(mark: number): Promise<void> {
    if (mark >= this.fileBytes) {
      while (this.length > mark) this.pending -= (this.pieces.pop() as Buffer).length;
      return;
    }
    this.pieces = [];
    this.pending = 0;
    await this.file?.handle.truncate(mark);
    this.fileBytes = mark;
  }

  /** Copies everything written to `out`, as it is or through `map` (chunk by chunk). */
  async copyTo(out: NodeJS.WritableStream, map: (chunk: string) => string = (c) => c): Promise<void> {
    const put = async (chunk: string) => {
      if (!out.write(map(chunk))) await once(out, 'drain');
    };
    if (this.file && this.fileBytes > 0) {
      for await (const c of this.file.handle.createReadStream({ start: 0, end: this.fileBytes - 1, encoding: 'utf8', autoClose: false }))
        await put(c as string);
    }
    if (this.pieces.length > 0) await put(Buffer.concat(this.pieces).toString('utf8'));
  }

  async close(): Promise<void> {
    if (!this.file) return;
    const { handle } = this.file;
    this.file = undefined;
    await handle.close();
  }

  private async spill(): Promise<void> {
    if (!this.file) {
      const dir = await mkdtemp(join(tmpdir(), 'outrigger-output-'));
      try {
        this.file = { handle: await open(join(dir, 'output'), 'w+', 0o600) };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    const data = Buffer.concat(this.pieces);
    await this.file.handle.write(data, 0, data.length, this.fileBytes);
    this.fileBytes += data.length;
    this.pieces = [];
    this.pending = 0;
  }
}
