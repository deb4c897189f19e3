import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { profileYaml } from '../../test/support/profiles.ts';
import { runCli } from '../../test/support/run-cli.ts';

const side = { version: '1', containers: [{ name: 'side', image: 'example.com/side:1' }] };

describe('outrigger policy', () => {
  let dir: string;
  const path = (f: string) => join(dir, f);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'outrigger-policy-cli-'));
    writeFileSync(path('ok.yaml'), profileYaml('ok', side));
    writeFileSync(path('templated.yaml'), profileYaml('templated', { ...side, env: [{ name: 'N', value: '{{ pod.name }}' }] }));
    writeFileSync(path('empty.yaml'), '# nothing\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--help says what it compiles, what it refuses and its exit codes; the command is listed', async () => {
    const r = await runCli(['policy', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: outrigger policy --profiles PATH/);
    assert.match(r.stdout, /MutatingAdmissionPolicy/);
    assert.match(r.stdout, /--skip-refused/);
    assert.match(r.stdout, /Exit codes: 0 printed, 2 usage error/);
    assert.match((await runCli(['--help'])).stdout, /\n {2}policy {5}compile profiles to admission policies/);
  });

  test("prints the four objects of a profile and the set's two as YAML, or as a v1 List with -o json", async () => {
    const y = await runCli(['policy', '--profiles', path('ok.yaml')]);
    assert.equal(y.code, 0, y.stderr);
    assert.equal(y.stderr, '');
    const kinds = parseAllDocuments(y.stdout).map((d) => (d.toJS() as { kind: string }).kind);
    assert.deepEqual(kinds, [
      'MutatingAdmissionPolicy',
      'MutatingAdmissionPolicyBinding',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
    ]);
    const j = await runCli(['policy', '--profiles', path('ok.yaml'), '-o', 'json', '--kube-version', 'v1.37.2']);
    assert.equal(j.code, 0, j.stderr);
    const list = JSON.parse(j.stdout) as { kind: string; items: { kind: string }[] };
    assert.equal(list.kind, 'List');
    assert.deepEqual(
      list.items.map((o) => o.kind),
      kinds,
    );
  });

  test('a refused profile: exit 4, the reason on stderr, nothing on stdout', async () => {
    const r = await runCli(['policy', '--profiles', dir]);
    assert.equal(r.code, 4);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /^error: profile "templated" \(.*templated\.yaml, document 1\) cannot be compiled to a policy: spec\.env\[0\]\.value: the API server names a generateName pod/m,
    );
  });

  test('--skip-refused prints the rest and warns of the refused; with nothing left it still fails', async () => {
    const r = await runCli(['policy', '--profiles', dir, '--skip-refused']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^warning: profile "templated" .* cannot be compiled to a policy: spec\.env\[0\]\.value/m);
    assert.match(r.stdout, /name: outrigger-ok\n/);
    assert.doesNotMatch(r.stdout, /templated/);
    const none = await runCli(['policy', '--profiles', path('templated.yaml'), '--skip-refused']);
    assert.equal(none.code, 4);
    assert.equal(none.stdout, '');
  });

  test('usage errors: no --profiles, a bad -o, a version before 1.36', async () => {
    assert.equal((await runCli(['policy'])).stderr.split('\n')[0], 'error: --profiles is required');
    assert.equal((await runCli(['policy', '--profiles', dir, '-o', 'table'])).code, 2);
    const old = await runCli(['policy', '--profiles', path('ok.yaml'), '--kube-version', '1.35']);
    assert.equal(old.code, 2);
    assert.match(
      old.stderr,
      /^error: --kube-version: Kubernetes 1\.35 has no admissionregistration\.k8s\.io\/v1 MutatingAdmissionPolicy \(generally available from 1\.36\)/,
    );
    assert.equal(old.stdout, '');
  });

  test('invalid profiles are exit 3; a path without profiles is a warning and prints nothing', async () => {
    writeFileSync(path('bad.yaml'), profileYaml('bad', { version: '1', containers: [{ name: 'x' }] }));
    try {
      const r = await runCli(['policy', '--profiles', path('bad.yaml')]);
      assert.equal(r.code, 3);
      assert.match(r.stderr, /bad\.yaml/);
    } finally {
      rmSync(path('bad.yaml'));
    }
    const e = await runCli(['policy', '--profiles', path('empty.yaml')]);
    assert.equal(e.code, 0);
    assert.equal(e.stdout, '');
    assert.match(e.stderr, /warning: no SidecarProfiles found in .*empty\.yaml/);
  });
});
