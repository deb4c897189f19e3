// A Secret volume the way the kubelet writes one (its AtomicWriter): the files live in a
// timestamped directory, `..data` points at it, and each key is a symlink `<key> -> ..data/<key>`.
// An update writes a new timestamped directory, points a temporary `..data_tmp` link at it and
// renames that over `..data` (one atomic step for all keys), then removes the old directory.

import { mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

let seq = 0;

/** Writes (or atomically replaces) the volume's content in dir: key → bytes. */
export function writeSecretVolume(dir: string, data: Record<string, Buffer>): void {
  mkdirSync(dir, { recursive: true });
  const stamp = `..${new Date().toISOString().replace(/[-:.]/g, '_')}.${process.pid}.${seq++}`;
  const next = join(dir, stamp);
  mkdirSync(next, { mode: 0o755 });
  for (const [key, value] of Object.entries(data)) writeFileSync(join(next, key), value, { mode: 0o644 });
  let old: string | undefined;
  try {
    old = readlinkSync(join(dir, '..data'));
  } catch {
    old = undefined;
  }
  rmSync(join(dir, '..data_tmp'), { force: true });
  symlinkSync(stamp, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const key of Object.keys(data)) {
    try {
      symlinkSync(join('..data', key), join(dir, key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  if (old) rmSync(join(dir, old), { recursive: true, force: true });
}
