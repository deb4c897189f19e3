/**
 * The layering of src/, checked on every import: a module imports only its own directory and the
 * layers below it, and everything outside the engine reaches it through engine/index.ts (its
 * surface). Tests (*.test.ts) may reach across layers to check that the parts agree.
 *
 *   7  playground/                  the browser page: the offline commands' pure core on texts
 *   6  cli/                         the command line: flags, help, output
 *   5  server/                      the HTTPS edge, reloads, drain, cluster wiring
 *   4  admission/  deploy/  policy/ reviews → responses; the install bundle; profiles → admission policies
 *   3  manifest/  report/  kube/    pods in documents; drift; the API server client
 *   2  profiles/                    loading and validating SidecarProfiles
 *   1  engine/  io/  tls/           the pure core; files and YAML; certificates
 *   0  common/  version.ts          JSON, Kubernetes names, labels, the error table
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

const RANK: Readonly<Record<string, number>> = {
  common: 0,
  'version.ts': 0,
  engine: 1,
  io: 1,
  tls: 1,
  profiles: 2,
  manifest: 3,
  report: 3,
  kube: 3,
  admission: 4,
  deploy: 4,
  server: 5,
  policy: 4,
  cli: 6,
  playground: 7,
};

/**
 * Imports that break the layering today, each to be removed by moving code to where it belongs.
 * The test fails when one is gone, so the list only ever shrinks.
 */
/** Imports that break the layering on purpose, each with its reason (none today). */
const KNOWN: ReadonlySet<string> = new Set<string>([]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative module specifiers of every import, re-export and dynamic import (type-only ones included). */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const forms = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?\bfrom\s*(['"])([^'"]+)\1|\bimport\(\s*(['"])([^'"]+)\3\s*\)|^import\s+(['"])([^'"]+)\5/gm;
  for (const m of text.matchAll(forms)) {
    const spec = m[2] ?? m[4] ?? m[6];
    if (spec?.startsWith('.')) out.push(spec);
  }
  return out;
}

const top = (rel: string) => rel.split('/')[0] as string;

/** Every offending import as `from -> to: why`. */
function violations(): { found: string[]; known: Set<string> } {
  const found: string[] = [];
  const known = new Set<string>();
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file).split('\\').join('/');
    const fromRank = RANK[top(from)];
    assert.ok(fromRank !== undefined, `${from}: its directory has no layer here; add it to RANK`);
    if (from.endsWith('.test.ts')) continue;
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const to = relative(SRC, resolve(dirname(file), spec))
        .split('\\')
        .join('/');
      if (to.startsWith('..')) {
        found.push(`src/${from} -> ${spec}: outside src/`);
        continue;
      }
      if (top(to) === top(from)) continue;
      const edge = `${from} -> ${to}`;
      const toRank = RANK[top(to)];
      let why: string | undefined;
      if (toRank === undefined || toRank >= fromRank) why = `${top(from)} (layer ${fromRank}) may not import ${top(to)} (layer ${toRank ?? '?'})`;
      else if (top(to) === 'engine' && to !== 'engine/index.ts') why = 'outside the engine, import it through engine/index.ts';
      if (!why) continue;
      if (KNOWN.has(edge)) known.add(edge);
      else found.push(`src/${edge}: ${why}`);
    }
  }
  return { found, known };
}

test('every import in src/ goes down the layers, and into the engine only through engine/index.ts', () => {
  const { found, known } = violations();
  assert.deepEqual(found, [], `imports that break the layering:\n${found.join('\n')}`);
  const gone = [...KNOWN].filter((k) => !known.has(k));
  assert.deepEqual(gone, [], 'these known exceptions no longer occur: remove them from KNOWN');
});

test('the import parser sees every form', () => {
  const text = [
    "import { a } from './a.ts';",
    "import type { B } from '../b/b.ts';",
    'import {\n  c,\n  type D,\n} from "./not-single-quoted";',
    "export { e } from './e.ts';",
    "export * from './f.ts';",
    "const g = await import('./g.ts');",
    "type H = import('./h.ts').H;",
    "import './side-effect.ts';",
    "import { readFileSync } from 'node:fs';",
  ].join('\n');
  assert.deepEqual(importsOf(text), ['./a.ts', '../b/b.ts', './not-single-quoted', './e.ts', './f.ts', './g.ts', './h.ts', './side-effect.ts']);
});
