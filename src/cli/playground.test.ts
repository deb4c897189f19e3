/**
 * `outrigger playground` as users run it: from a checkout (npm run outrigger) and from the built
 * package, a real process on loopback, stopped by SIGTERM and SIGINT.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BuiltPackage, buildPackage, REPO } from '../../test/support/built-package.ts';
import { runCli } from '../../test/support/run-cli.ts';
import { bundlePlayground, PLAYGROUND_FILES } from './playground-bundle.ts';
import { decodeFragment } from './playground-fragment.ts';

interface Running {
  child: ChildProcess;
  lines: string[];
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts the command; resolves once it has printed its two lines (the URL last). */
async function start(main: string, args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [main, 'playground', '--port', '0', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed in 60 s; stderr: ${err}`)), 60_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const l = out.split('\n');
      if (l.length > 2) {
        clearTimeout(timer);
        resolve(l.slice(0, 2));
      }
    });
    void exited.then((code) => reject(new Error(`exited ${code} before printing its URL: ${err}`)));
  });
  return { child, lines, stderr: () => err, exited };
}

async function fetchAll(url: string): Promise<Map<string, Uint8Array>> {
  const got = new Map<string, Uint8Array>();
  for (const name of PLAYGROUND_FILES) {
    const r = await fetch(new URL(name, url));
    assert.equal(r.status, 200, name);
    got.set(name, new Uint8Array(await r.arrayBuffer()));
  }
  return got;
}

const processes: ChildProcess[] = [];
after(() => {
  for (const p of processes) if (p.exitCode === null) p.kill('SIGKILL');
});

test('from source: serves the bundle, prints a loopback URL holding the given files and context, stops on SIGTERM', async () => {
  const r = await start(join(REPO, 'src/cli/main.ts'), [
    '--profiles',
    'examples/profiles',
    '-f',
    'examples/workloads/shop.yaml',
    '--kube-version',
    '1.28',
    '-n',
    'shop',
    '--namespace-label',
    'team=shop',
  ]);
  processes.push(r.child);
  const [banner = '', url = ''] = r.lines;
  assert.match(banner, /^Outrigger playground on http:\/\/127\.0\.0\.1:\d+\/ \(Ctrl-C stops it\)$/);
  const [base = '', fragment = ''] = url.split('#');
  assert.ok(banner.includes(base), `${url} is the address it listens on`);
  const state = decodeFragment(fragment);
  const example = (f: string) => readFileSync(join(REPO, 'examples', f), 'utf8');
  assert.deepEqual(state, {
    profiles: ['profiles/envoy.yaml', 'profiles/log-shipper.yaml', 'profiles/secrets-agent.yaml'].map(example).join('---\n'),
    workload: example('workloads/shop.yaml'),
    context: { kubeVersion: '1.28', namespace: 'shop', labels: 'team=shop\n', unknownProfiles: '' },
  });
  const served = await fetchAll(base);
  for (const f of await bundlePlayground()) assert.deepEqual(served.get(f.name), new Uint8Array(f.bytes), `${f.name} is the bundle of these sources`);
  r.child.kill('SIGTERM');
  assert.equal(await r.exited, 0);
  assert.match(r.stderr(), /playground stopped \(SIGTERM\)/);
});

describe('from the built package', () => {
  let pkg: BuiltPackage;
  before(() => {
    pkg = buildPackage();
  });
  after(() => pkg.remove());

  test('serves dist/playground as built, no fragment without files, stops on SIGINT', async () => {
    const r = await start(pkg.bin, []);
    processes.push(r.child);
    const url = r.lines[1] ?? '';
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const served = await fetchAll(url);
    for (const name of PLAYGROUND_FILES) assert.deepEqual(served.get(name), new Uint8Array(readFileSync(join(pkg.dir, 'dist/playground', name))), name);
    r.child.kill('SIGINT');
    assert.equal(await r.exited, 0);
    assert.match(r.stderr(), /playground stopped \(SIGINT\)/);
  });

  test('a package built without the page says so and exits 1', () => {
    rmSync(join(pkg.dir, 'dist/playground'), { recursive: true });
    const r = spawnSync(process.execPath, [pkg.bin, 'playground', '--port', '0'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^error: the playground's files are not in .*dist\/playground\/ .*; build them with npm run build\n$/);
    assert.equal(r.stdout, '');
  });
});

test('bad flags and unreadable inputs fail before anything listens, naming the flag or file', async () => {
  for (const [args, code, message] of [
    [['--port', 'http'], 2, /--port: "http" is not a port number/],
    [['--port', '70000'], 2, /--port: "70000"/],
    [['--kube-version', '2.1'], 2, /--kube-version/],
    [['--namespace-label', 'oops'], 2, /--namespace-label: "oops" must be KEY=VALUE/],
    [['--profiles', 'no/such/dir'], 3, /no\/such\/dir/],
    [['-f', 'no/such/file.yaml'], 3, /no\/such\/file\.yaml/],
  ] as const) {
    const r = await runCli(['playground', ...args]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '', 'no URL is printed');
  }
});
