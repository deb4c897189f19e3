/**
 * The offline commands: inject, uninject, explain, validate. Each returns an exit code and writes
 * documents to stdout only when the whole run succeeded, so a pipe into `kubectl apply` never gets
 * half a result.
 */

import type { ProfileSet } from '../engine/index.ts';
import { uninjectDocuments } from '../manifest/process.ts';
import { compileProfileSources, loadProfiles, type ProfileSources, readProfileSources } from '../profiles/load.ts';
import { eachDocument, type InputFlags, transformInputs } from './documents.ts';
import type { InputDocument } from './input.ts';
import {
  EXIT,
  type ExplainedWorkload,
  engineOptions,
  explainDocument,
  explainTable,
  injectTransform,
  type Transformed,
  transformReport,
} from './offline-core.ts';
import { HELP } from './offline-help.ts';
import { parseFlags, parseOutput, UsageError } from './options.ts';

export interface Io {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Exit codes (README "Exit codes"), the inject/explain core and the error report live in offline-core.ts. */
export { describeChanges, EXIT, reportError } from './offline-core.ts';
export { HELP };

export const inputFlags = {
  filename: { type: 'string', short: 'f', multiple: true },
  recursive: { type: 'boolean', short: 'R' },
  'continue-on-error': { type: 'boolean' },
} as const;
export const engineFlags = {
  profiles: { type: 'string', short: 'p', multiple: true },
  'kube-version': { type: 'string' },
  'unknown-profiles': { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  'namespace-label': { type: 'string', multiple: true },
} as const;
const outputFlag = { output: { type: 'string', short: 'o' } } as const;
export const VALIDATE_FLAGS = { profiles: engineFlags.profiles, 'require-profiles': { type: 'boolean' }, ...outputFlag } as const;
export const INJECT_FLAGS = { ...inputFlags, ...engineFlags, ...outputFlag } as const;
export const UNINJECT_FLAGS = { ...inputFlags, ...outputFlag } as const;

async function profilesFrom(paths: string[] | undefined): Promise<ProfileSet> {
  if (!paths || paths.length === 0) throw new UsageError('--profiles is required');
  return loadProfiles(paths);
}

function needInputs(files: string[] | undefined): string[] {
  if (!files || files.length === 0) throw new UsageError('-f/--filename is required (use - for stdin)');
  return files;
}

const say = (io: Io, lines: readonly string[]) => {
  for (const l of lines) io.stderr.write(`${l}\n`);
};

/**
 * Reads, transforms and writes: read errors (with --continue-on-error), then warnings, then the
 * documents that failed (exit 4, nothing written), else the output. Without --continue-on-error
 * the first bad file throws and nothing reaches stdout.
 */
async function runTransform(
  files: string[],
  values: InputFlags,
  format: 'yaml' | 'json',
  io: Io,
  transform: (doc: InputDocument) => Transformed,
): Promise<number> {
  const run = await transformInputs(files, values, io.stdin, format, transform);
  try {
    const report = transformReport(run);
    say(io, report.stderr);
    if (report.write) await run.write(io.stdout);
    return report.exit;
  } finally {
    await run.close();
  }
}

export async function injectCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, INJECT_FLAGS);
  if (values.help) {
    io.stdout.write(HELP.inject);
    return EXIT.ok;
  }
  const format = parseOutput(values.output, ['yaml', 'json']);
  const files = needInputs(values.filename);
  const opts = engineOptions(values);
  const set = await profilesFrom(values.profiles);
  return runTransform(files, values, format, io, (doc) => injectTransform(doc, set, opts));
}

export async function uninjectCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, UNINJECT_FLAGS);
  if (values.help) {
    io.stdout.write(HELP.uninject);
    return EXIT.ok;
  }
  const format = parseOutput(values.output, ['yaml', 'json']);
  return runTransform(needInputs(values.filename), values, format, io, (doc) => {
    const d = uninjectDocuments([doc])[0] as ReturnType<typeof uninjectDocuments>[0];
    const errors = d.sites.filter((s) => s.error).map((s) => `${d.where}: ${s.site.label}: ${s.error}`);
    return { value: d.value, changed: d.changed, warnings: [], errors };
  });
}

export async function explainCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, { ...inputFlags, ...engineFlags, output: { type: 'string', short: 'o' } });
  if (values.help) {
    io.stdout.write(HELP.explain);
    return EXIT.ok;
  }
  const format = values.output ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError(`--output: ${JSON.stringify(format)} must be table or json`);
  const files = needInputs(values.filename);
  const opts = engineOptions(values);
  const set = await profilesFrom(values.profiles);
  const workloads: ExplainedWorkload[] = [];
  const readErrors = await eachDocument(files, values, io.stdin, {
    document: (doc) => {
      workloads.push(...explainDocument(doc, set, opts));
    },
    mark: () => workloads.length,
    restore: (m) => {
      workloads.length = m as number;
    },
  });
  say(
    io,
    readErrors.map((e) => `error: ${e}`),
  );
  const failed = readErrors.length > 0 ? EXIT.invalidInput : EXIT.ok;
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify({ workloads }, null, 2)}\n`);
    return failed;
  }
  io.stdout.write(explainTable(workloads));
  return failed;
}

export async function validateCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, VALIDATE_FLAGS);
  if (values.help) {
    io.stdout.write(HELP.validate);
    return EXIT.ok;
  }
  if (!values.profiles || values.profiles.length === 0) throw new UsageError('--profiles is required');
  const format = parseOutput(values.output, ['text', 'json']);
  const sources = await readProfileSources(values.profiles);
  const set = compileProfileSources(sources);
  const empty = pathsWithoutProfiles(values.profiles, sources, set);
  if (format === 'json') {
    const profiles = set.profiles.map((p) => ({
      name: p.name,
      ...(p.namespace ? { namespace: p.namespace } : {}),
      version: p.version,
      hash: p.hash,
      source: p.source,
    }));
    io.stdout.write(`${JSON.stringify({ profiles, pathsWithoutProfiles: empty }, null, 2)}\n`);
  } else {
    for (const p of set.profiles) io.stdout.write(`ok  ${p.name}@${p.version}  ${p.hash}  (${p.source})\n`);
    io.stdout.write(`${set.profiles.length} profile${set.profiles.length === 1 ? '' : 's'} valid\n`);
  }
  const level = values['require-profiles'] ? 'error' : 'warning';
  say(
    io,
    empty.map((p) => `${level}: no SidecarProfiles found in ${p}`),
  );
  return empty.length > 0 && values['require-profiles'] ? EXIT.invalidInput : EXIT.ok;
}

/** The --profiles paths none of whose files holds a profile (an empty file, a directory of none). */
function pathsWithoutProfiles(paths: readonly string[], sources: ProfileSources, set: ProfileSet): string[] {
  // A profile's source is "FILE, document N".
  const filesWithProfiles = new Set(set.profiles.map((p) => p.source.replace(/, document \d+.*$/, '')));
  return paths.filter((path) => !sources.files.some((f) => f.path === path && filesWithProfiles.has(f.file)));
}
