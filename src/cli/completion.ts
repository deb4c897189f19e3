/**
 * `outrigger completion bash|zsh|fish`: a shell completion script generated from the command
 * registry and the option objects each command hands to `parseFlags`, so a new command or flag is
 * completed without being written down twice.
 */
import { EXIT, engineFlags, INJECT_FLAGS, type Io, inputFlags, UNINJECT_FLAGS, VALIDATE_FLAGS } from './commands.ts';
import { MANIFESTS_FLAGS } from './manifests.ts';
import { parseFlags, UsageError } from './options.ts';
import { PLAYGROUND_FLAGS } from './playground.ts';
import { POLICY_FLAGS } from './policy.ts';
import { COMMANDS } from './registry.ts';
import { LEVELS, SERVE_FLAGS } from './serve-flags.ts';
import { STATUS_FLAGS } from './status.ts';
import { VERSION_FLAGS } from './version.ts';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

/** The names the script completes: the CLI, and the same binary run as a kubectl plugin. */
const PROGRAMS = ['outrigger', 'kubectl-outrigger'] as const;

export const COMPLETION_HELP = `Usage: outrigger completion bash|zsh|fish

Prints a shell completion script for outrigger and kubectl-outrigger: command names, each command's
flags, and the values of flags that take one of a fixed set (such as explain -o table|json).

  bash   source <(outrigger completion bash)     in ~/.bashrc
  zsh    source <(outrigger completion zsh)      in ~/.zshrc, after compinit
  fish   outrigger completion fish | source      or save it as ~/.config/fish/completions/outrigger.fish

Options:
  -h, --help   show this help

Exit codes: 0 printed, 2 usage error.
`;

interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
}
type Options = Readonly<Record<string, OptionSpec>>;
const HELP_FLAG: OptionSpec = { type: 'boolean', short: 'h' };

/**
 * Each command's `parseFlags` options. The offline commands compose theirs from the shared input and
 * engine flags inside commands.ts; explain's -o is written there inline, so it is repeated here, and
 * the tests check every flag below against the real parsers.
 */
export const COMMAND_FLAGS: Readonly<Record<string, Options>> = {
  inject: INJECT_FLAGS,
  uninject: UNINJECT_FLAGS,
  explain: { ...inputFlags, ...engineFlags, output: { type: 'string', short: 'o' } },
  validate: VALIDATE_FLAGS,
  playground: PLAYGROUND_FLAGS,
  manifests: MANIFESTS_FLAGS,
  policy: POLICY_FLAGS,
  serve: SERVE_FLAGS,
  status: STATUS_FLAGS,
  version: VERSION_FLAGS,
  completion: {},
};

/** Closed sets of values, by command and flag; the tests check each against the command's own error message. */
export const FLAG_VALUES: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  inject: { 'unknown-profiles': ['admit', 'deny'], output: ['yaml', 'json'] },
  uninject: { output: ['yaml', 'json'] },
  validate: { output: ['text', 'json'] },
  playground: { 'unknown-profiles': ['admit', 'deny'] },
  explain: { output: ['table', 'json'], 'unknown-profiles': ['admit', 'deny'] },
  status: { output: ['table', 'json'] },
  version: { output: ['text', 'json'] },
  manifests: { 'cert-mode': ['self', 'cert-manager', 'files'], output: ['yaml', 'json'] },
  policy: { output: ['yaml', 'json'] },
  serve: { 'cert-mode': ['files', 'self'], 'log-level': LEVELS, 'webhook-opt-out': ['true', 'false'], 'unknown-profiles': ['admit', 'deny'] },
};

/** Positional arguments a command takes from a fixed set. */
const COMMAND_ARGS: Readonly<Record<string, readonly string[]>> = { completion: SHELLS };

export interface Flag {
  long: string;
  short?: string;
  takesValue: boolean;
  repeatable: boolean;
  values?: readonly string[];
}
export interface CommandSpec {
  name: string;
  summary: string;
  flags: Flag[];
  args?: readonly string[];
}

/** What the scripts complete, from the registry; every command also takes -h/--help (parseFlags adds it). */
export function commandSpecs(): CommandSpec[] {
  return COMMANDS.map((c) => {
    const options = COMMAND_FLAGS[c.name];
    if (!options) throw new Error(`completion: command ${JSON.stringify(c.name)} has no entry in COMMAND_FLAGS`);
    const flags: Flag[] = Object.entries<OptionSpec>({ ...options, help: HELP_FLAG }).map(([long, o]) => ({
      long,
      ...(o.short ? { short: o.short } : {}),
      takesValue: o.type === 'string',
      repeatable: o.multiple === true,
      ...(FLAG_VALUES[c.name]?.[long] ? { values: FLAG_VALUES[c.name]?.[long] } : {}),
    }));
    return { name: c.name, summary: c.summary, flags, ...(COMMAND_ARGS[c.name] ? { args: COMMAND_ARGS[c.name] } : {}) };
  });
}

