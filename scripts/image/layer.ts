/**
 * A file tree as a deterministic tar layer (GNU tar): entries sorted by name, every mtime the
 * commit time, owner and group 0, no atime/ctime/xattrs. The same tree gives the same bytes.
 */
import { readdirSync } from 'node:fs';
import { run } from './run.ts';

export function tarLayer(root: string, out: string, epoch: number): void {
  run('tar', [
    '--create',
    `--file=${out}`,
    `--directory=${root}`,
    '--sort=name',
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    `--mtime=@${epoch}`,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--no-acls',
    '--no-xattrs',
    '--no-selinux',
    ...readdirSync(root).sort(),
  ]);
}
