import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import type { JsonObject } from '../common/json.ts';
import { addedBytes, MAX_OBJECT_BYTES, podBytes, podSize, TOO_LARGE } from './pod-size.ts';

const pod = (value: string): JsonObject => ({
  metadata: { annotations: { a: value } },
  spec: { containers: [{ name: 'app', image: 'x', ports: [{ containerPort: 80 }] }] },
});

test('podSize decides as the exact size would, at the limit, whichever way the bound falls', () => {
  // Quotes and control characters grow as JSON; the bound assumes the worst for every character.
  for (const text of ['x'.repeat(400_000), '"\n'.repeat(200_000), '\u0001'.repeat(100_000), '\ud800'.repeat(100_000)]) {
    const p = pod(text);
    const exact = podBytes(p);
    assert.equal(exact, JSON.stringify(p).length);
    const room = MAX_OBJECT_BYTES - exact;
    assert.equal(podSize(p).add(room), undefined, 'exactly at the limit fits');
    assert.equal(podSize(p).add(room + 1), MAX_OBJECT_BYTES + 1, 'one byte over is refused with the exact size');
    // What is added adds up, and a refused addition is not counted.
    const s = podSize(p);
    assert.equal(s.add(room - 10), undefined);
    assert.equal(s.add(11), MAX_OBJECT_BYTES + 1);
    assert.equal(s.add(10), undefined);
    assert.equal(s.add(1), MAX_OBJECT_BYTES + 1);
  }
});

test('podSize measures values that serialise their own way (a Date from a YAML document)', () => {
  const p = { metadata: { d: new Date(0) } } as unknown as JsonObject;
  const exact = JSON.stringify(p).length;
  assert.equal(podSize(p).add(MAX_OBJECT_BYTES - exact + 1), MAX_OBJECT_BYTES + 1);
});

test('podSize refuses one byte over the limit for pods of many small values, keys and serialised objects', () => {
  const cjkKeys: JsonObject = {};
  for (let c = 0x4e00; c < 0x9f00; c++) cjkKeys[String.fromCharCode(c)] = '';
  const longKeys: JsonObject = {};
  for (let i = 0; i < 20_000; i++) longKeys[`key${String(i).padStart(7, '0')}`] = '';
  const pods: [string, JsonObject][] = [
    ['empty strings', { a: new Array<string>(100_000).fill('') }],
    ['one long string in a list', { a: ['\u0001'.repeat(200_000)] }],
    ['one-character keys', { a: cjkKeys }],
    ['ten-character keys', { a: longKeys }],
    ['dates', { a: new Array(20_000).fill(new Date(0)) } as unknown as JsonObject],
    ['nulls, numbers and booleans', { metadata: { creationTimestamp: null }, a: new Array(20_000).fill([null, 1, true, false]) }],
  ];
  for (const [what, p] of pods) {
    const exact = JSON.stringify(p).length;
    const room = MAX_OBJECT_BYTES - exact;
    assert.equal(podSize(p).add(room), undefined, `${what}: exactly at the limit fits`);
    assert.equal(podSize(p).add(room + 1), MAX_OBJECT_BYTES + 1, `${what}: one byte over is refused`);
  }
});

describe('addedBytes', () => {
  const profile = profilesFromYaml(
    profileYaml('sized', {
      version: '1',
      containers: [{ name: 'agent', image: 'example.com/agent:1' }],
      initContainers: [{ name: 'setup', image: 'example.com/setup:1' }],
      volumes: [{ name: 'data', emptyDir: {} }],
      imagePullSecrets: [{ name: 'pull' }],
      metadata: { labels: { team: 'platform' }, annotations: { note: 'sidecar' } },
      env: [{ name: 'MODE', value: 'sidecar' }],
      envFrom: [{ configMapRef: { name: 'agent-config' } }],
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
    }),
  ).byName.get('sized');
  assert.ok(profile);
  const len = (v: unknown) => JSON.stringify(v).length;
  const once =
    len(profile.containers) +
    len(profile.initContainers) +
    len(profile.volumes) +
    len(profile.imagePullSecrets) +
    len(profile.labels) +
    len(profile.annotations);
  const perTarget = len(profile.env) + len(profile.envFrom) + len(profile.volumeMounts);
  const record = { targets: { app: {}, web: {} }, initTargets: { init: {} } };

  test('counts the sidecars, volumes, secrets, labels and annotations once, and env, envFrom and mounts per target', () => {
    assert.equal(addedBytes(profile, profile, record), once + 3 * perTarget);
    assert.equal(addedBytes(profile, profile, { targets: { app: {} } }), once + perTarget);
    assert.equal(addedBytes(profile, profile, { initTargets: { init: {} } }), once + perTarget);
    assert.equal(addedBytes(profile, profile, {}), once);
  });

  test('when only env, envFrom and mounts were merged, counts them per target and nothing else', () => {
    assert.equal(addedBytes(profile, profile, record, true), 3 * perTarget);
    assert.equal(addedBytes(profile, profile, {}, true), 0);
  });

  test('adds the rendered text: what went into targets once per target, the rest once', () => {
    const parts = { ...profile, text: { total: 1000, perTarget: 100 } };
    assert.equal(addedBytes(profile, parts, record), once + 900 + 3 * (perTarget + 100));
    assert.equal(addedBytes(profile, parts, record, true), 3 * (perTarget + 100));
  });
});

test('the refusal names the estimate and the limit', () => {
  assert.equal(TOO_LARGE(1_600_000), "the pod would be about 1600000 bytes as JSON, more than the 1572864 the API server stores (etcd's request limit)");
});
