/**
 * The command registry (registry.ts COMMANDS) is the one place commands and their help live: every
 * command answers `--help` and `-h` with its registered text, `outrigger help` lists every one, and
 * no command's usage text exists outside the registry.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../test/support/run-cli.ts';
import { COMMANDS } from './registry.ts';

const CLI_DIR = new URL('.', import.meta.url).pathname;

test('every command answers --help and -h with its registered help, exit 0, nothing on stderr', async () => {
  for (const c of COMMANDS) {
    const { help } = await c.load();
    assert.match(help, new RegExp(`^Usage: outrigger ${c.name}\\b`), c.name);
    for (const flag of ['--help', '-h']) {
      const r = await runCli([c.name, flag]);
      assert.equal(r.code, 0, `${c.name} ${flag}`);
      assert.equal(r.stderr, '', `${c.name} ${flag}`);
      assert.equal(r.stdout, help, `${c.name} ${flag}`);
    }
  }
});

test('outrigger help lists every command with its summary, once, in registry order', async () => {
  for (const args of [['help'], ['--help'], ['-h']]) {
    const r = await runCli(args);
    assert.equal(r.code, 0);
    const listed = [...r.stdout.matchAll(/^ {2}(\S+) +(.+)$/gm)].map((m) => [m[1], m[2]]);
    assert.deepEqual(
      listed,
      COMMANDS.map((c) => [c.name, c.summary]),
    );
  }
});

test('no usage text in src/cli is left out of the registry', () => {
  const names = new Set(COMMANDS.map((c) => c.name));
  assert.equal(names.size, COMMANDS.length, 'a command is registered twice');
  for (const f of readdirSync(CLI_DIR).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))) {
    const text = readFileSync(join(CLI_DIR, f), 'utf8');
    for (const m of text.matchAll(/Usage: outrigger ([a-z][a-z-]*)/g)) {
      if (m[1] === 'COMMAND') continue;
      assert.ok(names.has(m[1] as string), `${f}: usage of "${m[1]}" has no registry entry`);
    }
  }
});
