import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deepFreeze, type JsonObject } from '../common/json.ts';
import { readStatus } from './status.ts';
import { removeRecorded, uninject } from './uninject.ts';

const withRecord = (record: object, spec: JsonObject = { containers: [{ name: 'app', image: 'a' }] }): JsonObject =>
  deepFreeze({ metadata: { name: 'p', annotations: { 'outrigger.dev/status': JSON.stringify(record) } }, spec }) as JsonObject;

describe('the created list of a status record', () => {
  test('an entry that is not a field injection creates is refused, naming the entry', () => {
    const pod = withRecord({ v: 1, profiles: [], created: ['spec.volumes', 'spec.hostNetwork'] });
    assert.deepEqual(readStatus(pod), { error: 'outrigger.dev/status: created[1] is not a field Outrigger creates' });
    assert.deepEqual(uninject(pod), { ok: false, message: 'outrigger.dev/status: created[1] is not a field Outrigger creates' });
  });

  test('a record that names a profile twice is refused, naming the entry', () => {
    const entry = { name: 'agent', version: '1', hash: 'sha256:0000000000000000', mode: 'native' };
    assert.deepEqual(readStatus(withRecord({ v: 1, profiles: [entry, { ...entry, name: 'other' }, entry] })), {
      error: 'outrigger.dev/status: profiles[2] repeats an earlier profile',
    });
  });

  test('every field injection creates is accepted, with or without =null, and any container name', () => {
    const created = [
      'spec',
      'metadata=null',
      'metadata.labels',
      'metadata.annotations=null',
      'spec.containers',
      'spec.initContainers=null',
      'spec.volumes',
      'spec.imagePullSecrets',
      'spec.containers[app].env',
      'spec.initContainers[we]ird].envFrom=null',
      'spec.containers[app].volumeMounts',
    ];
    assert.equal(readStatus(withRecord({ v: 1, profiles: [], created })).error, undefined);
  });

  test('created lists are removed again per container and at pod level, null put back', () => {
    const pod = withRecord(
      { v: 1, profiles: [], created: ['spec.containers[app].env', 'spec.containers[app].envFrom=null', 'spec.volumes', 'metadata.labels'] },
      {
        containers: [
          { name: 'app', image: 'a', env: [], envFrom: [] },
          { name: 'other', env: [] },
        ],
        volumes: [],
      },
    );
    const u = uninject(pod);
    assert.ok(u.ok);
    assert.deepEqual(u.pod, {
      metadata: { name: 'p', annotations: {} },
      spec: {
        containers: [
          { name: 'app', image: 'a', envFrom: null },
          { name: 'other', env: [] },
        ],
      },
    });
  });
});

