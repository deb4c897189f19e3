// kustomize, built from its Go module (test/tools/kustomize pins sigs.k8s.io/kustomize/kustomize/v5)
// by test/tools/go-tool.ts.
//
//   ./node_modules/.bin/node test/tools/kustomize.ts     # build if needed, print the path

import { type GoTool, goToolAvailability, goToolBinary, printWhenMain } from './go-tool.ts';

export const KUSTOMIZE: GoTool = { name: 'kustomize', module: 'sigs.k8s.io/kustomize/kustomize/v5', pkg: 'sigs.k8s.io/kustomize/kustomize/v5' };

/** The path of the kustomize binary, built first when missing or stale. */
export const kustomizeBinary = (): Promise<string> => goToolBinary(KUSTOMIZE);

/** kustomize, or why the tests that need it are skipped (no Go; an error with CI=true). */
export const kustomizeAvailability = () => goToolAvailability(KUSTOMIZE);

await printWhenMain(import.meta.url, KUSTOMIZE);
