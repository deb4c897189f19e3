/**
 * Reads profiles from a file or a directory (its `*.yaml`, `*.yml` and `*.json` files, not
 * recursive, dot-files skipped: a ConfigMap volume's `..data` entries are its own bookkeeping;
 * links followed only within the directory, as a ConfigMap volume's are).
 * Either every profile loads, or the caller gets every error and no set: never half a set.
 */
import type { ProfileSet } from '../engine/index.ts';
import { DirectoryError, listFiles } from '../io/directory.ts';
import { readFileSnapshot } from '../io/file-snapshot.ts';
import { compileProfileTexts, ProfileLoadError } from './parse.ts';

export { ProfileLoadError };

const PROFILE_FILE = /\.(ya?ml|json)$/i;

export async function profileFiles(path: string): Promise<string[]> {
  try {
    return await listFiles(path, { recursive: false, matches: (name) => PROFILE_FILE.test(name) });
  } catch (e) {
    if (e instanceof DirectoryError) throw new ProfileLoadError([e.message]);
    throw e;
  }
}

/** What one read of the profile paths found: each file's bytes (or why it could not be read). */
export interface ProfileSources {
  files: { path: string; file: string; bytes?: Buffer; stamp?: string; error?: string }[];
  /** Paths that could not be listed. */
  errors: { path: string; error: string }[];
}

/** All profile files together may hold at most this much (each file at most MAX_FILE_BYTES). */
export const MAX_PROFILE_BYTES = 32 * 1024 * 1024;

/** Reads every profile file once; the caller hashes and parses these same bytes (never a second read). */
export async function readProfileSources(paths: readonly string[], maxBytes = MAX_PROFILE_BYTES): Promise<ProfileSources> {
  const out: ProfileSources = { files: [], errors: [] };
  let total = 0;
  for (const path of paths) {
    let files: string[];
    try {
      files = await profileFiles(path);
    } catch (e) {
      out.errors.push({ path, error: e instanceof ProfileLoadError ? e.errors.join('; ') : `${path}: ${(e as Error).message}` });
      continue;
    }
    for (const file of files) {
      if (total > maxBytes) {
        out.errors.push({ path, error: `${file}: not read, the profile files before it already hold more than ${maxBytes} bytes` });
        break;
      }
      try {
        const snap = await readFileSnapshot(file);
        total += snap.bytes.length;
        out.files.push({ path, file, ...snap });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        out.files.push({ path, file, error: code === 'ENOENT' ? `${file}: no such file or directory` : `${file}: ${(e as Error).message}` });
      }
    }
  }
  return out;
}

/** Parses what was read: every profile, or ProfileLoadError listing every problem. */
export function compileProfileSources(sources: ProfileSources): ProfileSet {
  const errors: string[] = sources.errors.map((e) => e.error);
  const texts: { source: string; text: string }[] = [];
  for (const f of sources.files) {
    if (f.bytes === undefined) errors.push(f.error ?? `${f.file}: unreadable`);
    else texts.push({ source: f.file, text: f.bytes.toString('utf8') });
  }
  return compileProfileTexts(texts, errors);
}

/** Loads every profile under the given paths; throws ProfileLoadError listing every problem. */
export async function loadProfiles(paths: readonly string[]): Promise<ProfileSet> {
  return compileProfileSources(await readProfileSources(paths));
}