describe('uninject removes exactly what the record names', () => {
  const rec = (p: object, created?: string[]) => ({
    v: 1,
    profiles: [{ name: 'agent', version: '1', hash: 'h', mode: 'classic', ...p }],
    ...(created ? { created } : {}),
  });
  const app = (extra: JsonObject = {}): JsonObject => ({ name: 'app', image: 'a', ...extra });

  test('a pod without a record comes back as it is, the same object', () => {
    const pod = deepFreeze({ metadata: { name: 'p' }, spec: { containers: [app()] } }) as JsonObject;
    const r = uninject(pod);
    assert.ok(r.ok);
    assert.equal(r.pod, pod);
    assert.deepEqual(r.removed, []);
  });

  test('a record that cannot be read is an error, and nothing is removed', () => {
    for (const [raw, message] of [
      [5, 'outrigger.dev/status must be a string'],
      ['{', 'outrigger.dev/status is not valid JSON'],
      ['{"v":2,"profiles":[]}', 'outrigger.dev/status is not a status record written by this version of Outrigger'],
      [
        '{"v":1,"profiles":[{"name":"a","version":"1","hash":"h","mode":"sideways"}]}',
        'outrigger.dev/status is not a status record written by this version of Outrigger',
      ],
      [
        '{"v":1,"profiles":[{"name":"a","version":"1","hash":"h","mode":"native","targets":{"app":{"env":[1]}}}]}',
        'outrigger.dev/status is not a status record written by this version of Outrigger',
      ],
      [`"${'x'.repeat(262_144)}"`, 'outrigger.dev/status is larger than 262144 bytes, more than a stored pod can carry'],
    ] as const) {
      assert.deepEqual(uninject({ metadata: { annotations: { 'outrigger.dev/status': raw } } }), { ok: false, message }, String(raw).slice(0, 40));
    }
  });

  test('containers, init containers, volumes and pull secrets by name; the pod’s own stay in order', () => {
    const pod = withRecord(rec({ containers: ['agent'], initContainers: ['setup'], volumes: ['v'], imagePullSecrets: ['s'] }), {
      initContainers: [
        { name: 'setup', image: 's' },
        { name: 'own', image: 'o' },
      ],
      containers: [app(), { name: 'agent', image: 'x' }, { name: 'web', image: 'w' }],
      volumes: [{ name: 'data' }, { name: 'v' }],
      imagePullSecrets: [{ name: 's' }, { name: 'mine' }],
    });
    const r = uninject(pod);
    assert.ok(r.ok);
    assert.deepEqual(r.removed, ['agent']);
    assert.deepEqual(r.pod, {
      metadata: { name: 'p', annotations: {} },
      spec: {
        initContainers: [{ name: 'own', image: 'o' }],
        containers: [app(), { name: 'web', image: 'w' }],
        volumes: [{ name: 'data' }],
        imagePullSecrets: [{ name: 'mine' }],
      },
    });
  });

  test('env by name, mounts by path, envFrom by value, only in the containers named', () => {
    const from = { configMapRef: { name: 'cfg' } };
    const pod = withRecord(rec({ targets: { app: { env: ['A'], volumeMounts: ['/m'], envFrom: [from] } }, initTargets: { init: { env: ['A'] } } }), {
      initContainers: [{ name: 'init', image: 'i', env: [{ name: 'A' }, { name: 'B' }] }],
      containers: [
        app({
          env: [{ name: 'A' }, { name: 'KEEP' }],
          volumeMounts: [
            { name: 'x', mountPath: '/m' },
            { name: 'y', mountPath: '/n' },
          ],
          envFrom: [{ secretRef: { name: 's' } }, from],
        }),
        { name: 'other', image: 'o', env: [{ name: 'A' }] },
      ],
    });
    const r = uninject(pod);
    assert.ok(r.ok);
    assert.deepEqual(r.pod.spec, {
      initContainers: [{ name: 'init', image: 'i', env: [{ name: 'B' }] }],
      containers: [
        app({ env: [{ name: 'KEEP' }], volumeMounts: [{ name: 'y', mountPath: '/n' }], envFrom: [{ secretRef: { name: 's' } }] }),
        { name: 'other', image: 'o', env: [{ name: 'A' }] },
      ],
    });
  });

  test('labels and annotations the record names go, with the record itself; others stay', () => {
    const record = JSON.stringify(rec({ labels: ['team'], annotations: ['example.com/x'] }));
    const pod: JsonObject = {
      metadata: { labels: { team: 'a', app: 'x' }, annotations: { 'example.com/x': 'y', mine: 'z', 'outrigger.dev/status': record } },
      spec: { containers: [app()] },
    };
    const r = uninject(pod);
    assert.ok(r.ok);
    assert.deepEqual(r.pod.metadata, { labels: { app: 'x' }, annotations: { mine: 'z' } });
  });

  test('created fields go when left empty, come back as null when they were null, and stay when something else is in them', () => {
    const pod = withRecord(
      rec({ volumes: ['v'], labels: ['team'], targets: { app: { env: ['A'] } } }, ['spec.volumes', 'metadata.labels', 'spec.containers[app].env=null']),
      {
        containers: [app({ env: [{ name: 'A' }] })],
        volumes: [{ name: 'v' }],
      },
    );
    const labelled: JsonObject = { ...pod, metadata: { ...(pod.metadata as JsonObject), labels: { team: 'a' } } };
    const r = uninject(labelled);
    assert.ok(r.ok);
    assert.deepEqual(r.pod, { metadata: { name: 'p', annotations: {} }, spec: { containers: [app({ env: null })] } });
    // Another webhook's volume added since: the list stays, with it.
    const more = { ...labelled, spec: { ...(labelled.spec as JsonObject), volumes: [{ name: 'v' }, { name: 'theirs' }] } };
    const kept = uninject(more);
    assert.ok(kept.ok);
    assert.deepEqual((kept.pod.spec as JsonObject).volumes, [{ name: 'theirs' }]);
  });

  test('created metadata and spec go as a whole when nothing is left in them; null metadata comes back as null', () => {
    const record = JSON.stringify(rec({ containers: ['agent'] }, ['spec', 'spec.containers', 'metadata', 'metadata.annotations']));
    const r = uninject({ metadata: { annotations: { 'outrigger.dev/status': record } }, spec: { containers: [{ name: 'agent', image: 'x' }] } });
    assert.ok(r.ok);
    assert.deepEqual(r.pod, {});
    const nulled = JSON.stringify(rec({}, ['metadata=null', 'metadata.annotations']));
    const n = uninject({ kind: 'Pod', metadata: { annotations: { 'outrigger.dev/status': nulled } } });
    assert.ok(n.ok);
    assert.deepEqual(n.pod, { kind: 'Pod', metadata: null });
  });
});

