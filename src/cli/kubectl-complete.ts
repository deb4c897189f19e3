#!/usr/bin/env node
/**
 * `kubectl_complete-outrigger`: kubectl runs it to complete `kubectl outrigger <TAB>` (see
 * complete-words.ts). On a Node too old for the CLI it prints nothing and fails, which kubectl
 * takes as no completions; a message would land in the middle of the command line.
 */
import { nodeRefusal } from './node-support.ts';

if (nodeRefusal(process.versions.node) !== undefined) process.exitCode = 1;
else {
  const { completionOutput } = await import('./complete-words.ts');
  process.stdout.write(completionOutput(process.argv.slice(2)));
}
