// Renders charts/outrigger with the helm built from test/tools/helm, and the bundle with the real
// `outrigger manifests`, both as parsed objects keyed by kind, namespace and name.

import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../e2e/build-apiserver.ts';

export const chartDir: string = join(repoRoot, 'charts', 'outrigger');

export type Obj = Record<string, unknown> & { kind: string; metadata: { name: string; namespace?: string } };

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: repoRoot, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Parses a multi-document YAML stream; empty documents (a template that rendered nothing) are dropped. */
export function parseObjects(text: string, source: string): Obj[] {
  return parseAllDocuments(text).flatMap((d) => {
    if (d.errors.length > 0) throw new Error(`${source}: ${d.errors.map((e) => e.message).join('; ')}`);
    const v = d.toJS() as Obj | null;
    return v === null ? [] : [v];
  });
}

export const key = (o: Obj): string => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export function byKey(objects: Obj[]): Map<string, Obj> {
  const m = new Map<string, Obj>();
  for (const o of objects) {
    if (m.has(key(o))) throw new Error(`${key(o)} rendered twice`);
    m.set(key(o), o);
  }
  return m;
}

/** `helm template` of `chart` into `namespace` with `--set`/`-f` style arguments; throws with helm's message on failure. */
export function template(helm: string, args: string[] = [], namespace = 'outrigger-system', chart = chartDir): Obj[] {
  const r = run(helm, ['template', 'outrigger', chart, '--namespace', namespace, ...args]);
  if (r.status !== 0) throw new Error(`helm template ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr}`);
  return parseObjects(r.stdout, 'helm template');
}

/** `outrigger manifests` with `flags`, as a user would run it. */
export function manifests(flags: string[] = []): Obj[] {
  const r = run(process.execPath, [join(repoRoot, 'src', 'cli', 'main.ts'), 'manifests', ...flags]);
  if (r.status !== 0) throw new Error(`outrigger manifests ${flags.join(' ')} failed (exit ${r.status}):\n${r.stderr}`);
  return parseObjects(r.stdout, 'outrigger manifests');
}

/** A throw-away copy of the chart, for tests that add files (e.g. files/prometheus-rules.yaml). */
export function chartCopy(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'outrigger-chart-')), 'outrigger');
  cpSync(chartDir, dir, { recursive: true });
  return dir;
}
