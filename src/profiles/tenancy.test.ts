import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SidecarProfile } from '../engine/profile.ts';
import { parseProfiles } from './parse.ts';
import { TenancyIndex, tenancy } from './tenancy.ts';

const doc = (name: string, namespace?: string, version = '1') =>
  JSON.stringify({
    apiVersion: 'outrigger.dev/v1alpha1',
    kind: 'SidecarProfile',
    metadata: { name, ...(namespace ? { namespace } : {}) },
    spec: { version },
  });
const load = (...docs: string[]) => parseProfiles(docs.join('\n---\n'), 't.yaml').profiles;
const one = (name: string, namespace?: string, version = '1'): SidecarProfile => {
  const [p] = load(doc(name, namespace, version));
  assert.ok(p);
  return p;
};
const names = (t: TenancyIndex, ns: string) => [...t.forNamespace(ns).byName.keys()].sort();

test('cluster-wide profiles reach every namespace; a tenant profile only its own', () => {
  const t = tenancy(load(doc('file'), doc('platform', 'outrigger-system'), doc('team-a-only', 'team-a')), 'outrigger-system');
  assert.deepEqual(names(t, 'team-a'), ['file', 'platform', 'team-a-only']);
  assert.deepEqual(names(t, 'team-b'), ['file', 'platform']);
  assert.equal(t.forNamespace('team-a'), t.forNamespace('team-a'), 'sets are built once, not per request');
});

test('a tenant cannot shadow a cluster-wide profile by name', () => {
  const tenant = one('platform', 'team-a');
  const t = tenancy([one('platform', 'outrigger-system'), tenant], 'outrigger-system');
  assert.equal(t.forNamespace('team-a').byName.get('platform')?.namespace, 'outrigger-system');
  assert.match(t.shadowReason(tenant) ?? '', /"platform" is taken by the cluster-wide profile from t\.yaml/);
  assert.equal(t.shadowReason(t.global.byName.get('platform') as SidecarProfile), undefined);
});

test('one tenant change rebuilds only its own namespace; the others keep their sets', () => {
  const t = new TenancyIndex('outrigger-system');
  t.set('team-a/a', one('a', 'team-a'));
  t.set('team-b/b', one('b', 'team-b'));
  const setB = t.forNamespace('team-b');
  t.set('team-a/a', one('a', 'team-a', '2'));
  t.set('team-a/extra', one('extra', 'team-a'));
  assert.equal(t.forNamespace('team-b'), setB, 'team-b untouched');
  assert.deepEqual(names(t, 'team-a'), ['a', 'extra']);
  assert.equal(t.forNamespace('team-a').byName.get('a')?.version, '2');
  t.delete('team-a/a');
  t.delete('team-a/extra');
  assert.equal(t.forNamespace('team-a'), t.global, 'a namespace without profiles of its own gets the global set');
});

test('a cluster-wide profile appearing shadows tenants of its name; going away frees them', () => {
  const t = new TenancyIndex('outrigger-system');
  const tenant = one('agent', 'team-a');
  t.set('team-a/agent', tenant);
  assert.equal(t.forNamespace('team-a').byName.get('agent'), tenant);
  t.set('outrigger-system/agent', one('agent', 'outrigger-system'));
  assert.deepEqual(t.tenantsNamed('agent'), [tenant]);
  assert.ok(t.shadowReason(tenant));
  assert.equal(t.forNamespace('team-a').byName.get('agent')?.namespace, 'outrigger-system');
  t.delete('outrigger-system/agent');
  assert.equal(t.shadowReason(tenant), undefined);
  assert.equal(t.forNamespace('team-a').byName.get('agent'), tenant);
  t.setFiles([one('agent')]);
  assert.equal(t.forNamespace('team-a').byName.get('agent')?.namespace, undefined, 'a file profile owns the name too');
});
