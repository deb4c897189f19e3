/**
 * The playground's engine: profiles text, workload text and context in, everything the page shows
 * out. What `outrigger inject` and `outrigger explain` print comes from runOffline, the same code
 * the CLI's output is checked against; the rest (diff, patches, where errors are) is derived
 * from it. Pure: no DOM, no Node built-ins.
 */
import { injectCommandLine, type OfflineRun, type RunContext, runOffline, type TextFile } from '../cli/offline-text.ts';
import { type DiffRow, sideBySide } from './diff.ts';
import { type LocatedError, locateErrors } from './locate.ts';

/** The names the texts go by in messages and in the command line: save the panes under these. */
export const FILES = { profiles: 'profiles.yaml', workload: 'workload.yaml' } as const;

export interface PlaygroundInput {
  profiles: string;
  workload: string;
  context: RunContext;
}

export interface PlaygroundOutput extends OfflineRun {
  /** The workload against inject's output (empty when inject wrote nothing). */
  diff: DiffRow[];
  /** Each workload's JSON Patch (from explain's report), as `/explain` and the webhook send it. */
  patches: { workload: string; outcome: string; patch: unknown }[];
  /** The profile load errors with their document, field path and line. */
  profileErrors: LocatedError[];
  /** Why the workload or the context could not be used (inject's stderr), when that is what failed. */
  workloadError?: string;
  contextError?: string;
  /** The `outrigger inject` command line that prints the same. */
  command: string;
}

export function runPlayground(input: PlaygroundInput): PlaygroundOutput {
  const profiles: TextFile = { name: FILES.profiles, text: input.profiles };
  const workload: TextFile = { name: FILES.workload, text: input.workload };
  const run = runOffline(profiles, workload, input.context);
  const { inject } = run;
  // The CLI checks the flags, then the profiles, then reads the workload: exit 2 is the context,
  // exit 3 the profiles if they have errors, else the workload.
  const located = locateErrors(run.profileLoadErrors, input.profiles);
  const stderr = inject.stderr.trimEnd();
  return {
    ...run,
    diff: inject.exit === 0 ? sideBySide(input.workload, inject.stdout) : [],
    patches: run.workloads.map((w) => ({ workload: `${w.source}: ${w.workload}`, outcome: w.outcome, patch: w.patch ?? null })),
    profileErrors: located,
    ...(inject.exit === 3 && located.length === 0 ? { workloadError: stderr } : {}),
    ...(inject.exit === 2 ? { contextError: stderr } : {}),
    command: injectCommandLine(profiles, workload, input.context),
  };
}
