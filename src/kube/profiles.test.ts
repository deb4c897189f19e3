import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FakeApiServer } from '../../test/support/fake-apiserver.ts';
import { isObject, type JsonObject } from '../common/json.ts';
import { ClusterProfiles } from './profiles.ts';

const SYSTEM = 'outrigger-system';
let api: FakeApiServer;
let profiles: ClusterProfiles;
const client = () => api.client();

const profile = (namespace: string, name: string, version: string, extra: JsonObject = {}): JsonObject => ({
  apiVersion: 'outrigger.dev/v1alpha1',
  kind: 'SidecarProfile',
  metadata: { name, namespace, ...extra },
  spec: { version, containers: [{ name: `${name}-agent`, image: `example.com/${name}:${version}` }] },
});
const meta = (o: JsonObject | undefined) => (o?.metadata ?? {}) as { resourceVersion?: string; generation?: number };
const statusOf = (key: string) =>
  (api.get('sidecarprofiles', key)?.status ?? {}) as { observedGeneration?: number; conditions?: { type: string; reason: string }[] };
const reason = (key: string, type = 'Ready') => statusOf(key).conditions?.find((c) => c.type === type)?.reason;

const until = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 2000 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(ok(), `timed out waiting for ${what}`);
};
/** The server's object has the status for its generation, and the cache has seen that write come back. */
const settled = async (key: string) => {
  const done = () => {
    const server = api.get('sidecarprofiles', key);
    return (
      statusOf(key).observedGeneration === meta(server).generation && meta(profiles.informer.store.get(key)).resourceVersion === meta(server).resourceVersion
    );
  };
  await until(`${key} settled`, done);
  await new Promise((r) => setTimeout(r, 30));
  await until(`${key} still settled`, done);
};

before(async () => {
  api = await FakeApiServer.start();
  for (let i = 0; i < 50; i++) api.put('sidecarprofiles', profile(`team-${i % 5}`, `p${i}`, '1'));
  profiles = new ClusterProfiles(client(), { controllerNamespace: SYSTEM });
  profiles.start();
  await profiles.informer.waitForSync();
  for (let i = 0; i < 50; i++) await settled(`team-${i % 5}/p${i}`);
});
after(async () => {
  await profiles.stop();
  await api.stop();
});

test('every profile gets its status once, and a status coming back causes no further write', async () => {
  assert.equal(api.requests.statusPatches, 50);
  assert.equal(reason('team-0/p0'), 'Valid');
});

test('a change without a new spec (a label) compiles nothing and writes nothing', async () => {
  const before = profiles.states.get('team-1/p1')?.active;
  const patches = api.requests.statusPatches;
  api.put('sidecarprofiles', profile('team-1', 'p1', '1', { labels: { touched: 'yes' } }));
  await until('the label in the cache', () => {
    const m = profiles.informer.store.get('team-1/p1')?.metadata;
    return isObject(m) && isObject(m.labels);
  });
  assert.ok(before);
  assert.equal(profiles.states.get('team-1/p1')?.active, before, 'the same compiled profile, not a recompiled copy');
  await settled('team-1/p1');
  assert.equal(api.requests.statusPatches, patches);
});

test('a spec change compiles that one profile and writes that one status', async () => {
  const others = profiles.states.get('team-2/p7')?.active;
  const patches = api.requests.statusPatches;
  api.put('sidecarprofiles', profile('team-2', 'p2', '2'));
  await until('version 2 in team-2', () => profiles.tenancy.forNamespace('team-2').byName.get('p2')?.version === '2');
  await settled('team-2/p2');
  assert.equal(statusOf('team-2/p2').observedGeneration, 2);
  assert.equal(api.requests.statusPatches, patches + 1);
  assert.equal(profiles.states.get('team-2/p7')?.active, others);
});

test('an edit storm ends with the last version in use and its status written', async () => {
  for (let v = 10; v < 40; v++) api.put('sidecarprofiles', profile('team-3', 'p3', String(v)));
  await until('the last version', () => profiles.tenancy.forNamespace('team-3').byName.get('p3')?.version === '39');
  await settled('team-3/p3');
  assert.equal(statusOf('team-3/p3').observedGeneration, meta(api.get('sidecarprofiles', 'team-3/p3')).generation);
});

test('a cluster-wide profile taking a tenant profile’s name makes it NameTaken; removing it frees the name', async () => {
  api.put('sidecarprofiles', profile(SYSTEM, 'p4', '1'));
  await until('NameTaken', () => reason('team-4/p4') === 'NameTaken');
  assert.equal(profiles.tenancy.forNamespace('team-4').byName.get('p4')?.namespace, SYSTEM);
  assert.equal(profiles.states.get('team-4/p4')?.active, undefined);
  api.delete('sidecarprofiles', `${SYSTEM}/p4`);
  await until('Valid again', () => reason('team-4/p4') === 'Valid');
  assert.equal(profiles.tenancy.forNamespace('team-4').byName.get('p4')?.namespace, 'team-4');
  assert.equal(profiles.problems.has('team-4/p4'), false);
});

test('an invalid edit keeps the last valid version and says why', async () => {
  const bad = profile('team-0', 'p5', '2');
  (bad.spec as JsonObject).sidecarMode = 'sometimes';
  api.put('sidecarprofiles', bad);
  await until('Invalid', () => reason('team-0/p5', 'Invalid') === 'Invalid');
  assert.equal(profiles.tenancy.forNamespace('team-0').byName.get('p5')?.version, '1');
  assert.equal(profiles.problems.get('team-0/p5')?.problem?.reason, 'Invalid');
});

test('a re-list (history compacted) reuses unchanged profiles and drops one deleted meanwhile', async () => {
  const kept = profiles.states.get('team-1/p6')?.active;
  const lists = profiles.informer.lists;
  api.endWatches();
  api.delete('sidecarprofiles', 'team-0/p0');
  api.compact();
  await until('a re-list', () => profiles.informer.lists === lists + 1);
  assert.equal(profiles.states.has('team-0/p0'), false);
  assert.equal(profiles.tenancy.forNamespace('team-0').byName.has('p0'), false);
  assert.equal(profiles.states.get('team-1/p6')?.active, kept);
});

test('a replica that becomes the status writer writes every status that is not yet right, once', async () => {
  const other = await FakeApiServer.start();
  for (let i = 0; i < 10; i++) other.put('sidecarprofiles', profile('team-x', `q${i}`, '1'));
  let leader = false;
  const follower = new ClusterProfiles(other.client(), { controllerNamespace: SYSTEM, writeStatus: () => leader });
  follower.start();
  try {
    await follower.informer.waitForSync();
    other.put('sidecarprofiles', profile('team-x', 'q0', '2'));
    await until('the edit seen', () => follower.tenancy.forNamespace('team-x').byName.get('q0')?.version === '2');
    assert.equal(other.requests.statusPatches, 0, 'a follower writes nothing');
    leader = true;
    follower.resyncStatus();
    await until('ten statuses', () => other.requests.statusPatches === 10);
    await until('q0 at generation 2', () => (other.get('sidecarprofiles', 'team-x/q0')?.status as { observedGeneration?: number })?.observedGeneration === 2);
    const caughtUp = (i: number) =>
      meta(follower.informer.store.get(`team-x/q${i}`)).resourceVersion === meta(other.get('sidecarprofiles', `team-x/q${i}`)).resourceVersion;
    await until('the writes seen back', () => Array.from({ length: 10 }, (_, i) => i).every(caughtUp));
    follower.resyncStatus();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(other.requests.statusPatches, 10, 'statuses already right are not written again');
  } finally {
    await follower.stop();
    await other.stop();
  }
});
