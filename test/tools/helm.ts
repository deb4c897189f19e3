// helm, built from its Go module (test/tools/helm pins helm.sh/helm/v4) by test/tools/go-tool.ts.
//
//   ./node_modules/.bin/node test/tools/helm.ts     # build if needed, print the path

import { type GoTool, goToolAvailability, goToolBinary, printWhenMain, toolVersion } from './go-tool.ts';

export const HELM: GoTool = {
  name: 'helm',
  module: 'helm.sh/helm/v4',
  pkg: 'helm.sh/helm/v4/cmd/helm',
  // The version `helm version` reports and charts' kubeVersion constraints are checked against.
  ldflags: (version) => `-s -w -X helm.sh/helm/v4/internal/version.version=${version}`,
};

/** The helm.sh/helm/v4 version test/tools/helm/go.mod requires, e.g. v4.3.2. */
export const helmVersion = (): string => toolVersion(HELM);

/** The path of the helm binary, built first when missing or stale. */
export const helmBinary = (): Promise<string> => goToolBinary(HELM);

/** helm, or why the tests that need it are skipped (no Go; an error with CI=true). */
export async function helmAvailability(): Promise<{ helm: string; skip: false } | { helm: undefined; skip: string }> {
  const a = await goToolAvailability(HELM);
  return a.skip === false ? { helm: a.bin, skip: false } : { helm: undefined, skip: a.skip };
}

await printWhenMain(import.meta.url, HELM);
