/**
 * Reads profiles from a file or a directory (its `*.yaml`, `*.yml` and `*.json` files, not
 * recursive, dot-files skipped: a ConfigMap volume's `..data` entries are its own bookkeeping;
 * links followed only within the directory, as a ConfigMap volume's are).
 * Either every profile loads, or the caller gets every error and no set: never half a set.
 */
import { readFile } from 'node:fs/promises';
import { type ProfileSet, profileSet, type SidecarProfile } from '../engine/profile.ts';
import { DirectoryError, listFiles } from '../io/directory.ts';
import { checkDuplicates, parseProfiles } from './parse.ts';

export class ProfileLoadError extends Error {
  readonly errors: readonly string[];
  constructor(errors: readonly string[]) {
    super(`${errors.length} error${errors.length === 1 ? '' : 's'} in profiles:\n  ${errors.join('\n  ')}`);
    this.name = 'ProfileLoadError';
    this.errors = errors;
  }
}

const PROFILE_FILE = /\.(ya?ml|json)$/i;

export async function profileFiles(path: string): Promise<string[]> {
  try {
    return await listFiles(path, { recursive: false, matches: (name) => PROFILE_FILE.test(name) });
  } catch (e) {
    if (e instanceof DirectoryError) throw new ProfileLoadError([e.message]);
    throw e;
  }
}

/** Loads every profile under the given paths; throws ProfileLoadError listing every problem. */
export async function loadProfiles(paths: readonly string[]): Promise<ProfileSet> {
  const profiles: SidecarProfile[] = [];
  const errors: string[] = [];
  for (const path of paths) {
    let files: string[];
    try {
      files = await profileFiles(path);
    } catch (e) {
      if (e instanceof ProfileLoadError) {
        errors.push(...e.errors);
        continue;
      }
      throw e;
    }
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (e) {
        errors.push(`${file}: ${(e as Error).message}`);
        continue;
      }
      const r = parseProfiles(text, file);
      profiles.push(...r.profiles);
      errors.push(...r.errors);
    }
  }
  errors.push(...checkDuplicates(profiles));
  if (errors.length > 0) throw new ProfileLoadError(errors);
  return profileSet(profiles);
}