describe('uninject leaves alone what the record does not name', () => {
  const rec = (p: object, created?: string[]) =>
    JSON.stringify({ v: 1, profiles: [{ name: 'agent', version: '1', hash: 'h', mode: 'classic', ...p }], ...(created ? { created } : {}) });
  const removed = (pod: JsonObject) => {
    const r = uninject(deepFreeze(pod));
    assert.ok(r.ok);
    return r.pod;
  };

  test('lists the pod lacks stay absent, though the record names items or targets in them', () => {
    const status = rec({ volumes: ['v'], imagePullSecrets: ['s'], initContainers: ['setup'], initTargets: { init: { env: ['A'] } } });
    assert.deepEqual(removed({ metadata: { annotations: { 'outrigger.dev/status': status } }, spec: { containers: [{ name: 'app', image: 'a' }] } }), {
      metadata: { annotations: {} },
      spec: { containers: [{ name: 'app', image: 'a' }] },
    });
  });

  test('a label with the status annotation’s key is the pod’s own', () => {
    const pod = { metadata: { labels: { 'outrigger.dev/status': 'x' }, annotations: { 'outrigger.dev/status': rec({}) } }, spec: { containers: [] } };
    assert.deepEqual(removed(pod).metadata, { labels: { 'outrigger.dev/status': 'x' }, annotations: {} });
  });

  test('a spec or metadata the pod had stays, even when nothing is left in it', () => {
    assert.deepEqual(removed({ metadata: { annotations: { 'outrigger.dev/status': rec({}, ['metadata.annotations']) } }, spec: {} }), {
      metadata: {},
      spec: {},
    });
  });

  test('created spec and metadata stay when something else is in them, and metadata that was null is not nulled then', () => {
    const pod = (created: string[]): JsonObject => ({
      metadata: { labels: { theirs: 'x' }, annotations: { 'outrigger.dev/status': rec({ containers: ['agent'] }, created) } },
      spec: { containers: [{ name: 'agent', image: 'x' }], nodeName: 'n' },
    });
    assert.deepEqual(removed(pod(['spec', 'spec.containers', 'metadata', 'metadata.annotations'])), {
      metadata: { labels: { theirs: 'x' } },
      spec: { nodeName: 'n' },
    });
    assert.deepEqual(removed(pod(['metadata=null', 'metadata.annotations'])).metadata, { labels: { theirs: 'x' } });
  });

  test('a created labels map with another webhook’s label in it stays, with that label', () => {
    const pod = { metadata: { labels: { team: 'a', theirs: 'x' }, annotations: { 'outrigger.dev/status': rec({ labels: ['team'] }, ['metadata.labels']) } } };
    assert.deepEqual(removed(pod).metadata, { labels: { theirs: 'x' }, annotations: {} });
  });

  test('removing an empty record from a pod without metadata adds none', () => {
    assert.deepEqual(removeRecorded({ spec: { containers: [] } }, { v: 1, profiles: [] }), { spec: { containers: [] } });
  });
});
