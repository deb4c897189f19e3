/** The status record as read back from a pod: what is accepted, and each way of not being one. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import type { JsonObject, JsonValue } from '../common/json.ts';
import { profileSet } from './profile.ts';
import { readStatus } from './status.ts';

const podWith = (raw: JsonValue): JsonObject => ({ metadata: { annotations: { 'outrigger.dev/status': raw } } });
const entry = (extra: JsonObject = {}): JsonObject => ({ name: 'a', version: '1', hash: 'h', mode: 'native', ...extra });
const read = (record: JsonValue) => readStatus(podWith(JSON.stringify(record)));
const NOT_OURS = 'outrigger.dev/status is not a status record written by this version of Outrigger';

describe('readStatus', () => {
  test('no record: nothing, and no error, whatever the metadata', () => {
    assert.deepEqual(readStatus({}), {});
    assert.deepEqual(readStatus({ metadata: null }), {});
    assert.deepEqual(readStatus({ metadata: { annotations: ['x'] } }), {});
    assert.deepEqual(readStatus({ metadata: { annotations: { other: 'x' } } }), {});
  });

  test('a full record is read as written', () => {
    const record = {
      v: 1,
      profiles: [
        entry({
          containers: ['c'],
          initContainers: ['i'],
          volumes: ['v'],
          imagePullSecrets: ['s'],
          labels: ['l'],
          annotations: ['n'],
          targets: { app: { env: ['E'], volumeMounts: ['/m'], envFrom: [{ configMapRef: { name: 'x' } }] } },
          initTargets: { init: {} },
        }),
        entry({ name: 'b', mode: 'classic' }),
      ],
      created: ['spec.volumes', 'metadata.labels=null', 'spec.containers[a[0]].env'],
    };
    assert.deepEqual(read(record), { status: record });
  });

  test('each field of an entry must have its type', () => {
    const bad: JsonObject[] = [
      { name: 1 },
      { version: null },
      { hash: [] },
      { mode: 'sideways' },
      { containers: 'c' },
      { initContainers: [1] },
      { volumes: {} },
      { imagePullSecrets: [null] },
      { labels: [true] },
      { annotations: 'x' },
      { targets: [] },
      { targets: { app: 'x' } },
      { targets: { app: { env: 'E' } } },
      { targets: { app: { volumeMounts: [1] } } },
      { targets: { app: { envFrom: {} } } },
      { targets: { app: { envFrom: ['x'] } } },
      { initTargets: { i: { env: [2] } } },
    ];
    for (const extra of bad) assert.deepEqual(read({ v: 1, profiles: [entry(extra)] }), { error: NOT_OURS }, JSON.stringify(extra));
    assert.deepEqual(read({ v: 1, profiles: ['x'] }), { error: NOT_OURS });
  });

  test('the record itself: version 1, a profiles list, created strings of fields Outrigger creates, each profile once', () => {
    assert.deepEqual(read({ v: 2, profiles: [] }), { error: NOT_OURS });
    assert.deepEqual(read({ profiles: [] }), { error: NOT_OURS });
    assert.deepEqual(read({ v: 1, profiles: {} }), { error: NOT_OURS });
    assert.deepEqual(read([]), { error: NOT_OURS });
    assert.deepEqual(read({ v: 1, profiles: [], created: 'spec' }), { error: NOT_OURS });
    assert.deepEqual(read({ v: 1, profiles: [], created: [1] }), { error: NOT_OURS });
    assert.deepEqual(read({ v: 1, profiles: [], created: ['spec', 'spec.hostNetwork'] }), {
      error: 'outrigger.dev/status: created[1] is not a field Outrigger creates',
    });
    assert.deepEqual(read({ v: 1, profiles: [], created: ['spec.containers[].env'] }), {
      error: 'outrigger.dev/status: created[0] is not a field Outrigger creates',
    });
    assert.deepEqual(read({ v: 1, profiles: [entry(), entry({ version: '2' })] }), { error: 'outrigger.dev/status: profiles[1] repeats an earlier profile' });
    for (const c of [
      'spec',
      'metadata',
      'spec.initContainers',
      'spec.imagePullSecrets',
      'metadata.annotations=null',
      'spec.initContainers[x].volumeMounts',
      'spec.containers[x].envFrom',
    ])
      assert.deepEqual(read({ v: 1, profiles: [], created: [c] }), { status: { v: 1, profiles: [], created: [c] } }, c);
  });
});

describe('profileSet', () => {
  test('profiles are ordered by order, then by name; byName finds each', () => {
    const yaml = (name: string, order?: number) =>
      profileYaml(name, { version: '1', containers: [{ name, image: 'i' }], ...(order === undefined ? {} : { order }) });
    const loaded = profilesFromYaml([yaml('b', 1), yaml('a', 2), yaml('c', 1), yaml('d')].join('\n---\n'));
    const set = profileSet([...loaded.profiles].reverse());
    assert.deepEqual(
      set.profiles.map((p) => p.name),
      ['d', 'b', 'c', 'a'],
    );
    assert.equal(set.byName.get('c')?.name, 'c');
    assert.equal(set.byName.size, 4);
    assert.ok(Object.isFrozen(set) && Object.isFrozen(set.profiles));
  });
});
