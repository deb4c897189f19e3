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
      [...ok.stdout.matchAll(/metadata: \{ name: ([\w-]+) \}/g)].map((m) => m[1]),
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
