// kustomize, built from its Go module (test/tools/kustomize pins sigs.k8s.io/kustomize/kustomize/v5)
// by test/tools/go-tool.ts.
//
//   ./node_modules/.bin/node test/tools/kustomize.ts     # build if needed, print the path

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type GoTool, goToolAvailability, goToolBinary } from './go-tool.ts';

export const KUSTOMIZE: GoTool = { name: 'kustomize', module: 'sigs.k8s.io/kustomize/kustomize/v5', pkg: 'sigs.k8s.io/kustomize/kustomize/v5' };

/** The path of the kustomize binary, built first when missing or stale. */
export const kustomizeBinary = (): Promise<string> => goToolBinary(KUSTOMIZE);

/** kustomize, or why the tests that need it are skipped (no Go; an error with CI=true). */
export const kustomizeAvailability = () => goToolAvailability(KUSTOMIZE);

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.stdout.write(`${await kustomizeBinary()}\n`);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
