/** `outrigger version`: the package version, the commit it was built from and the Node runtime. */
import { UNKNOWN, versionInfo } from '../version.ts';
import { EXIT, type Io } from './commands.ts';
import { parseFlags, UsageError } from './options.ts';

export const VERSION_HELP = `Usage: outrigger version [-o text|json]

Prints Outrigger's version, the git commit it was built from ("unknown" when running from source
or built outside a git checkout) and the Node.js version running it.

Options:
  -o, --output FORMAT   text (default) or json
  -h, --help            show this help

Exit codes: 0 done, 2 usage error.
`;

/** The flags `parseFlags` accepts; also read by `outrigger completion`. */
export const VERSION_FLAGS = { output: { type: 'string', short: 'o' } } as const;

export async function versionCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, VERSION_FLAGS);
  if (values.help) {
    io.stdout.write(VERSION_HELP);
    return EXIT.ok;
  }
  const format = values.output ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--output: ${JSON.stringify(format)} must be text or json`);
  const v = versionInfo();
  // The JSON keeps the bare "unknown" for scripts; people get told why.
  const commit = v.commit === UNKNOWN ? `${UNKNOWN} (running from source, or built outside a git checkout)` : v.commit;
  io.stdout.write(format === 'json' ? `${JSON.stringify(v)}\n` : `outrigger ${v.version}\ncommit: ${commit}\nnode: ${v.node}\n`);
  return EXIT.ok;
}
