/** The shared corpus of real manifests written by others (../shared/corpus, beside the repository). */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { profileYaml } from './profiles.ts';

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

/** A profile every pod gets (empty pod selector), so every corpus pod is injected, not only those that ask. */
export const CORPUS_PROBE: string = profileYaml('corpus-probe', {
  version: '1',
  selector: { podSelector: {} },
  containers: [{ name: 'corpus-probe', image: 'example.com/probe:1', resources: { requests: { cpu: '10m' } } }],
  volumes: [{ name: 'corpus-probe', emptyDir: {} }],
  volumeMounts: [{ name: 'corpus-probe', mountPath: '/corpus-probe' }],
  env: [{ name: 'CORPUS_PROBE', value: '{{ namespace.name }}' }],
  metadata: { labels: { 'probe.example.com/injected': 'true' } },
});
