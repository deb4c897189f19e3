/**
 * The offline commands: inject, uninject, explain, validate. Each returns an exit code and writes
 * documents to stdout only when the whole run succeeded, so a pipe into `kubectl apply` never gets
 * half a result.
 */

import { REASONS } from '../common/errors.ts';
import { type Decision, type ProfileSet, readStatus } from '../engine/index.ts';
import { injectDocuments, type ProcessedDocument, type SiteDecision, uninjectDocuments } from '../manifest/process.ts';
import { misplacedAnnotationWarning } from '../manifest/workloads.ts';
import { compileProfileSources, loadProfiles, ProfileLoadError, type ProfileSources, readProfileSources } from '../profiles/load.ts';
import { eachDocument, type InputFlags, type Transformed, transformInputs } from './documents.ts';
import { type InputDocument, InputError } from './input.ts';
import { HELP } from './offline-help.ts';
import { DEFAULT_KUBE_VERSION, namespaceFlag, parseFlags, parseKubeVersion, parseLabels, parseOutput, parseUnknownProfiles, UsageError } from './options.ts';
import { table } from './output.ts';

export interface Io {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Documented exit codes (README "Exit codes"). */
/** Exit codes of every command; `behind` is `outrigger status` finding pods behind their profiles. */
export { HELP };

export const EXIT = { ok: 0, internal: 1, usage: 2, invalidInput: 3, notInjectable: 4, behind: 5 } as const;

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

function engineOptions(values: { 'kube-version'?: string; 'unknown-profiles'?: string; namespace?: string; 'namespace-label'?: string[] }) {
  return {
    kubeVersion: values['kube-version'] ? parseKubeVersion(values['kube-version']) : DEFAULT_KUBE_VERSION,
    ...(values['unknown-profiles'] !== undefined ? { unknownProfiles: parseUnknownProfiles(values['unknown-profiles']) } : {}),
    defaultNamespace: values.namespace === undefined ? 'default' : namespaceFlag('-n/--namespace', values.namespace),
    namespaceLabels: parseLabels(values['namespace-label'] ?? [], '--namespace-label'),
  };
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
    say(
      io,
      run.readErrors.map((e) => `error: ${e}`),
    );
    say(
      io,
      run.warnings.map((w) => `warning: ${w}`),
    );
    if (run.errors.length > 0) {
      say(
        io,
        run.errors.map((e) => `error: ${e}`),
      );
      return EXIT.notInjectable;
    }
    await run.write(io.stdout);
    return run.readErrors.length > 0 ? EXIT.invalidInput : EXIT.ok;
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
  return runTransform(files, values, format, io, (doc) => {
    const { docs, warnings } = injectDocuments([doc], set, opts);
    const d = docs[0] as (typeof docs)[0];
    const denied = d.sites.filter((s) => s.decision.outcome === 'denied').map((s) => `${d.where}: ${s.site.label}: ${s.decision.message}`);
    return { value: d.value, changed: d.changed, warnings, errors: denied };
  });
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

/** One line per change, from the status record of the would-be pod. */
export function describeChanges(decision: Decision): string[] {
  if (decision.outcome !== 'injected') return [];
  const { status } = readStatus(decision.pod);
  if (!status) return [];
  const lines: string[] = [];
  for (const p of status.profiles) {
    const add = (what: string, names?: readonly string[]) => {
      if (names && names.length > 0) lines.push(`${p.name}: + ${what} ${names.join(', ')}`);
    };
    add(p.mode === 'native' ? 'init containers (incl. native sidecars)' : 'init containers', p.initContainers);
    add('containers', p.containers);
    add('volumes', p.volumes);
    add('imagePullSecrets', p.imagePullSecrets);
    add('labels', p.labels);
    add('annotations', p.annotations);
    for (const [key, label] of [
      ['targets', 'container'],
      ['initTargets', 'init container'],
    ] as const) {
      for (const [c, rec] of Object.entries(p[key] ?? {})) {
        add(`env in ${label} ${c}:`, rec.env);
        add(`volumeMounts in ${label} ${c}:`, rec.volumeMounts);
        if (rec.envFrom?.length) lines.push(`${p.name}: + ${rec.envFrom.length} envFrom source(s) in ${label} ${c}`);
      }
    }
  }
  return lines;
}

/** One entry of `explain`'s report per pod site of a document. */
function explained(d: ProcessedDocument<SiteDecision>) {
  return d.sites.map((s) => ({
    source: d.where,
    workload: s.site.label,
    namespace: s.namespace,
    outcome: s.decision.outcome,
    reason: s.decision.reason,
    message: s.decision.message,
    profiles: s.decision.profiles.map((p) => ({ ...p, description: REASONS[p.reason] })),
    warnings: [...(s.site.misplacedAnnotation ? [misplacedAnnotationWarning(s.site)] : []), ...s.decision.warnings],
    changes: describeChanges(s.decision),
    patch: s.decision.patch,
  }));
}

type ExplainedWorkload = ReturnType<typeof explained>[number];

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
      for (const d of injectDocuments([doc], set, opts).docs) workloads.push(...explained(d));
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
  const rows = [['WORKLOAD', 'OUTCOME', 'PROFILE', 'REASON', 'DETAIL']];
  for (const w of workloads) {
    if (w.profiles.length === 0) rows.push([w.workload, w.outcome, '-', w.reason, REASONS[w.reason]]);
    w.profiles.forEach((p, i) => {
      rows.push([i === 0 ? w.workload : '', i === 0 ? w.outcome : '', p.profile, p.reason, p.message]);
    });
    for (const c of w.changes) rows.push(['', '', '', '', c]);
    for (const wn of w.warnings) rows.push(['', '', '', 'warning', wn]);
  }
  io.stdout.write(table(rows));
  if (workloads.length === 0) io.stdout.write('No pods or pod templates found in the input.\n');
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

/** Maps the errors every command can meet to their exit codes and messages. */
export function reportError(e: unknown, io: Io): number {
  if (e instanceof UsageError) {
    io.stderr.write(`error: ${e.message}\nRun with --help for usage.\n`);
    return EXIT.usage;
  }
  if (e instanceof ProfileLoadError) {
    for (const err of e.errors) io.stderr.write(`error: ${err}\n`);
    return EXIT.invalidInput;
  }
  if (e instanceof InputError) {
    io.stderr.write(`error: ${e.message}\n`);
    return EXIT.invalidInput;
  }
  io.stderr.write(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return EXIT.internal;
}
