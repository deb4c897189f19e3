#!/usr/bin/env node
/**
 * The `outrigger` executable. Its only static import is the version check, which any Node can
 * load: on a Node older than the CLI needs it says so and exits 1, where loading the commands
 * would fail on a missing API or (an ES module before `import.meta.main`) do nothing and exit 0.
 */
import { nodeRefusal } from './node-support.ts';

const refusal = nodeRefusal(process.versions.node);
if (refusal !== undefined) {
  process.stderr.write(refusal);
  process.exitCode = 1;
} else {
  // A reader that stops early (`outrigger inject ... | head`) closes the pipe: end quietly with the
  // status a process killed by SIGPIPE has, as cat and git do, instead of an unhandled 'error' trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(141);
  });
  const { main } = await import('./registry.ts');
  process.exitCode = await main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
}
