import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventLimiter, eventTarget } from './events.ts';

test('events go to the controlling owner, else the named pod, else nowhere', () => {
  const owned = {
    metadata: { generateName: 'web-7d9-', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9', uid: 'u1', controller: true }] },
  };
  assert.deepEqual(eventTarget(owned, 'shop'), { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9', namespace: 'shop', uid: 'u1' });
  assert.deepEqual(eventTarget({ metadata: { name: 'p' } }, 'shop'), { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'shop' });
  assert.equal(eventTarget({ metadata: { generateName: 'x-' } }, 'shop'), undefined);
});

test('a crash-looping owner gets one event per quiet period, and the total rate is bounded', () => {
  const l = new EventLimiter({ ratePerSecond: 2, burst: 3, perKeyMs: 60_000, now: 0 });
  assert.equal(l.allow('rs-a/name-conflict', 0), true);
  for (let t = 1; t < 50; t++) assert.equal(l.allow('rs-a/name-conflict', t * 100), false, 'same owner and reason is quiet');
  assert.equal(l.allow('rs-a/name-conflict', 60_001), true, 'after the quiet period');
  const l2 = new EventLimiter({ ratePerSecond: 2, burst: 3, perKeyMs: 60_000, now: 0 });
  const allowed = Array.from({ length: 100 }, (_, i) => l2.allow(`rs-${i}`, 0)).filter(Boolean).length;
  assert.equal(allowed, 3, 'burst');
  assert.equal(l2.allow('rs-late', 1000), true, 'refilled at the rate');
  assert.equal(l2.allow('rs-late-2', 1000), true);
  assert.equal(l2.allow('rs-late-3', 1000), false);
});
