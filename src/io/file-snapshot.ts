/**
 * One read of a file, with a stamp that says whether it was still being written. The bytes
 * returned are the bytes the caller hashes and parses: reading a file twice (once to fingerprint,
 * once to load) can give two different files when a writer is at work. The stamp is the file's
 * identity and change times before and after the read; a read during a write has different times
 * on either side, so its stamp never equals that of a later quiet read of the same file.
 */
import { open } from 'node:fs/promises';

/** Profile and certificate files are small; anything larger is refused rather than buffered. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;

export interface FileSnapshot {
  bytes: Buffer;
  /** Device, inode, size, mtime and ctime before and after the read. */
  stamp: string;
}

export class FileTooLargeError extends Error {}

type BigStats = { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint };
const statStamp = (s: BigStats) => `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;

export async function readFileSnapshot(path: string, maxBytes = MAX_FILE_BYTES): Promise<FileSnapshot> {
  const fh = await open(path, 'r');
  try {
    const before = await fh.stat({ bigint: true });
    if (before.size > BigInt(maxBytes)) throw new FileTooLargeError(`${path}: ${before.size} bytes, more than the limit of ${maxBytes}`);
    // Read to the end rather than trusting the size: the file may grow under us (bounded all the same).
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(64 * 1024);
      const { bytesRead } = await fh.read(buf, 0, buf.length, total);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw new FileTooLargeError(`${path}: more than the limit of ${maxBytes} bytes`);
      chunks.push(buf.subarray(0, bytesRead));
    }
    const after = await fh.stat({ bigint: true });
    return { bytes: Buffer.concat(chunks, total), stamp: `${statStamp(before)}/${statStamp(after)}` };
  } finally {
    await fh.close();
  }
}
