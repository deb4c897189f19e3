import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildInfoJson, gitCommit, writeBuildInfo } from '../../scripts/build/info.ts';
import { type BuiltPackage, buildPackage } from '../../test/support/built-package.ts';
import { runCli } from '../../test/support/run-cli.ts';
import { COMMIT, VERSION } from '../version.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const pkgVersion = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();

describe('outrigger version (in process, from source)', () => {
  test('the version is package.json\'s; from source there is no stamp, so the commit is "unknown"', async () => {
    assert.equal(VERSION, pkgVersion);
    assert.equal(COMMIT, 'unknown');
    const r = await runCli(['version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `outrigger ${pkgVersion}\ncommit: unknown (running from source, or built outside a git checkout)\nnode: ${process.version}\n`);
  });

  test('-o json, --help, and a bad format named with exit 2', async () => {
    assert.deepEqual(JSON.parse((await runCli(['version', '-o', 'json'])).stdout), { version: pkgVersion, commit: 'unknown', node: process.version });
    assert.match((await runCli(['version', '--help'])).stdout, /^Usage: outrigger version/);
    const bad = await runCli(['version', '-o', 'yaml']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.split('\n')[0], 'error: --output: "yaml" must be text or json');
  });
});

describe('build stamp', () => {
  test('gitCommit is HEAD in a checkout and "unknown" outside one', () => {
    assert.equal(gitCommit(repo), head);
    const outside = mkdtempSync(join(tmpdir(), 'outrigger-nogit-'));
    try {
      // GIT_CEILING_DIRECTORIES is not needed: tmpdir() is not inside a checkout here, and the
      // assertion below fails loudly if it ever is.
      assert.equal(gitCommit(outside), 'unknown');
      assert.equal(readFileSync(writeBuildInfo(outside, 'unknown'), 'utf8'), buildInfoJson('unknown'));
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('outrigger version (the built binary)', () => {
  let pkg: BuiltPackage | undefined;
  before(() => {
    pkg = buildPackage();
  });
  after(() => pkg?.remove());

  test('dist/cli/main.js reports the version, the stamped commit and its Node', () => {
    const run = (args: string[]) => execFileSync(process.execPath, [(pkg as BuiltPackage).bin, ...args], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(run(['version', '--output', 'json'])), { version: pkgVersion, commit: head, node: process.version });
    assert.equal(run(['version']), `outrigger ${pkgVersion}\ncommit: ${head}\nnode: ${process.version}\n`);
  });
});
