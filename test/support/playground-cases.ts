/**
 * The inputs the playground is checked on: every golden case (its profiles, input and flags) and
 * every corpus file that holds a pod or pod template (with the example profiles and one that every
 * pod gets). The CLI's output on the same files is what the playground must show.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { RunContext } from '../../src/cli/offline-text.ts';
import { parseYamlDocuments } from '../../src/io/yaml.ts';
import { findPodSites } from '../../src/manifest/workloads.ts';
import { CORPUS, CORPUS_PROBE, corpusFiles } from './corpus.ts';

export interface PlaygroundCase {
  name: string;
  profiles: string;
  workload: string;
  context: RunContext;
}

const root = new URL('../../', import.meta.url).pathname;
const goldenRoot = join(root, 'test/golden');

/** The example profiles as one multi-document text, as the playground's examples menu gives them. */
export function exampleProfilesText(): string {
  const dir = join(root, 'examples/profiles');
  return ['envoy.yaml', 'log-shipper.yaml', 'secrets-agent.yaml'].map((f) => readFileSync(join(dir, f), 'utf8').replace(/\n*$/, '\n')).join('---\n');
}

/** A golden case's `args` file as the context pane's fields. */
export function contextOfArgs(args: readonly string[]): RunContext {
  const ctx: RunContext = { kubeVersion: '', namespace: '', labels: '' };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value = ''] = [args[i], args[i + 1]];
    if (flag === '--kube-version') ctx.kubeVersion = value;
    else if (flag === '--namespace') ctx.namespace = value;
    else if (flag === '--namespace-label') ctx.labels += `${value}\n`;
    else if (flag === '--unknown-profiles') ctx.unknownProfiles = value;
    else throw new Error(`golden args: ${flag} has no field in the playground's context; teach playground-cases.ts`);
  }
  return ctx;
}

export function goldenCases(): PlaygroundCase[] {
  return readdirSync(goldenRoot)
    .sort()
    .map((name) => {
      const dir = join(goldenRoot, name);
      const at = (f: string) => join(dir, f);
      const args = existsSync(at('args')) ? readFileSync(at('args'), 'utf8').split('\n').filter(Boolean) : [];
      return {
        name: `golden/${name}`,
        profiles: existsSync(at('profiles.yaml')) ? readFileSync(at('profiles.yaml'), 'utf8') : exampleProfilesText(),
        workload: readFileSync(at('input.yaml'), 'utf8'),
        context: contextOfArgs(args),
      };
    });
}

/** Whether the shared corpus is there; under CI it must be. */
export const HAVE_CORPUS = existsSync(CORPUS);

/** Every corpus file with a pod site (files that do not parse are left to the corpus tests). */
export function corpusCases(): PlaygroundCase[] {
  if (!HAVE_CORPUS) return [];
  const profiles = `${exampleProfilesText()}---\n${CORPUS_PROBE}\n`;
  return corpusFiles().flatMap((file) => {
    const workload = readFileSync(file, 'utf8');
    let pods = 0;
    try {
      pods = parseYamlDocuments(workload, file).reduce((n, d) => n + findPodSites(d.value).length, 0);
    } catch {
      return [];
    }
    if (pods === 0) return [];
    return [{ name: `corpus/${relative(CORPUS, file)}`, profiles, workload, context: { kubeVersion: '', namespace: 'corpus', labels: 'team=corpus\n' } }];
  });
}
