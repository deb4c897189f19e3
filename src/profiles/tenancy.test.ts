import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProfiles } from './parse.ts';
import { tenancy } from './tenancy.ts';

const doc = (name: string, namespace?: string) =>
  JSON.stringify({
    apiVersion: 'outrigger.dev/v1alpha1',
    kind: 'SidecarProfile',
    metadata: { name, ...(namespace ? { namespace } : {}) },
    spec: { version: '1' },
  });
const load = (...docs: string[]) => parseProfiles(docs.join('\n---\n'), 't.yaml').profiles;

test('cluster-wide profiles reach every namespace; a tenant profile only its own', () => {
  const t = tenancy(load(doc('file'), doc('platform', 'outrigger-system'), doc('team-a-only', 'team-a')), 'outrigger-system');
  assert.deepEqual([...t.forNamespace('team-a').byName.keys()].sort(), ['file', 'platform', 'team-a-only']);
  assert.deepEqual([...t.forNamespace('team-b').byName.keys()].sort(), ['file', 'platform']);
  assert.equal(t.forNamespace('team-a'), t.forNamespace('team-a'), 'sets are built once, not per request');
});

test('a tenant cannot shadow a cluster-wide profile by name', () => {
  const t = tenancy(load(doc('platform', 'outrigger-system'), doc('platform', 'team-a')), 'outrigger-system');
  assert.equal(t.forNamespace('team-a').byName.get('platform')?.namespace, 'outrigger-system');
  assert.match([...t.shadowed.values()][0] ?? '', /taken by the cluster-wide profile/);
});
