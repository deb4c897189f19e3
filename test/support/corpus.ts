/** The shared corpus of real manifests written by others (../shared/corpus, beside the repository). */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const CORPUS = new URL('../../../shared/corpus/', import.meta.url).pathname;

/** Every *.yaml and *.yml file under `dir`, sorted, subdirectories included. */
export function corpusFiles(dir: string = CORPUS): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? corpusFiles(p) : /\.ya?ml$/.test(n) ? [p] : [];
    });
}
