#!/usr/bin/env node
/**
 * `outrigger`: one engine, offline (inject, uninject, explain, validate) and in the cluster (serve).
 */
import { EXIT, explainCommand, HELP, type Io, injectCommand, reportError, uninjectCommand, validateCommand } from './commands.ts';

const USAGE = `Usage: outrigger COMMAND [options]

Commands:
  inject     add sidecars to the pods in manifests (offline)
  uninject   remove what Outrigger added, giving back the original manifests
  explain    say, per workload, which profiles apply, why, and what would change
  validate   check SidecarProfile files
  manifests  print the install bundle (kubectl apply -f -)
  serve      run the mutating admission webhook
  status     list pods in the cluster whose sidecars are out of date or missing
  version    print the version, the commit it was built from and the Node.js version

Run 'outrigger COMMAND --help' for a command's options.
`;

type Command = (argv: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  inject: injectCommand,
  uninject: uninjectCommand,
  explain: explainCommand,
  validate: validateCommand,
  serve: async (argv, io) => (await import('../server/serve-command.ts')).runServe(argv, io),
  manifests: async (argv, io) => (await import('./manifests.ts')).manifestsCommand(argv, io),
  status: async (argv, io) => (await import('./status.ts')).statusCommand(argv, io),
  version: async (argv, io) => (await import('./version.ts')).versionCommand(argv, io),
};

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(USAGE);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.stderr.write(`error: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  try {
    return await command(rest, io);
  } catch (e) {
    return reportError(e, io);
  }
}

export { HELP };

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
}
