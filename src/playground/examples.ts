/** The examples menu: written into the bundle at build time from the repository's examples/ (see cli/playground-bundle.ts). */
import type { RunContext } from '../cli/offline-text.ts';

export interface Example {
  name: string;
  profiles: string;
  workload: string;
  context: RunContext;
}

declare const OUTRIGGER_EXAMPLES: readonly Example[] | undefined;

export const EXAMPLES: readonly Example[] = typeof OUTRIGGER_EXAMPLES === 'undefined' ? [] : OUTRIGGER_EXAMPLES;
