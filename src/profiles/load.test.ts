import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadProfiles, ProfileLoadError, readProfileSources } from './load.ts';
import { parseProfiles } from './parse.ts';

const header = 'apiVersion: outrigger.dev/v1alpha1\nkind: SidecarProfile\n';

function errorsOf(text: string): string[] {
  return parseProfiles(text, 'profiles/log.yaml').errors;
}

describe('profile validation names file, document and field', () => {
  test('a bad container name in the second document', () => {
    const text = `${header}metadata: {name: a}\nspec: {version: "1"}\n---\n${header}metadata: {name: b}\nspec:\n  version: "1"\n  containers:\n    - name: Log_Shipper\n      image: x\n`;
    assert.deepEqual(errorsOf(text), [
      'profiles/log.yaml, document 2: spec.containers[0].name: "Log_Shipper" must be a DNS-1123 label (lower case alphanumerics and "-", starting and ending with an alphanumeric)',
    ]);
  });

  test('every error is reported at once', () => {
    const text = `${header}metadata: {name: a}\nspec:\n  sidecarMode: sometimes\n  containers:\n    - name: x\n    - name: x\n      image: y\n  targets: ["App"]\n  unknwn: 1\n`;
    assert.deepEqual(errorsOf(text), [
      'profiles/log.yaml, document 1: spec.version: is required',
      'profiles/log.yaml, document 1: spec.sidecarMode: must be one of "auto", "native", "classic", not "sometimes"',
      'profiles/log.yaml, document 1: spec.containers[0].image: is required',
      // YAML 1.1, as kubectl reads it: an unquoted y is a boolean.
      'profiles/log.yaml, document 1: spec.containers[1].image: must be a string, not boolean (YAML reads unquoted y, n, yes, no, on, off, true and false as booleans: write the value in quotes if a string was meant)',
      'profiles/log.yaml, document 1: spec.containers[1].name: "x" is already used by spec.containers[0]',
      'profiles/log.yaml, document 1: spec.targets[0]: "App" must be a container name or a glob of lower case alphanumerics, "-", "*" and "?"',
      'profiles/log.yaml, document 1: spec.unknwn: unknown field; known fields are version, containers, initContainers, volumes, volumeMounts, env, envFrom, targets, initContainerTargets, metadata, imagePullSecrets, sidecarMode, selector, mandatory, order, conflictPolicy, failurePolicy, templateValues, overrides',
    ]);
  });

  test('globs are capped in length and count, as the CRD caps them', () => {
    const long = '*'.repeat(64);
    const many = JSON.stringify(Array.from({ length: 65 }, () => 'a*'));
    const text = `${header}metadata: {name: a}\nspec:\n  version: "1"\n  targets: ["${long}"]\n  initContainerTargets: ${many}\n`;
    assert.deepEqual(errorsOf(text), [
      'profiles/log.yaml, document 1: spec.targets[0]: "****************************************************************" must be no more than 63 characters',
      'profiles/log.yaml, document 1: spec.initContainerTargets: must have no more than 64 items, not 65',
    ]);
  });

  test('unknown template variables and templated names are load errors', () => {
    const text = `${header}metadata: {name: a}\nspec:\n  version: "1"\n  containers:\n    - name: "{{ pod.name }}"\n      image: "x:{{ pod.nmae }}"\n`;
    const errors = errorsOf(text);
    assert.equal(errors[0], 'profiles/log.yaml, document 1: spec.containers[0].name: is a name: templates are not allowed here');
    assert.match(errors[1] ?? '', /spec\.containers\[0\]\.image: \{\{ pod\.nmae \}\}: unknown variable "pod\.nmae"; known variables are pod\.name/);
  });

  test('the reserved annotation prefix and a sidecar named like an init container', () => {
    const text = `${header}metadata: {name: a}\nspec:\n  version: "1"\n  initContainers: [{name: x, image: i}]\n  containers: [{name: x, image: i}]\n  metadata: {annotations: {"outrigger.dev/status": "{}"}}\n`;
    assert.deepEqual(errorsOf(text), [
      'profiles/log.yaml, document 1: spec.containers[0].name: "x" is already used by spec.initContainers[0]',
      'profiles/log.yaml, document 1: spec.metadata.annotations["outrigger.dev/status"]: the outrigger.dev/ prefix is reserved for Outrigger itself',
    ]);
  });

  test('ports are keyed by number and protocol: 53/UDP beside 53/TCP is fine, a port twice with one protocol is not', () => {
    const dns = (ports: string) =>
      `${header}metadata: {name: a}\nspec:\n  version: "1"\n  containers:\n    - name: dns\n      image: d\n      ports: ${ports}\n`;
    assert.deepEqual(errorsOf(dns('[{containerPort: 53, protocol: UDP}, {containerPort: 53, protocol: TCP}]')), []);
    // An unset protocol is TCP, as the API server defaults it.
    assert.deepEqual(errorsOf(dns('[{containerPort: 53, protocol: UDP}, {containerPort: 53}, {containerPort: 53, protocol: TCP}]')), [
      'profiles/log.yaml, document 1: spec.containers[0].ports[2].containerPort: 53 with protocol TCP is already used by spec.containers[0].ports[1]',
    ]);
  });

  test('an empty selector is refused with what to write instead; an empty podSelector selects every pod', () => {
    const withSelector = (sel: string) => `${header}metadata: {name: a}\nspec: {version: "1", selector: ${sel}}\n`;
    assert.deepEqual(errorsOf(withSelector('{}')), [
      'profiles/log.yaml, document 1: spec.selector: is empty, which selects no pod: write podSelector: {} to inject into every pod the profile may serve, namespaceSelector or podSelector with labels to choose them, or leave selector out to inject only into pods that ask for the profile',
    ]);
    assert.deepEqual(errorsOf(withSelector('{podSelector: {}}')), []);
    assert.deepEqual(errorsOf(withSelector('{namespaceSelector: {matchLabels: {team: a}}}')), []);
  });

  test('a number where a string belongs says to quote it, as YAML 1.1 reads 1.0 as a number', () => {
    assert.deepEqual(errorsOf(`${header}metadata: {name: a}\nspec: {version: 1.0}\n`), [
      'profiles/log.yaml, document 1: spec.version: must be a string, not integer (YAML reads unquoted values such as 1.0, 1e3 and 0644 as numbers: write the value in quotes, as in "1.0", if a string was meant)',
    ]);
  });

  test('YAML syntax errors name the line; duplicate keys name the key and the line', () => {
    assert.deepEqual(errorsOf(`${header}metadata: {name: a}\nmetadata: {name: b}\n`), [
      'profiles/log.yaml, document 1 (line 4): key "metadata" is set twice in one mapping',
    ]);
    assert.deepEqual(errorsOf(`${header}metadata: {name: a, name: b}\n`), ['profiles/log.yaml, document 1 (line 3): key "name" is set twice in one mapping']);
    assert.deepEqual(errorsOf(`${header}metadata:\n  labels:\n    "a b": x\n    'it''s': y\n    'it''s': z\n`), [
      'profiles/log.yaml, document 1 (line 7): key "it\'s" is set twice in one mapping',
    ]);
    assert.match(errorsOf('a: [1, 2\n')[0] ?? '', /^profiles\/log\.yaml, document 1 \(line \d\):/);
  });

  test('a List of profiles (kubectl get -o yaml) is unpacked', () => {
    const text = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [{ apiVersion: 'outrigger.dev/v1alpha1', kind: 'SidecarProfile', metadata: { name: 'a' }, spec: { version: '1' } }],
    });
    const r = parseProfiles(text, 'l.json');
    assert.deepEqual(r.errors, []);
    assert.equal(r.profiles[0]?.source, 'l.json, document 1, item 0');
  });

  test('the hash ignores field order and changes with content', () => {
    const a = parseProfiles(`${header}metadata: {name: a}\nspec: {version: "1", order: 2}\n`, 'x').profiles[0];
    const b = parseProfiles(`${header}metadata: {name: a}\nspec: {order: 2, version: "1"}\n`, 'x').profiles[0];
    const c = parseProfiles(`${header}metadata: {name: a}\nspec: {order: 3, version: "1"}\n`, 'x').profiles[0];
    assert.equal(a?.hash, b?.hash);
    assert.notEqual(a?.hash, c?.hash);
  });
});

