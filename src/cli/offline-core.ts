/**
 * What the offline commands decide and print, without their I/O: exit codes, the per-document
 * inject transform, explain's report and table, and the error messages. Pure (no Node built-ins),
 * so `outrigger inject`/`explain` and the browser playground print the same text from one code.
 */
import { REASONS } from '../common/errors.ts';
import type { JsonValue } from '../common/json.ts';
import { type Decision, type ProfileSet, readStatus } from '../engine/index.ts';
import { injectDocuments, type ManifestOptions, type ProcessedDocument, type SiteDecision } from '../manifest/process.ts';
import { misplacedAnnotationWarning } from '../manifest/workloads.ts';
import { ProfileLoadError } from '../profiles/parse.ts';
import { DEFAULT_KUBE_VERSION, namespaceFlag, parseKubeVersion, parseLabels, parseUnknownProfiles, UsageError } from './flag-values.ts';
import { table } from './output.ts';

/** Exit codes of every command; `behind` is `outrigger status` finding pods behind their profiles. */
export const EXIT = { ok: 0, internal: 1, usage: 2, invalidInput: 3, notInjectable: 4, behind: 5 } as const;

/** An input that cannot be read or parsed, or gives no object. */
export class InputError extends Error {}

/** Why a `-f` path gave no object, naming it (`files`: what the path expanded to). */
export function nothingIn(path: string, files: readonly string[]): string {
  if (path === '-') return '(stdin): no objects in the input (it is empty, or holds only comments and ---)';
  if (files.length === 0) return `${path}: no manifests in the directory (no *.yaml, *.yml or *.json files; -R descends into subdirectories)`;
  if (files.length === 1 && files[0] === path) return `${path}: no objects in the file (it is empty, or holds only comments and ---)`;
  return `${path}: no objects in the directory (its ${files.length} manifest files are empty, or hold only comments and ---)`;
}

/** One document as `-f` reads it: where it came from, its value and its source text. */
export interface SourceDocument {
  where: string;
  value: JsonValue;
  text: string;
}

/** The engine flags of inject and explain, as parsed values. */
export interface EngineFlagValues {
  'kube-version'?: string;
  'unknown-profiles'?: string;
  namespace?: string;
  'namespace-label'?: string[];
}

/** The engine's options from the flags; throws UsageError naming a bad flag. */
export function engineOptions(values: EngineFlagValues): ManifestOptions {
  return {
    kubeVersion: values['kube-version'] ? parseKubeVersion(values['kube-version']) : DEFAULT_KUBE_VERSION,
    ...(values['unknown-profiles'] !== undefined ? { unknownProfiles: parseUnknownProfiles(values['unknown-profiles']) } : {}),
    defaultNamespace: values.namespace === undefined ? 'default' : namespaceFlag('-n/--namespace', values.namespace),
    namespaceLabels: parseLabels(values['namespace-label'] ?? [], '--namespace-label'),
  };
}

/** The result of one document: what to write, and the messages and failures it gave. */
export interface Transformed {
  value: JsonValue;
  changed: boolean;
  warnings: string[];
  /** Why the document could not be processed: the run fails (exit 4) and writes nothing. */
  errors: string[];
}

/** `outrigger inject` on one document. */
export function injectTransform(doc: SourceDocument, set: ProfileSet, opts: ManifestOptions): Transformed {
  const { docs, warnings } = injectDocuments([doc], set, opts);
  const d = docs[0] as (typeof docs)[0];
  const denied = d.sites.filter((s) => s.decision.outcome === 'denied').map((s) => `${d.where}: ${s.site.label}: ${s.decision.message}`);
  return { value: d.value, changed: d.changed, warnings, errors: denied };
}

/**
 * What inject and uninject say on stderr once every document is done, and their exit code: read
 * errors (with --continue-on-error), then warnings, then the documents that failed (exit 4,
 * nothing written), else the output is written.
 */
export function transformReport(run: { readErrors: readonly string[]; warnings: readonly string[]; errors: readonly string[] }): {
  stderr: string[];
  write: boolean;
  exit: number;
} {
  const stderr = [...run.readErrors.map((e) => `error: ${e}`), ...run.warnings.map((w) => `warning: ${w}`)];
  if (run.errors.length > 0) return { stderr: [...stderr, ...run.errors.map((e) => `error: ${e}`)], write: false, exit: EXIT.notInjectable };
  return { stderr, write: true, exit: run.readErrors.length > 0 ? EXIT.invalidInput : EXIT.ok };
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
export function explained(d: ProcessedDocument<SiteDecision>) {
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

export type ExplainedWorkload = ReturnType<typeof explained>[number];

/** `outrigger explain`'s report of one document. */
export function explainDocument(doc: SourceDocument, set: ProfileSet, opts: ManifestOptions): ExplainedWorkload[] {
  return injectDocuments([doc], set, opts).docs.flatMap(explained);
}

/** `outrigger explain -o table`: the table, or the line saying there was nothing to explain. */
export function explainTable(workloads: readonly ExplainedWorkload[]): string {
  const rows = [['WORKLOAD', 'OUTCOME', 'PROFILE', 'REASON', 'DETAIL']];
  for (const w of workloads) {
    if (w.profiles.length === 0) rows.push([w.workload, w.outcome, '-', w.reason, REASONS[w.reason]]);
    w.profiles.forEach((p, i) => {
      rows.push([i === 0 ? w.workload : '', i === 0 ? w.outcome : '', p.profile, p.reason, p.message]);
    });
    for (const c of w.changes) rows.push(['', '', '', '', c]);
    for (const wn of w.warnings) rows.push(['', '', '', 'warning', wn]);
  }
  return table(rows) + (workloads.length === 0 ? 'No pods or pod templates found in the input.\n' : '');
}

/** Maps the errors every command can meet to their exit codes and messages. */
export function reportError(e: unknown, io: { stderr: { write(text: string): unknown } }): number {
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
