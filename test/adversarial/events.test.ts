/**
 * Pod authors choose what the event limiter is keyed on (namespace, owner, reason): a flood of
 * distinct namespaces and owners must cost bounded memory and time, and flooding namespaces, however many,
 * must not take the Event budget of the namespaces within their own rate. Pure limiter work, so no server here.
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

// Flooding namespaces ask for new owners at 20/s each for 60 s (a namespace's own rate is 1/s);
// a victim reports once a second, at its full rate. Bound: the victim loses at most its first
// second, while the flooders' first asks (before they are over their own rate) still reach the
// reserve; the total sent stays within the overall rate.
for (const flooders of [1, 5, 50]) {
  test(`${flooders} namespace(s) flooding with new owners while another reports once a second: it loses at most one event`, () => {
    const l = new EventLimiter({ now: 0 });
    let victimSent = 0;
    let victimTried = 0;
    let total = 0;
    for (let t = 0; t < 60_000; t += 50) {
      for (let n = 0; n < flooders; n++) if (l.allow(`flood-${n}`, `ReplicaSet/${t}-${n}/InjectionDenied`, t)) total++;
      if (t % 1000 === 0) {
        victimTried++;
        if (l.allow('shop', `ReplicaSet/${t}/InjectionSkipped`, t)) victimSent++;
      }
    }
    total += victimSent;
    assert.ok(victimSent >= victimTried - 1, `the victim sent ${victimSent} of ${victimTried}`);
    assert.ok(total <= l.burst + 60 * l.ratePerSecond, `${total} sent overall`);
  });
}

test('flooding namespaces while three others report every two seconds: the others lose nothing', () => {
  const l = new EventLimiter({ now: 0 });
  let quietSent = 0;
  let quietTried = 0;
  for (let t = 0; t < 600_000; t += 5) {
    for (let n = 0; n < 5; n++) l.allow(`noisy-${n}`, `ReplicaSet/${t}/InjectionDenied`, t); // 200 new owners a second each
    if (t % 2000 === 0)
      for (const ns of ['shop', 'billing', 'search']) {
        quietTried++;
        if (l.allow(ns, `ReplicaSet/${t}/InjectionSkipped`, t)) quietSent++;
      }
  }
  assert.equal(quietSent, quietTried);
});