describe('loading from files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outrigger-profiles-'));
  after(() => rm(dir, { recursive: true, force: true }));

  test('a directory: yaml, yml and json files, dot entries skipped (ConfigMap volume layout)', async () => {
    const d = join(dir, 'cm');
    await mkdir(join(d, '..2026_11_27'), { recursive: true });
    await writeFile(join(d, '..2026_11_27', 'a.yaml'), `${header}metadata: {name: a}\nspec: {version: "1"}\n`);
    await symlink('..2026_11_27', join(d, '..data'));
    await symlink('..data/a.yaml', join(d, 'a.yaml'));
    await writeFile(
      join(d, 'b.json'),
      JSON.stringify({ apiVersion: 'outrigger.dev/v1alpha1', kind: 'SidecarProfile', metadata: { name: 'b' }, spec: { version: '2' } }),
    );
    await writeFile(join(d, 'notes.txt'), 'ignored');
    const set = await loadProfiles([d]);
    assert.deepEqual(
      set.profiles.map((p) => `${p.name}@${p.version}`),
      ['a@1', 'b@2'],
    );
  });

  test('duplicates across files and missing paths are errors, and no set is returned', async () => {
    const d = join(dir, 'dup');
    await mkdir(d);
    await writeFile(join(d, 'one.yaml'), `${header}metadata: {name: a}\nspec: {version: "1"}\n`);
    await writeFile(join(d, 'two.yaml'), `${header}metadata: {name: a}\nspec: {version: "2"}\n`);
    await assert.rejects(loadProfiles([d, join(dir, 'missing')]), (e: unknown) => {
      assert.ok(e instanceof ProfileLoadError);
      assert.deepEqual(e.errors, [
        `${join(dir, 'missing')}: no such file or directory`,
        `${join(d, 'two.yaml')}, document 1: metadata.name: profile "a" is already defined in ${join(d, 'one.yaml')}, document 1`,
      ]);
      return true;
    });
  });
});

