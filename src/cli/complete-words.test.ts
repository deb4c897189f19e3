/**
 * `kubectl_complete-outrigger`: the words after `kubectl outrigger` in, cobra's `__complete` output
 * out (candidates a line, then `:<directive>`); run from the built package by name on PATH as
 * kubectl runs it, and through a real kubectl's `__complete` (test/support/kubectl.ts).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BuiltPackage, buildPackage, REPO } from '../../test/support/built-package.ts';
import { realKubectl } from '../../test/support/kubectl.ts';
import { completeWords, completionOutput, DIRECTIVE } from './complete-words.ts';
import { COMMANDS } from './registry.ts';

describe('completeWords', () => {
  test('the first word: every command, with its summary, and no files', () => {
    const r = completeWords(['']);
    assert.deepEqual(
      r.candidates,
      COMMANDS.map((c) => `${c.name}\t${c.summary}`),
    );
    assert.equal(r.directive, DIRECTIVE.noFileComp);
    assert.deepEqual(completeWords(['un']).candidates, [`uninject\t${COMMANDS.find((c) => c.name === 'uninject')?.summary}`]);
  });

  test("a flag's value from its set, also as --flag=value; a file where it takes one", () => {
    assert.deepEqual(completeWords(['inject', '-o', '']), { candidates: ['yaml', 'json'], directive: DIRECTIVE.noFileComp });
    assert.deepEqual(completeWords(['explain', '--output', 't']), { candidates: ['table'], directive: DIRECTIVE.noFileComp });
    assert.deepEqual(completeWords(['manifests', '--cert-mode=c']), { candidates: ['--cert-mode=cert-manager'], directive: DIRECTIVE.noFileComp });
    assert.deepEqual(completeWords(['inject', '-f', '']), { candidates: [], directive: DIRECTIVE.default });
    assert.deepEqual(completeWords(['inject', '--profiles=']), { candidates: [], directive: DIRECTIVE.default });
  });

  test('flags, without those already given unless they repeat; shells for completion', () => {
    const r = completeWords(['uninject', '-o', 'json', '-f', 'a.yaml', '--']);
    assert.deepEqual(r, { candidates: ['--filename', '--recursive', '--continue-on-error', '--help'], directive: DIRECTIVE.noFileComp });
    assert.deepEqual(completeWords(['uninject', '-']).candidates, [
      '--filename',
      '-f',
      '--recursive',
      '-R',
      '--continue-on-error',
      '--output',
      '-o',
      '--help',
      '-h',
    ]);
    assert.deepEqual(completeWords(['completion', '']).candidates, ['bash', 'zsh', 'fish']);
    assert.deepEqual(completeWords(['frobnicate', '']), { candidates: [], directive: DIRECTIVE.noFileComp });
  });

  test('the output: a candidate a line, then the directive', () => {
    assert.equal(completionOutput(['inject', '--output', '']), 'yaml\njson\n:4\n');
    assert.equal(completionOutput(['inject', '-f', '']), ':0\n');
  });
});

describe('kubectl_complete-outrigger (the built package)', () => {
  let pkg: BuiltPackage | undefined;
  let tmp = '';
  let env: NodeJS.ProcessEnv = {};
  before(() => {
    pkg = buildPackage();
    tmp = mkdtempSync(join(tmpdir(), 'outrigger-kcomplete-'));
    const binDir = join(tmp, 'bin');
    mkdirSync(binDir);
    // As npm links a package's bins: symlinks to the files, made executable.
    const { bin } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    for (const name of ['kubectl-outrigger', 'kubectl_complete-outrigger']) {
      const file = join(pkg.dir, bin[name] as string);
      chmodSync(file, 0o755);
      symlinkSync(file, join(binDir, name));
    }
    env = { ...process.env, PATH: [binDir, dirname(process.execPath), process.env.PATH].join(delimiter), KUBECONFIG: join(tmp, 'none') };
  });
  after(() => {
    pkg?.remove();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('found on PATH by its name, it answers the words kubectl passes on', () => {
    assert.equal(execFileSync('kubectl_complete-outrigger', ['inject', '-o', ''], { env, encoding: 'utf8' }), 'yaml\njson\n:4\n');
    assert.equal(
      execFileSync('kubectl_complete-outrigger', ['val'], { env, encoding: 'utf8' }),
      `validate\t${COMMANDS.find((c) => c.name === 'validate')?.summary}\n:4\n`,
    );
  });

  test('kubectl outrigger <TAB> asks it, through kubectl __complete', async (t) => {
    const kubectl = await realKubectl();
    if ('skip' in kubectl) return t.skip(kubectl.skip);
    const ask = (...words: string[]) => execFileSync(kubectl.path, ['__complete', 'outrigger', ...words], { env, encoding: 'utf8', stdio: 'pipe' });
    assert.match(ask('inject', '--output', ''), /^yaml\njson\n:4\n/);
    assert.match(ask(''), /^inject\tadd sidecars[^\n]*\nuninject\t/);
    assert.match(ask('explain', '-f', ''), /^:0\n/);
  });
});
