import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonObject } from '../common/json.ts';
import { MAX_OBJECT_BYTES, podBytes, podSize } from './pod-size.ts';

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