const names = (f: Flag): string[] => [`--${f.long}`, ...(f.short ? [`-${f.short}`] : [])];
/** A single-quoted word for bash and zsh. */
const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function bashScript(specs: readonly CommandSpec[]): string {
  const cases = specs.map((c) => {
    const valued = c.flags.filter((f) => f.takesValue);
    const prev = [
      ...valued.filter((f) => f.values).map((f) => `        ${names(f).join('|')}) COMPREPLY=($(compgen -W "${f.values?.join(' ')}" -- "$cur")); return 0 ;;`),
      // Any other value (a file, a name): readline's default completion, through `complete -o default`.
      ...(valued.some((f) => !f.values)
        ? [
            `        ${valued
              .filter((f) => !f.values)
              .flatMap(names)
              .join('|')}) return 0 ;;`,
          ]
        : []),
    ];
    const args = c.args
      ? `      if [ "$COMP_CWORD" -eq 2 ] && [[ "$cur" != -* ]]; then COMPREPLY=($(compgen -W "${c.args.join(' ')}" -- "$cur")); return 0; fi\n`
      : '';
    const prevCase = prev.length > 0 ? `      case "$prev" in\n${prev.join('\n')}\n      esac\n` : '';
    return `    ${c.name})\n${prevCase}${args}      COMPREPLY=($(compgen -W "${c.flags.flatMap(names).join(' ')}" -- "$cur")) ;;`;
  });
  return `# bash completion for outrigger; generated by 'outrigger completion bash'
_outrigger() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  COMPREPLY=()
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${specs.map((c) => c.name).join(' ')}" -- "$cur"))
    return 0
  fi
  case "\${COMP_WORDS[1]}" in
${cases.join('\n')}
  esac
  return 0
}
complete -o default -F _outrigger ${PROGRAMS.join(' ')}
`;
}

function zshFlag(f: Flag): string[] {
  const action = f.values ? `:${f.long}:(${f.values.join(' ')})` : f.takesValue ? `:${f.long}:_files` : '';
  return names(f).map((n) => sq(`${f.repeatable ? '*' : ''}${n}[${f.long}]${action}`));
}

export function zshScript(specs: readonly CommandSpec[]): string {
  const cases = specs.map((c) => {
    const specsOf = [...c.flags.flatMap(zshFlag), ...(c.args ? [sq(`1:${c.name}:(${c.args.join(' ')})`)] : [])];
    return `    ${c.name})\n      _arguments \\\n        ${specsOf.join(' \\\n        ')} ;;`;
  });
  return `#compdef ${PROGRAMS.join(' ')}
# zsh completion for outrigger; generated by 'outrigger completion zsh'
_outrigger() {
  local -a commands
  commands=(
${specs.map((c) => `    ${sq(`${c.name}:${c.summary}`)}`).join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'outrigger command' commands
    return
  fi
  local cmd=\${words[2]}
  shift words
  (( CURRENT-- ))
  case $cmd in
${cases.join('\n')}
  esac
}
if [ "$funcstack[1]" = "_outrigger" ]; then
  _outrigger "$@"
else
  compdef _outrigger ${PROGRAMS.join(' ')}
fi
`;
}

/** A single-quoted fish string: there only \\ and \' are escapes. */
const fq = (s: string): string => `'${s.replace(/[\\']/g, (ch) => `\\${ch}`)}'`;

export function fishScript(specs: readonly CommandSpec[]): string {
  const lines = ["# fish completion for outrigger; generated by 'outrigger completion fish'", 'complete -c outrigger -f'];
  for (const c of specs) lines.push(`complete -c outrigger -n __fish_use_subcommand -a ${c.name} -d ${fq(c.summary)}`);
  for (const c of specs) {
    const when = `-n ${fq(`__fish_seen_subcommand_from ${c.name}`)}`;
    for (const f of c.flags) {
      const value = f.values ? ` -x -a ${fq(f.values.join(' '))}` : f.takesValue ? ' -r -F' : '';
      lines.push(`complete -c outrigger ${when} -l ${f.long}${f.short ? ` -s ${f.short}` : ''}${value}`);
    }
    if (c.args) lines.push(`complete -c outrigger ${when} -a ${fq(c.args.join(' '))}`);
  }
  lines.push('complete -c kubectl-outrigger -w outrigger');
  return `${lines.join('\n')}\n`;
}

export function completionScript(shell: Shell): string {
  const specs = commandSpecs();
  return { bash: bashScript, zsh: zshScript, fish: fishScript }[shell](specs);
}

export async function completionCommand(argv: string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  const shell = first === undefined || first.startsWith('-') ? undefined : first;
  const { values } = parseFlags(shell === undefined ? argv : rest, {});
  if (values.help) {
    io.stdout.write(COMPLETION_HELP);
    return EXIT.ok;
  }
  if (shell === undefined) throw new UsageError(`completion: name a shell: ${SHELLS.join(', ')}`);
  if (!(SHELLS as readonly string[]).includes(shell))
    throw new UsageError(`completion: ${JSON.stringify(shell)} is not a supported shell: ${SHELLS.join(', ')}`);
  io.stdout.write(completionScript(shell as Shell));
  return EXIT.ok;
}
