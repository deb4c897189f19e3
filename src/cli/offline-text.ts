/**
 * `outrigger inject` and `outrigger explain` over texts instead of files: what each prints
 * (stdout, stderr, exit code) for a profiles text and a workload text named as files, with the
 * context given as the CLI's own flags. Pure: the browser playground runs it, and its tests check
 * that it prints what the CLI prints for the same files and flags.
 */
import type { JsonValue } from '../common/json.ts';
import type { Decision } from '../engine/index.ts';
import { YamlError, YamlStream } from '../io/yaml-stream.ts';
import { compileProfileTexts, ProfileLoadError } from '../profiles/parse.ts';
import {
  type EngineFlagValues,
  EXIT,
  type ExplainedWorkload,
  engineOptions,
  explainDocument,
  explainTable,
  InputError,
  injectTransform,
  nothingIn,
  reportError,
  type SourceDocument,
  transformReport,
} from './offline-core.ts';
import { YamlWriter } from './output.ts';

/** A file as the page holds it: the name it is given on the command line, and its text. */
export interface TextFile {
  name: string;
  text: string;
}

/** The cluster context of a run: the page's context pane, and the CLI flags it stands for. */
export interface RunContext {
  /** `--kube-version`; empty for the CLI's default. */
  kubeVersion: string;
  /** `-n/--namespace`; empty for "default". */
  namespace: string;
  /** `--namespace-label K=V`, one a line; blank lines are skipped. */
  labels: string;
  /** `--unknown-profiles`; empty for the CLI's default (admit). */
  unknownProfiles?: string;
}

/** What a command printed. */
export interface Printed {
  exit: number;
  stdout: string;
  stderr: string;
}

export interface OfflineRun {
  inject: Printed;
  explain: Printed;
  /** explain's report (as `-o json` gives it), for the patch pane; empty when explain failed. */
  workloads: ExplainedWorkload[];
  /** The profiles' load errors, each as the CLI words it; empty when they load, or when the flags failed first. */
  profileLoadErrors: string[];
}

/** The context as the CLI's engine flags, in the order the command line gives them. */
export function contextFlags(ctx: RunContext): string[] {
  const labels = ctx.labels
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return [
    ...(ctx.kubeVersion.trim() ? ['--kube-version', ctx.kubeVersion.trim()] : []),
    ...(ctx.namespace.trim() ? ['--namespace', ctx.namespace.trim()] : []),
    ...labels.flatMap((l) => ['--namespace-label', l]),
    ...(ctx.unknownProfiles?.trim() ? ['--unknown-profiles', ctx.unknownProfiles.trim()] : []),
  ];
}

/** The engine flags as parseArgs gives them to the commands. */
function flagValues(flags: readonly string[]): EngineFlagValues {
  const v: Required<EngineFlagValues> = { 'kube-version': '', 'unknown-profiles': '', namespace: '', 'namespace-label': [] };
  const out: EngineFlagValues = {};
  for (let i = 0; i < flags.length; i += 2) {
    const [flag, value = ''] = [(flags[i] as string).slice(2) as keyof EngineFlagValues, flags[i + 1] as string];
    if (flag === 'namespace-label') out[flag] = [...(out[flag] ?? []), value];
    else if (flag in v) out[flag] = value;
  }
  return out;
}

/** Every document of a file, as `-f FILE` reads it; throws InputError as the CLI does. */
function readDocuments(file: TextFile): SourceDocument[] {
  const stream = new YamlStream(file.name);
  let docs: { index: number; value: JsonValue; text: string }[];
  try {
    docs = [...stream.push(file.text), ...stream.end()];
  } catch (e) {
    if (e instanceof YamlError) throw new InputError(e.message);
    throw e;
  }
  if (docs.length === 0) throw new InputError(nothingIn(file.name, [file.name]));
  return docs.map((d) => ({ where: `${file.name}, document ${d.index}`, value: d.value, text: d.text }));
}

/** Runs one command as registry.main does: an error thrown is reported on stderr with its exit code. */
function printed(run: (out: string[], err: string[]) => number): Printed {
  const out: string[] = [];
  const err: string[] = [];
  let exit: number;
  try {
    exit = run(out, err);
  } catch (e) {
    exit = reportError(e, { stderr: { write: (t: string) => err.push(t) } });
  }
  return { exit, stdout: out.join(''), stderr: err.join('') };
}

/** `f` run at most once: later calls give its value, or throw what it threw, again. */
function once<T>(f: () => T): () => T {
  let done: { value: T } | { error: unknown } | undefined;
  return () => {
    done ??= (() => {
      try {
        return { value: f() };
      } catch (error) {
        return { error };
      }
    })();
    if ('error' in done) throw done.error;
    return done.value;
  };
}

/**
 * `outrigger inject -f WORKLOAD --profiles PROFILES FLAGS` and `outrigger explain` with the same.
 * Both read the same texts: the profiles are compiled and the workload parsed once, on the page's
 * every keystroke, and each command meets them (or their error) where the CLI would.
 */
export function runOffline(profiles: TextFile, workload: TextFile, ctx: RunContext): OfflineRun {
  const values = flagValues(contextFlags(ctx));
  const compiled = once(() => compileProfileTexts([{ source: profiles.name, text: profiles.text }]));
  const parsed = once(() => readDocuments(workload));
  const inject = printed((out, err) => {
    const opts = engineOptions(values);
    const set = compiled();
    const docs = parsed();
    const yaml = new YamlWriter();
    const warnings: string[] = [];
    const errors: string[] = [];
    const pieces: string[] = [];
    for (const doc of docs) {
      const t = injectTransform(doc, set, opts);
      warnings.push(...t.warnings);
      errors.push(...t.errors);
      if (errors.length === 0) pieces.push(yaml.next({ value: t.value, changed: t.changed, text: doc.text, before: doc.value }));
    }
    const report = transformReport({ readErrors: [], warnings, errors });
    for (const l of report.stderr) err.push(`${l}\n`);
    if (report.write) out.push(...pieces);
    return report.exit;
  });
  let workloads: ExplainedWorkload[] = [];
  const explain = printed((out) => {
    const opts = engineOptions(values);
    const set = compiled();
    workloads = parsed().flatMap((doc) => explainDocument(doc, set, opts));
    out.push(explainTable(workloads));
    return EXIT.ok;
  });
  if (explain.exit !== EXIT.ok) workloads = [];
  return { inject, explain, workloads, profileLoadErrors: inject.exit === EXIT.usage ? [] : loadErrors(compiled) };
}

function loadErrors(compiled: () => unknown): string[] {
  try {
    compiled();
    return [];
  } catch (e) {
    if (e instanceof ProfileLoadError) return [...e.errors];
    throw e;
  }
}

/** A decision's JSON Patch, for the patch pane. */
export type Patch = Decision['patch'];

/** A word as a POSIX shell reads it back: bare when that is safe, else in single quotes. */
export function shellWord(w: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`;
}

/** The command line that prints `inject` for these files and context. */
export function injectCommandLine(profiles: TextFile, workload: TextFile, ctx: RunContext): string {
  return ['outrigger', 'inject', '-f', workload.name, '--profiles', profiles.name, ...contextFlags(ctx)].map(shellWord).join(' ');
}