test('defaults written out give the same hash as defaults left out (profiles read back from the API server)', () => {
  const bare = parseProfiles(`${header}metadata: {name: a}\nspec: {version: "1"}\n`, 'x').profiles[0];
  const defaulted = parseProfiles(
    `${header}metadata: {name: a, namespace: ns}\nspec: {version: "1", sidecarMode: auto, mandatory: false, order: 0, conflictPolicy: fail, failurePolicy: fail, targets: ["*"], overrides: {imageTag: false, resources: false}}\n`,
    'y',
  ).profiles[0];
  assert.equal(bare?.hash, defaulted?.hash);
});

test('profile files together are bounded: past the limit the rest is not read, and the load fails naming the file', async () => {
  const d = await mkdtemp(join(tmpdir(), 'outrigger-load-bound-'));
  try {
    for (const n of ['a', 'b', 'c']) await writeFile(join(d, `${n}.yaml`), `# ${'x'.repeat(600)}\n`);
    const sources = await readProfileSources([d], 1000);
    assert.equal(sources.files.length, 2);
    assert.deepEqual(sources.errors, [{ path: d, error: `${join(d, 'c.yaml')}: not read, the profile files before it already hold more than 1000 bytes` }]);
  } finally {
    await rm(d, { recursive: true, force: true });
  }
});
