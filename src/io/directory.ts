/**
 * The files of a directory named on the command line or mounted as a volume, read without leaving
 * it: a symbolic link inside is followed only when it resolves inside the same directory (a
 * ConfigMap volume's `name -> ..data/name`), so a link planted in a manifest directory cannot
 * make the tool read (and print) a file elsewhere, such as a kubeconfig. A path named directly is
 * followed wherever it leads, as kubectl does. Dot entries are skipped; a directory reached twice
 * through links is a loop and an error.
 */
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export class DirectoryError extends Error {}

export interface ListOptions {
  /** Descend into subdirectories. */
  recursive: boolean;
  /** Which file names to return. */
  matches: (name: string) => boolean;
}

/** `path` itself when it is not a directory; else its matching files, sorted by name, depth first. */
export async function listFiles(path: string, opts: ListOptions): Promise<string[]> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new DirectoryError(`${path}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`);
  });
  if (!st.isDirectory()) return [path];
  const root = await realpath(path);
  const out: string[] = [];
  await walk(path, root, root, new Set([root]), opts, out);
  return out;
}

async function walk(dir: string, real: string, root: string, open: Set<string>, opts: ListOptions, out: string[]): Promise<void> {
  const all = await readdir(dir, { withFileTypes: true }).catch((e: Error) => {
    throw new DirectoryError(`${dir}: ${e.message}`);
  });
  const entries = all.filter((e) => !e.name.startsWith('.'));
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    const kind = await kindOf(e, p, root, opts);
    if (kind.type === 'file' && opts.matches(e.name)) out.push(p);
    else if (kind.type === 'dir' && opts.recursive) {
      const target = kind.real ?? join(real, e.name);
      if (open.has(target)) throw new DirectoryError(`${p}: a link back to ${display(root, target)}, which is already being read (a directory loop)`);
      open.add(target);
      await walk(p, target, root, open, opts, out);
      open.delete(target);
    }
  }
}

type Kind = { type: 'file' | 'dir' | 'other'; real?: string };

async function kindOf(e: Dirent, p: string, root: string, opts: ListOptions): Promise<Kind> {
  if (!e.isSymbolicLink()) return { type: e.isDirectory() ? 'dir' : e.isFile() ? 'file' : 'other' };
  // A link that could not be read anyway (not a manifest name, no descent) is not looked at.
  const relevant = opts.matches(e.name) || opts.recursive;
  if (!relevant) return { type: 'other' };
  let real: string;
  try {
    real = await realpath(p);
  } catch {
    if (opts.matches(e.name)) throw new DirectoryError(`${p}: a symbolic link to a file that does not exist`);
    return { type: 'other' };
  }
  const st = await stat(real);
  const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  if (real !== root && !real.startsWith(root + sep)) {
    if (type === 'other' || (type === 'dir' && !opts.recursive) || (type === 'file' && !opts.matches(e.name))) return { type: 'other' };
    throw new DirectoryError(
      `${p}: a symbolic link leading out of the directory; links inside a directory are followed only when they stay inside it (name the target itself to read it)`,
    );
  }
  return { type, real };
}

const display = (root: string, target: string): string => (target === root ? 'the directory itself' : relative(root, target));
