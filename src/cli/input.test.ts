import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli } from '../../test/support/run-cli.ts';

const pod = (name: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec: {containers: [{name: app, image: a}]}\n`;
const profile = (name: string) => `apiVersion: outrigger.dev/v1alpha1\nkind: SidecarProfile\nmetadata: {name: ${name}}\nspec: {version: "1"}\n`;

describe('-f and --profiles directories stay inside themselves', async () => {
  const base = await mkdtemp(join(tmpdir(), 'outrigger-input-'));
  after(() => rm(base, { recursive: true, force: true }));
  // A file outside every directory below, standing for ~/.kube/config.
  const secret = join(base, 'kubeconfig');
  await writeFile(secret, 'apiVersion: v1\nkind: Config\nusers: [{name: admin, user: {token: s3cr3t}}]\n');

  const dir = async (name: string, files: Record<string, string>, links: Record<string, string> = {}) => {
    const d = join(base, name);
    await mkdir(d, { recursive: true });
    for (const [f, text] of Object.entries(files)) {
      await mkdir(join(d, f, '..'), { recursive: true });
      await writeFile(join(d, f), text);
    }
    for (const [l, target] of Object.entries(links)) await symlink(target, join(d, l));
    return d;
  };

  test('a link leading out of a -f directory is refused, and nothing is printed', async () => {
    const d = await dir('planted', { 'app.yaml': pod('a') }, { 'config.yaml': secret });
    const r = await runCli(['uninject', '-f', d]);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, '');
    assert.doesNotMatch(r.stderr, /s3cr3t/);
    assert.equal(
      r.stderr,
      `error: ${join(d, 'config.yaml')}: a symbolic link leading out of the directory; links inside a directory are followed only when they stay inside it (name the target itself to read it)\n`,
    );
  });

  test('a link named on the command line is followed, as kubectl does', async () => {
    const d = await dir('named', {}, { 'link.yaml': join(base, 'planted', 'app.yaml') });
    const r = await runCli(['uninject', '-f', join(d, 'link.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /name: a/);
  });

  test('links within the directory are followed (a ConfigMap volume), loops are refused', async () => {
    const d = await dir('cm', { '..2026_12_02/a.yaml': pod('from-cm'), 'sub/b.yaml': pod('b') }, { '..data': '..2026_12_02', 'a.yaml': '..data/a.yaml' });
    const ok = await runCli(['uninject', '-R', '-f', d]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(
      [...ok.stdout.matchAll(/metadata: \{ ?name: ([\w-]+) ?\}/g)].map((m) => m[1]),
      ['from-cm', 'b'],
    );

    await symlink('..', join(d, 'sub', 'up'));
    const loop = await runCli(['uninject', '-R', '-f', d]);
    assert.equal(loop.code, 3);
    assert.equal(loop.stdout, '');
    assert.equal(loop.stderr, `error: ${join(d, 'sub', 'up')}: a link back to the directory itself, which is already being read (a directory loop)\n`);
    // Without -R, subdirectories (and so the loop) are not read.
    assert.equal((await runCli(['uninject', '-f', d])).code, 0);
  });

  test('a link to a missing file says so', async () => {
    const d = await dir('broken', {}, { 'gone.yaml': join(base, 'nope.yaml') });
    const r = await runCli(['uninject', '-f', d]);
    assert.equal(r.code, 3);
    assert.equal(r.stderr, `error: ${join(d, 'gone.yaml')}: a symbolic link to a file that does not exist\n`);
  });

  test('--profiles directories follow the same rule', async () => {
    const d = await dir('profiles', { 'a.yaml': profile('a') }, { 'z.yaml': secret });
    const r = await runCli(['validate', '--profiles', d]);
    assert.equal(r.code, 3);
    assert.doesNotMatch(r.stderr, /s3cr3t/);
    assert.match(r.stderr, new RegExp(`${join(d, 'z.yaml').replaceAll('/', '\\/')}: a symbolic link leading out of the directory`));
  });
});

describe('--continue-on-error and empty inputs', async () => {
  const base = await mkdtemp(join(tmpdir(), 'outrigger-input-'));
  after(() => rm(base, { recursive: true, force: true }));
  const bad = 'kind: [\n';
  const write = async (files: Record<string, string>) => {
    for (const [f, text] of Object.entries(files)) {
      await mkdir(join(base, f, '..'), { recursive: true });
      await writeFile(join(base, f), text);
    }
  };
  await write({ 'mixed/a.yaml': pod('a'), 'mixed/b.yaml': bad, 'mixed/c.yaml': pod('c'), 'mixed/d.yaml': `${pod('d')}---\n${bad}` });
  await write({ 'empty.yaml': '', 'comments.yaml': '# nothing here\n---\n---\n', 'none/README.md': '# not a manifest\n' });
  await write({ 'blank/a.yaml': '', 'blank/b.yml': '# only a comment\n' });
  const mixed = join(base, 'mixed');
  const badB = `error: ${join(mixed, 'b.yaml')}, document 1 (line 2): `;
  const badD = `error: ${join(mixed, 'd.yaml')}, document 2 (line 7): `;
  const names = (stdout: string) => [...stdout.matchAll(/metadata: \{ ?name: (\w+) ?\}/g)].map((m) => m[1]);

  test('without the flag the first bad file stops the run, and nothing is printed', async () => {
    for (const cmd of [['uninject'], ['inject', '--profiles', 'examples/profiles'], ['explain', '--profiles', 'examples/profiles']]) {
      const r = await runCli([...cmd, '-f', mixed]);
      assert.equal(r.code, 3, cmd[0]);
      assert.equal(r.stdout, '', cmd[0]);
      assert.equal(r.stderr.split('\n').length, 2, cmd[0]);
      assert.ok(r.stderr.startsWith(badB), r.stderr);
    }
  });

  test('with it every bad file is reported, the others are printed, and the exit code is 3', async () => {
    for (const cmd of [['uninject'], ['inject', '--profiles', 'examples/profiles']]) {
      const r = await runCli([...cmd, '-f', mixed, '--continue-on-error']);
      assert.equal(r.code, 3, cmd[0]);
      // d.yaml's first document is good, but a file with a bad document is left out whole.
      assert.deepEqual(names(r.stdout), ['a', 'c'], cmd[0]);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 2, r.stderr);
      assert.ok(lines[0]?.startsWith(badB), r.stderr);
      assert.ok(lines[1]?.startsWith(badD), r.stderr);
    }
    const ex = await runCli(['explain', '-f', mixed, '-f', join(base, 'empty.yaml'), '--continue-on-error', '--profiles', 'examples/profiles', '-o', 'json']);
    assert.equal(ex.code, 3);
    assert.deepEqual(
      JSON.parse(ex.stdout).workloads.map((w: { workload: string }) => w.workload),
      ['Pod a', 'Pod c'],
    );
    assert.match(ex.stderr, new RegExp(`\\n?error: ${join(base, 'empty.yaml')}: no objects in the file`));
  });

  test('with it and only good files, the run is as without it', async () => {
    const r = await runCli(['uninject', '-f', join(mixed, 'a.yaml'), '-f', join(mixed, 'c.yaml'), '--continue-on-error']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(names(r.stdout), ['a', 'c']);
  });

  test('an empty file, empty stdin, a directory of none or of empty files: named, exit 3, nothing printed', async () => {
    const cases: [string[], string, string][] = [
      [['-f', join(base, 'empty.yaml')], '', `${join(base, 'empty.yaml')}: no objects in the file (it is empty, or holds only comments and ---)`],
      [['-f', join(base, 'comments.yaml')], '', `${join(base, 'comments.yaml')}: no objects in the file (it is empty, or holds only comments and ---)`],
      [['-f', '-'], '', '(stdin): no objects in the input (it is empty, or holds only comments and ---)'],
      [['-f', '-'], '# just a comment\n---\n', '(stdin): no objects in the input (it is empty, or holds only comments and ---)'],
      [
        ['-f', join(base, 'none')],
        '',
        `${join(base, 'none')}: no manifests in the directory (no *.yaml, *.yml or *.json files; -R descends into subdirectories)`,
      ],
      [['-f', join(base, 'blank')], '', `${join(base, 'blank')}: no objects in the directory (its 2 manifest files are empty, or hold only comments and ---)`],
      // One empty -f among good ones is still named: it was given, so something was expected of it.
      [
        ['-f', join(mixed, 'a.yaml'), '-f', join(base, 'empty.yaml')],
        '',
        `${join(base, 'empty.yaml')}: no objects in the file (it is empty, or holds only comments and ---)`,
      ],
    ];
    for (const [args, stdin, message] of cases) {
      for (const cmd of [['uninject'], ['inject', '--profiles', 'examples/profiles'], ['explain', '--profiles', 'examples/profiles']]) {
        const r = await runCli([...cmd, ...args], stdin);
        assert.equal(r.code, 3, `${cmd[0]} ${args.join(' ')}`);
        assert.equal(r.stdout, '', `${cmd[0]} ${args.join(' ')}`);
        assert.equal(r.stderr, `error: ${message}\n`, `${cmd[0]} ${args.join(' ')}`);
      }
    }
  });

  test('an empty file inside a directory that has objects is not an error', async () => {
    await write({ 'some/a.yaml': pod('a'), 'some/b.yaml': '' });
    const r = await runCli(['uninject', '-f', join(base, 'some')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(names(r.stdout), ['a']);
  });

  test('validate warns of a --profiles path with no profiles; --require-profiles makes it an error', async () => {
    const empty = join(base, 'empty.yaml');
    const none = join(base, 'none');
    const w = await runCli(['validate', '--profiles', empty, '--profiles', none, '--profiles', 'examples/profiles']);
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stdout, /3 profiles valid\n$/);
    assert.equal(w.stderr, `warning: no SidecarProfiles found in ${empty}\nwarning: no SidecarProfiles found in ${none}\n`);
    const ok = await runCli(['validate', '--profiles', 'examples/profiles', '--require-profiles']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stderr, '');
    for (const path of [empty, none, join(base, 'blank')]) {
      const r = await runCli(['validate', '--profiles', path, '--require-profiles']);
      assert.equal(r.code, 3, path);
      assert.equal(r.stdout, '0 profiles valid\n');
      assert.equal(r.stderr, `error: no SidecarProfiles found in ${path}\n`);
    }
  });
});
