import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '../../test/support/run-cli.ts';

const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {outrigger.dev/inject: envoy}}\nspec: {containers: [{name: app, image: a}]}\n';

describe('outrigger CLI', () => {
  test('no command prints usage and exits 2; --help exits 0', async () => {
    assert.equal((await runCli([])).code, 2);
    const h = await runCli(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /inject {5}add sidecars/);
  });

  test('every command has --help', async () => {
    for (const c of ['inject', 'uninject', 'explain', 'validate']) {
      const r = await runCli([c, '--help']);
      assert.equal(r.code, 0, c);
      assert.match(r.stdout, new RegExp(`^Usage: outrigger ${c}`));
      assert.match(r.stdout, /Exit codes:/);
    }
  });

  test('usage errors name the flag and exit 2', async () => {
    const r = await runCli(['inject', '-f', '-', '--profiles', 'examples/profiles', '--kube-version', 'latest']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'error: --kube-version: "latest" is not a version such as 1.33\nRun with --help for usage.\n');
    assert.equal((await runCli(['inject', '--profiles', 'examples/profiles'])).stderr.split('\n')[0], 'error: -f/--filename is required (use - for stdin)');
    assert.match((await runCli(['inject', '--bogus'])).stderr, /Unknown option '--bogus'/);
    assert.equal((await runCli(['frobnicate'])).code, 2);
  });

  test('reads stdin, writes YAML, and uninject gives the input back', async () => {
    const r = await runCli(['inject', '-f', '-', '--profiles', 'examples/profiles'], pod);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /restartPolicy: Always/);
    const back = await runCli(['uninject', '-f', '-'], r.stdout);
    assert.equal(
      back.stdout,
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    outrigger.dev/inject: envoy\nspec:\n  containers:\n    - name: app\n      image: a\n',
    );
  });

  test('an unparseable input names the document and line, exits 3, and prints nothing', async () => {
    const r = await runCli(['inject', '-f', '-', '--profiles', 'examples/profiles'], `${pod}---\nkind: [\n`);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: \(stdin\), document 2 \(line \d+\): /);
  });

  test('invalid profiles: validate lists every error and exits 3', async () => {
    const r = await runCli(['validate', '--profiles', 'test/golden/conflict-denied/input.yaml']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /document 1: apiVersion: must be one of "outrigger\.dev\/v1alpha1", not "apps\/v1"/);
    const ok = await runCli(['validate', '--profiles', 'examples/profiles']);
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /3 profiles valid/);
  });

  test('explain -o json gives the decision per workload', async () => {
    const r = await runCli(['explain', '-f', '-', '--profiles', 'examples/profiles', '-o', 'json'], pod);
    assert.equal(r.code, 0);
    const out = JSON.parse(r.stdout);
    assert.equal(out.workloads[0].workload, 'Pod p');
    assert.equal(out.workloads[0].outcome, 'injected');
    assert.deepEqual(
      out.workloads[0].profiles.map((p: { profile: string; reason: string }) => [p.profile, p.reason]),
      [['envoy', 'injected']],
    );
    assert.ok(out.workloads[0].patch.length > 0);
  });

  test('versions, namespaces, labels and images given on the command line are checked and named', async () => {
    const inject = ['inject', '-f', '-', '--profiles', 'examples/profiles'];
    const refused: [string[], string][] = [
      [[...inject, '--kube-version', '2.0'], 'error: --kube-version: "2.0": Kubernetes has only major version 1 (a version such as 1.33)'],
      [[...inject, '--kube-version', '0.9'], 'error: --kube-version: "0.9": Kubernetes has only major version 1 (a version such as 1.33)'],
      [
        [...inject, '-n', 'Bad NS'],
        'error: -n/--namespace: "Bad NS" is not a namespace name: it must be a DNS-1123 label (lower case alphanumerics and "-", starting and ending with an alphanumeric)',
      ],
      [[...inject, '-n', 'x'.repeat(64)], `error: -n/--namespace: "${'x'.repeat(64)}" is not a namespace name: it must be no more than 63 characters`],
      [
        [...inject, '--namespace-label', 'team=a b'],
        'error: --namespace-label: "team=a b": the label value must be empty or consist of alphanumerics, "-", "_" or ".", starting and ending with an alphanumeric',
      ],
      [[...inject, '--namespace-label', '/x=y'], 'error: --namespace-label: "/x=y": the label key prefix must not be empty'],
      [['manifests', '--image', ''], 'error: --image: "" must not be empty'],
      [
        ['manifests', '--image', 'Registry/App:1'],
        'error: --image: "Registry/App:1" must be an image reference such as registry.example.com/team/app:1.2 (lower-case repository, optional :tag and @digest)',
      ],
      [
        ['manifests', '-n', 'Bad'],
        'error: -n/--namespace: "Bad" is not a namespace name: it must be a DNS-1123 label (lower case alphanumerics and "-", starting and ending with an alphanumeric)',
      ],
      [
        ['status', '--controller-namespace', 'a_b'],
        'error: --controller-namespace: "a_b" is not a namespace name: it must be a DNS-1123 label (lower case alphanumerics and "-", starting and ending with an alphanumeric)',
      ],
      [['status', '--kube-version', '2.1'], 'error: --kube-version: "2.1": Kubernetes has only major version 1 (a version such as 1.33)'],
    ];
    for (const [args, message] of refused) {
      const r = await runCli(args, pod);
      assert.deepEqual({ code: r.code, first: r.stderr.split('\n')[0], stdout: r.stdout }, { code: 2, first: message, stdout: '' }, args.join(' '));
    }
    const fine = await runCli(
      [...inject, '--kube-version', 'v1.36.2', '-n', 'team-a', '--namespace-label', 'example.com/team=a.b_c', '--namespace-label', 'empty='],
      pod,
    );
    assert.equal(fine.code, 0, fine.stderr);
    const image = await runCli(['manifests', '--image', `registry.example.com:5000/team/outrigger:1.2@sha256:${'ab'.repeat(32)}`]);
    assert.equal(image.code, 0, image.stderr);
    assert.match(image.stdout, /image: registry\.example\.com:5000\/team\/outrigger:1\.2@sha256:(ab){32}/);
  });

  test('-o json: inject and uninject print one object, or a List of several; validate and manifests print JSON too', async () => {
    const inject = ['inject', '-f', '-', '--profiles', 'examples/profiles', '-o', 'json'];
    const one = JSON.parse((await runCli(inject, pod)).stdout);
    assert.equal(one.kind, 'Pod');
    assert.ok(
      one.spec.initContainers.some((c: { name: string }) => c.name === 'envoy') || one.spec.containers.some((c: { name: string }) => c.name === 'envoy'),
    );
    const two = JSON.parse((await runCli(inject, `${pod}---\n${pod.replace('name: p,', 'name: q,')}`)).stdout);
    assert.deepEqual([two.apiVersion, two.kind, two.items.map((i: { metadata: { name: string } }) => i.metadata.name)], ['v1', 'List', ['p', 'q']]);
    const back = JSON.parse((await runCli(['uninject', '-f', '-', '-o', 'json'], JSON.stringify(one))).stdout);
    assert.deepEqual(back.spec, { containers: [{ name: 'app', image: 'a' }] });
    const profiles = JSON.parse((await runCli(['validate', '--profiles', 'examples/profiles', '-o', 'json'])).stdout);
    assert.deepEqual(
      profiles.profiles.map((p: { name: string }) => p.name),
      ['envoy', 'log-shipper', 'secrets-agent'],
    );
    assert.deepEqual(profiles.pathsWithoutProfiles, []);
    const bundle = JSON.parse((await runCli(['manifests', '-o', 'json'])).stdout);
    assert.equal(bundle.kind, 'List');
    assert.ok(bundle.items.some((o: { kind: string }) => o.kind === 'MutatingWebhookConfiguration'));
    for (const [args, formats] of [
      [inject.slice(0, -1), 'yaml or json'],
      [['uninject', '-f', '-', '-o'], 'yaml or json'],
      [['validate', '--profiles', 'examples/profiles', '-o'], 'text or json'],
      [['manifests', '-o'], 'yaml or json'],
    ] as const) {
      const r = await runCli([...args, 'xml'], pod);
      assert.deepEqual([r.code, r.stderr.split('\n')[0]], [2, `error: --output: "xml" must be ${formats}`], args.join(' '));
    }
  });

  test('a reader that stops early ends the CLI quietly with the SIGPIPE status, not a stack trace', () => {
    // Far more than a pipe buffer of output, so the CLI is still writing when `head` goes away.
    const dir = mkdtempSync(join(tmpdir(), 'outrigger-epipe-'));
    try {
      const input = join(dir, 'pods.yaml');
      writeFileSync(input, Array.from({ length: 400 }, (_, i) => pod.replace('name: p,', `name: p${i},`)).join('---\n'));
      const cli = `${JSON.stringify(process.execPath)} src/cli/main.ts inject -f ${JSON.stringify(input)} --profiles examples/profiles`;
      const r = spawnSync('bash', ['-c', `set -o pipefail; ${cli} | head -c 1 >/dev/null`], { encoding: 'utf8' });
      assert.deepEqual({ status: r.status, stderr: r.stderr }, { status: 141, stderr: '' });
      const whole = spawnSync('bash', ['-c', `set -o pipefail; ${cli} | wc -c`], { encoding: 'utf8' });
      assert.equal(whole.status, 0);
      assert.ok(Number(whole.stdout) > 1 << 17, whole.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
