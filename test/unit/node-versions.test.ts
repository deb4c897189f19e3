/**
 * The published CLI on the Nodes people have: it runs on the pinned Node 24 and on Node 26 (the
 * current LTS) with the same output, and an older Node gets a refusal naming the Node it needs and
 * a non-zero exit, never silence and exit 0 (`outrigger validate` in CI must not pass by doing nothing).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MIN_NODE_MAJOR, nodeRefusal } from '../../src/cli/node-support.ts';
import { type BuiltPackage, buildPackage, REPO } from '../support/built-package.ts';
import { CI } from '../support/debian-tools.ts';
import { NODE_RELEASES, nodeBinary } from '../support/node-binaries.ts';
import { runCli } from '../support/run-cli.ts';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string }; bin: Record<string, string> };
const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { engines?: { node: string } }> };
const golden = join(REPO, 'test/golden/every-workload-kind/input.yaml');
const profiles = join(REPO, 'examples/profiles');

describe('which Node the CLI accepts', () => {
  test('package.json and its lock file say the same minimum as the executable checks', () => {
    assert.equal(pkg.engines.node, `>=${MIN_NODE_MAJOR}`);
    assert.equal(lock.packages['']?.engines?.node, `>=${MIN_NODE_MAJOR}`);
    assert.equal(pkg.bin.outrigger, 'dist/cli/main.js');
  });

  test('every Node from the minimum on is accepted; older ones are refused by name', () => {
    for (const v of ['24.0.0', '24.21.0', '26.12.1', '27.0.0-pre', '100.1.2']) assert.equal(nodeRefusal(v), undefined, v);
    for (const v of ['23.11.1', '22.23.5', '20.20.2', '18.0.0', '8.17.0']) {
      assert.equal(
        nodeRefusal(v),
        `outrigger needs Node.js 24 or newer; this is Node.js ${v}. Install Node.js 24 or later (any current LTS) and run it again.\n`,
      );
    }
    assert.match(nodeRefusal('') ?? '', /needs Node\.js 24 or newer; this is Node\.js \./);
  });
});

const skip = process.platform === 'linux' && process.arch === 'x64' ? false : 'npm publishes these Node binaries for linux-x64 only';
if (skip && CI) throw new Error(`${skip} (CI=true: not skipping)`);

describe('the built CLI on each Node', { skip }, () => {
  let built: BuiltPackage | undefined;
  const nodes: Record<string, string> = {};
  before(() => {
    built = buildPackage();
    nodes.pinned = process.execPath;
    nodes.lts = nodeBinary(NODE_RELEASES.lts) as string;
    nodes.tooOld = nodeBinary(NODE_RELEASES.tooOld) as string;
  });
  after(() => built?.remove());
  const run = (node: string, args: string[]) => spawnSync(node, [(built as BuiltPackage).bin, ...args], { encoding: 'utf8' });

  test('Node 24 and Node 26 inject, validate and print the version exactly as the CLI does in process', async () => {
    const want = await runCli(['inject', '-f', golden, '--profiles', profiles]);
    assert.equal(want.code, 0);
    for (const which of ['pinned', 'lts'] as const) {
      const node = nodes[which] as string;
      const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
      assert.match(version, which === 'lts' ? /^v26\./ : /^v24\./);
      const inject = run(node, ['inject', '-f', golden, '--profiles', profiles]);
      assert.equal(inject.stderr, want.stderr, which);
      assert.equal(inject.status, 0, which);
      assert.equal(inject.stdout, want.stdout, which);
      const validate = run(node, ['validate', '--profiles', profiles]);
      assert.equal(validate.status, 0, `${which}: ${validate.stderr}`);
      assert.match(run(node, ['version']).stdout, new RegExp(`\\nnode: ${version.replaceAll('.', '\\.')}\\n$`));
    }
  });

  test('an older Node is refused with a message naming Node 24, exit 1 and nothing on stdout', () => {
    const tooOld = nodes.tooOld as string;
    const version = spawnSync(tooOld, ['--version'], { encoding: 'utf8' }).stdout.trim();
    assert.match(version, /^v22\./);
    for (const args of [['version'], ['validate', '--profiles', profiles], ['inject', '-f', golden, '--profiles', profiles], []]) {
      const r = run(tooOld, args);
      assert.deepEqual(
        { status: r.status, stdout: r.stdout, stderr: r.stderr },
        { status: 1, stdout: '', stderr: nodeRefusal(version.slice(1)) },
        args.join(' '),
      );
    }
  });
});
