import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonObject } from '../common/json.ts';
import { profileSet } from '../engine/index.ts';
import { parseProfiles } from '../profiles/parse.ts';
import { compilePolicies } from './compile.ts';
import { excluding, namespaceOfName, namespaceScoped } from './scope.ts';

const KUBE = { major: 1, minor: 37 };
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const setOf = (...names: string[]) => {
  const docs = names.map((name) =>
    JSON.stringify({
      apiVersion: 'outrigger.dev/v1alpha1',
      kind: 'SidecarProfile',
      metadata: { name },
      spec: { version: '1', containers: [{ name, image: `example.com/${name}:1` }] },
    }),
  );
  const r = parseProfiles(docs.join('\n---\n'), 'test');
  assert.deepEqual(r.errors, []);
  return profileSet(r.profiles);
};

test("a namespace's objects have valid, bounded names of their own, whether its set has one profile or several", () => {
  const longest = `n${'x'.repeat(61)}9`;
  assert.equal(longest.length, 63);
  for (const set of [setOf('a'), setOf('a', 'b')])
    for (const ns of ['a', 'profiles', longest]) {
      const objects = namespaceScoped(compilePolicies(set, KUBE).objects, ns);
      const names = objects.map((o) => (o.metadata as JsonObject).name as string);
      assert.deepEqual([...new Set(names)].sort(), [`outrigger.ns.${ns}.profiles`, `outrigger.ns.${ns}.profiles-deny`, `outrigger.ns.${ns}.unknown-profiles`]);
      for (const name of names) {
        assert.match(name, DNS_SUBDOMAIN);
        assert.ok(name.length <= 93);
        assert.equal(namespaceOfName(name), ns);
      }
      for (const o of objects.filter((x) => String(x.kind).endsWith('Binding')))
        assert.equal((o.spec as JsonObject).policyName, (o.metadata as JsonObject).name);
    }
  // The cluster-wide names are no namespace's.
  for (const o of compilePolicies(setOf('a', 'b'), KUBE).objects) assert.equal(namespaceOfName((o.metadata as JsonObject).name as string), undefined);
  assert.equal(namespaceOfName('outrigger-ns.x.profiles'), undefined);
});

test('the cluster-wide bindings are unchanged without namespaces to leave out, and only bindings change', () => {
  const objects = compilePolicies(setOf('a'), KUBE).objects;
  for (const o of objects) assert.equal(excluding(o, []), o);
  const [policy, binding] = objects as [JsonObject, JsonObject];
  assert.equal(excluding(policy, ['team-a']), policy);
  const out = excluding(binding, ['team-a', 'team-b']);
  const exprs = (((out.spec as JsonObject).matchResources as JsonObject).namespaceSelector as JsonObject).matchExpressions as JsonObject[];
  assert.deepEqual(exprs.at(-1), { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['team-a', 'team-b'] });
  assert.equal(exprs.length, 3);
});
