import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deepFreeze, type JsonObject } from '../common/json.ts';
import { readStatus } from './status.ts';
import { uninject } from './uninject.ts';

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
