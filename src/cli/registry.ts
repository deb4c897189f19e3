/**
 * `outrigger`'s commands: one engine, offline (inject, uninject, explain, validate) and in the
 * cluster (serve). `main.ts` is the executable that runs them.
 */
import { EXIT, type Io, reportError } from './commands.ts';

type Command = (argv: string[], io: Io) => Promise<number>;

/** One command: what `outrigger help` says of it, and (loaded on use) how it runs and its `--help`. */
export interface CommandEntry {
  name: string;
  summary: string;
  /** Loaded when the command runs, so an offline command never loads the server or the cluster client. */
  load(): Promise<{ run: Command; help: string }>;
}

/** Every command, in the order `outrigger help` lists them: the one registry of commands and their help. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'inject', summary: 'add sidecars to the pods in manifests (offline)', load: async () => offline('inject') },
  { name: 'uninject', summary: 'remove what Outrigger added, giving back the original manifests', load: async () => offline('uninject') },
  { name: 'explain', summary: 'say, per workload, which profiles apply, why, and what would change', load: async () => offline('explain') },
  { name: 'validate', summary: 'check SidecarProfile files', load: async () => offline('validate') },
  {
    name: 'playground',
    summary: 'serve the profile playground: the engine in the browser, on this machine',
    load: async () => {
      const m = await import('./playground.ts');
      return { run: (argv, io) => m.playgroundCommand(argv, io), help: m.PLAYGROUND_HELP };
    },
  },
  {
    name: 'manifests',
    summary: 'print the install bundle (kubectl apply -f -)',
    load: async () => {
      const m = await import('./manifests.ts');
      return { run: m.manifestsCommand, help: m.MANIFESTS_HELP };
    },
  },
  {
    name: 'policy',
    summary: 'compile profiles to admission policies the API server runs itself (no webhook)',
    load: async () => {
      const m = await import('./policy.ts');
      return { run: m.policyCommand, help: m.POLICY_HELP };
    },
  },
  {
    name: 'serve',
    summary: 'run the mutating admission webhook',
    load: async () => {
      const [{ runServe }, { SERVE_HELP }] = await Promise.all([import('./serve.ts'), import('./serve-flags.ts')]);
      return { run: (argv, io) => runServe(argv, io), help: SERVE_HELP };
    },
  },
  {
    name: 'status',
    summary: 'list pods in the cluster whose sidecars are out of date or missing',
    load: async () => {
      const m = await import('./status.ts');
      return { run: m.statusCommand, help: m.STATUS_HELP };
    },
  },
  {
    name: 'version',
    summary: 'print the version, the commit it was built from and the Node.js version',
    load: async () => {
      const m = await import('./version.ts');
      return { run: m.versionCommand, help: m.VERSION_HELP };
    },
  },
  {
    name: 'completion',
    summary: 'print a bash, zsh or fish completion script',
    load: async () => {
      const m = await import('./completion.ts');
      return { run: m.completionCommand, help: m.COMPLETION_HELP };
    },
  },
];

async function offline(name: 'inject' | 'uninject' | 'explain' | 'validate'): Promise<{ run: Command; help: string }> {
  const m = await import('./commands.ts');
  const run = { inject: m.injectCommand, uninject: m.uninjectCommand, explain: m.explainCommand, validate: m.validateCommand }[name];
  return { run, help: m.HELP[name] };
}

export const USAGE = `Usage: outrigger COMMAND [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(11)}${c.summary}\n`).join('')}
Run 'outrigger COMMAND --help' for a command's options.
`;

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(USAGE);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    io.stderr.write(`error: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  try {
    return await (await entry.load()).run(rest, io);
  } catch (e) {
    return reportError(e, io);
  }
}
