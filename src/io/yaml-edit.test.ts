/** Changed documents keep the comments of what did not change; anything not safely edited is left to toYaml. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../../test/support/run-cli.ts';
import { writeStream } from '../cli/output.ts';
import type { JsonValue } from '../common/json.ts';
import { parseYamlDocuments } from './yaml.ts';
import { editYaml, MAX_EDITED_CHARS } from './yaml-edit.ts';

const DEPLOYMENT = `# The shop's frontend.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend  # the name users see
  labels: {app: frontend}   # flow style
spec:
  replicas: 2 # two for now
  template:
    # the pod template
    metadata:
      labels:
        app: frontend
      annotations:
        outrigger.dev/inject: envoy  # ask for envoy
    spec:
      # app first
      containers:
        - name: app   # the app itself
          image: "shop/frontend:1.2"  # pinned
          ports:
            - containerPort: 8080 # http
          env:
            - name: MODE
              value: 'yes'   # a string, quoted
      volumes: []  # none of its own
# after the Deployment
`;

const values = (yaml: string) => parseYamlDocuments(yaml, 'out.yaml').map((d) => d.value);

test('an injected Deployment keeps every comment, and reads as the same JSON as when written anew', async () => {
  const r = await runCli(['inject', '-f', '-', '--profiles', 'examples/profiles'], `${DEPLOYMENT}---\n${DEPLOYMENT.replaceAll('frontend', 'backend')}`);
  assert.equal(r.code, 0, r.stderr);
  const comments = [...DEPLOYMENT.matchAll(/#[^\n]*/g)].map((m) => m[0]);
  assert.equal(comments.length, 13);
  for (const c of comments) assert.ok(r.stdout.includes(c), `kept: ${c}`);
  assert.match(r.stdout, /labels: \{ app: frontend \} # flow style\n/);
  assert.match(r.stdout, /initContainers:\n {8}- name: envoy\n/);
  // The same documents as the value written anew (which loses the comments).
  const docs = parseYamlDocuments(`${DEPLOYMENT}---\n${DEPLOYMENT.replaceAll('frontend', 'backend')}`, 'in.yaml');
  const anew = writeStream(values(r.stdout).map((v, i) => ({ value: v, changed: true, text: (docs[i] as { text: string }).text })));
  assert.doesNotMatch(anew, /# the app itself/);
  assert.deepEqual(values(r.stdout), values(anew));
});

test('anchors, aliases, merge keys and directives are not edited: the value is written anew', () => {
  const after = (before: JsonValue) => ({ ...(before as object), added: 'x' });
  for (const text of ['a: &x {b: 1}\nc: *x\n', 'base: {b: 1}\nm:\n  <<: {b: 2}\n', '%YAML 1.1\n---\na: 1\n']) {
    const [d] = parseYamlDocuments(text, 't.yaml');
    assert.equal(editYaml(text, d?.value as JsonValue, after(d?.value as JsonValue)), undefined, text);
  }
});

test('new values keep their meaning in the YAML 1.1 reading: "yes", "0644" and a literal << key', () => {
  const text = 'a: 1  # one\n';
  const after = { a: 1, s: ['yes', '0644', 'y', '2026-12-02'], m: { '<<': 'literal' } };
  const out = editYaml(text, { a: 1 }, after);
  assert.ok(out?.startsWith('a: 1 # one\n'), out);
  assert.deepEqual(parseYamlDocuments(out as string, 't.yaml')[0]?.value, after);
});

test('list items are matched by name: a sidecar put first leaves the comments on the others', () => {
  const text = 'spec:\n  initContainers:\n    - name: setup  # runs first today\n      image: s\n';
  const out = editYaml(
    text,
    { spec: { initContainers: [{ name: 'setup', image: 's' }] } },
    {
      spec: {
        initContainers: [
          { name: 'proxy', image: 'p' },
          { name: 'setup', image: 's' },
        ],
      },
    },
  );
  assert.equal(out, 'spec:\n  initContainers:\n    - name: proxy\n      image: p\n    - name: setup # runs first today\n      image: s\n');
});

test('JSON documents and documents over MAX_EDITED_CHARS are written anew', () => {
  const before = { kind: 'Pod', metadata: { name: 'a' } };
  const after = { kind: 'Pod', metadata: { name: 'a', labels: { x: 'y' } } };
  assert.equal(editYaml('{"kind": "Pod", "metadata": {"name": "a"}}\n', before, after), undefined);
  assert.equal(editYaml('# a comment\n\n  [1]\n', [1], [1, 2]), undefined);
  const yaml = 'kind: Pod # the kind\nmetadata:\n  name: a\n';
  assert.match(editYaml(yaml, before, after) ?? '', /# the kind/);
  const padded = `${yaml}# ${'x'.repeat(MAX_EDITED_CHARS)}\n`;
  assert.equal(editYaml(padded, before, after), undefined);
});
