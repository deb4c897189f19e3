/**
 * Dynamic completion in cobra's `__complete` protocol, which kubectl (1.26 and later) speaks with a
 * plugin's `kubectl_complete-<plugin>` executable: it is given the words after `kubectl outrigger`,
 * the last being the word under the cursor ("" for a new one), and prints one candidate a line
 * (`value<TAB>description` where there is one), then `:<directive>`. Made from the same command
 * specs as the shell scripts (completion.ts).
 */
import { type CommandSpec, commandSpecs, type Flag } from './completion.ts';

/** cobra's ShellCompDirective values (a bit set). */
export const DIRECTIVE = { default: 0, error: 1, noSpace: 2, noFileComp: 4 } as const;

export interface Completion {
  candidates: string[];
  directive: number;
}

const flagNamed = (spec: CommandSpec, word: string): Flag | undefined =>
  word.startsWith('--') ? spec.flags.find((f) => `--${f.long}` === word) : /^-[^-]$/.test(word) ? spec.flags.find((f) => f.short === word[1]) : undefined;

export function completeWords(words: readonly string[], specs: readonly CommandSpec[] = commandSpecs()): Completion {
  const cur = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  const starting = (c: string) => c.startsWith(cur);
  const none = (directive: number = DIRECTIVE.noFileComp): Completion => ({ candidates: [], directive });
  if (before.length === 0) return { candidates: specs.filter((c) => starting(c.name)).map((c) => `${c.name}\t${c.summary}`), directive: DIRECTIVE.noFileComp };
  const spec = specs.find((c) => c.name === before[0]);
  if (!spec) return none();
  // The value of the flag before: from its set, or a file or a name (the shell's own completion).
  const prev = before.length > 1 ? flagNamed(spec, before.at(-1) as string) : undefined;
  if (prev?.takesValue) return prev.values ? { candidates: prev.values.filter(starting), directive: DIRECTIVE.noFileComp } : none(DIRECTIVE.default);
  const eq = /^(--[^=]+)=/.exec(cur);
  if (eq) {
    const flag = flagNamed(spec, eq[1] as string);
    if (!flag?.takesValue) return none();
    if (!flag.values) return none(DIRECTIVE.default);
    return { candidates: flag.values.map((v) => `${eq[1]}=${v}`).filter(starting), directive: DIRECTIVE.noFileComp };
  }
  if (spec.args && before.length === 1 && !cur.startsWith('-')) return { candidates: spec.args.filter(starting), directive: DIRECTIVE.noFileComp };
  // Flags, as the shell scripts offer them; one already given is not offered again unless it repeats.
  const given = new Set(before.slice(1).flatMap((w) => flagNamed(spec, w.replace(/=.*$/, '')) ?? []));
  const candidates = spec.flags
    .filter((f) => f.repeatable || !given.has(f))
    .flatMap((f) => [`--${f.long}`, ...(f.short && !cur.startsWith('--') ? [`-${f.short}`] : [])])
    .filter(starting);
  return { candidates, directive: DIRECTIVE.noFileComp };
}

/** What the executable prints. */
export function completionOutput(words: readonly string[]): string {
  const { candidates, directive } = completeWords(words);
  return `${candidates.map((c) => `${c}\n`).join('')}:${directive}\n`;
}
