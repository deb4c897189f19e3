/**
 * Pod authors choose what the event limiter is keyed on (namespace, owner, reason): a flood of
 * distinct namespaces and owners must cost bounded memory and time, and a flood from one namespace
 * must not take the Event budget of the others. Pure limiter work, so no server here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventLimiter } from '../../src/kube/events.ts';

test('200,000 distinct namespaces and owners: bounded state, bounded time', () => {
  const l = new EventLimiter({ now: 0 });
  const heapBefore = process.memoryUsage().heapUsed;
  const start = performance.now();
  let allowed = 0;
  for (let i = 0; i < 200_000; i++) if (l.allow(`tenant-${i}`, `ReplicaSet/${i}/InjectionDenied`, i)) allowed++;
  const ms = performance.now() - start;
  assert.ok(l.trackedNamespaces <= l.maxNamespaces, `${l.trackedNamespaces} namespaces tracked`);
  // 200 s of clock at 5 events/s overall, plus the first burst.
  assert.ok(allowed <= l.burst + 200 * l.ratePerSecond, `${allowed} allowed`);
  assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms (generous bound)`);
  assert.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 2 ** 20, 'heap growth under 64 MiB');
});

test('one namespace flooding with new owners while others report now and then: the others lose nothing', () => {
  const l = new EventLimiter({ now: 0 });
  let quietSent = 0;
  let quietTried = 0;
  for (let t = 0; t < 600_000; t += 5) {
    l.allow('noisy', `ReplicaSet/${t}/InjectionDenied`, t); // 200 new owners a second
    if (t % 2000 === 0)
      for (const ns of ['shop', 'billing', 'search']) {
        quietTried++;
        if (l.allow(ns, `ReplicaSet/${t}/InjectionSkipped`, t)) quietSent++;
      }
  }
  assert.equal(quietSent, quietTried);
});
