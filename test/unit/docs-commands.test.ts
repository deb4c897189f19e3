/**
 * Every `npm run SCRIPT` and `outrigger COMMAND` the README and docs/ name in code exists: a
 * package.json script, a CLI command that answers --help. Renaming one without the docs fails here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../support/run-cli.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const docs = [
  'README.md',
  ...readdirSync(join(repo, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The text inside fenced blocks and inline code spans: where commands are written. */
export function codeOf(markdown: string): string[] {
  const fenced = [...markdown.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((m) => m[1] as string);
  const prose = markdown.replace(/^```[^\n]*\n[\s\S]*?^```/gm, '');
  const inline = [...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] as string);
  return [...fenced, ...inline];
}

/** `outrigger X` where a command starts: line start, after a pipe, `;`, `&&`, `$(` or `npx`. */
export function mentioned(code: readonly string[]): { scripts: Set<string>; commands: Set<string> } {
  const scripts = new Set<string>();
  const commands = new Set<string>();
  for (const c of code) {
    for (const m of c.matchAll(/\bnpm run (?:--silent )?([\w:.-]+)/g)) scripts.add(m[1] as string);
    for (const m of c.matchAll(/(?:^|[|;(]|&&|\bnpx)\s*outrigger ([a-z][a-z-]*)\b/gm)) commands.add(m[1] as string);
  }
  return { scripts, commands };
}

test('the extraction finds commands where they start and not in other words', () => {
  const { scripts, commands } = mentioned(
    codeOf(
      'Run `npm run release:dry-run`.\n\n```sh\noutrigger manifests | kubectl apply -f -\nhelm install outrigger charts/outrigger\nx | outrigger status\n```\n',
    ),
  );
  assert.deepEqual([...scripts], ['release:dry-run']);
  assert.deepEqual([...commands].sort(), ['manifests', 'status']);
});

test('every npm script and outrigger command named in the docs exists', async () => {
  const scripts = Object.keys((JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);
  const missing: string[] = [];
  let seen = 0;
  for (const file of docs) {
    const found = mentioned(codeOf(readFileSync(join(repo, file), 'utf8')));
    for (const s of found.scripts) {
      seen++;
      if (!scripts.includes(s)) missing.push(`${file}: npm run ${s}`);
    }
    for (const c of found.commands) {
      seen++;
      const r = await runCli([c, '--help']);
      if (r.code !== 0) missing.push(`${file}: outrigger ${c} (exit ${r.code}: ${r.stderr.split('\n')[0]})`);
    }
  }
  assert.deepEqual(missing, []);
  assert.ok(seen >= 10, `only ${seen} commands found in the docs: the extraction is broken`);
});
