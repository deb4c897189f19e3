import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonObject } from '../common/json.ts';
import { EventLimiter, eventTarget, podEvent } from './events.ts';

const UID = '6f1c2b7e-0d7a-4c1e-9a3f-2b8e4d5c6a71';

test('events go to the controlling owner, else the named pod, else nowhere', () => {
  const owned = {
    metadata: { generateName: 'web-7d9-', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9', uid: UID, controller: true }] },
  };
  assert.deepEqual(eventTarget(owned, 'shop'), { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9', namespace: 'shop', uid: UID });
  assert.deepEqual(eventTarget({ metadata: { name: 'p' } }, 'shop'), { apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'shop' });
  assert.equal(eventTarget({ metadata: { generateName: 'x-' } }, 'shop'), undefined);
});

test('ownerReferences are a claim of the pod author: only a pod controller kind, marked controller, with a uid and a valid name', () => {
  const withOwner = (ref: object, name?: string) =>
    JSON.parse(JSON.stringify({ metadata: { ...(name ? { name } : { generateName: 'x-' }), ownerReferences: [ref] } })) as JsonObject;
  const rs = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d9', uid: UID, controller: true };
  for (const [why, ref] of [
    ['a Deployment does not create pods', { ...rs, kind: 'Deployment', name: 'payments' }],
    ['a Namespace is not namespaced', { ...rs, apiVersion: 'v1', kind: 'Namespace', name: 'kube-system' }],
    ['a Node', { ...rs, apiVersion: 'v1', kind: 'Node', name: 'node-1' }],
    ['a ClusterRole', { ...rs, apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'admin' }],
    ['a custom kind', { ...rs, apiVersion: 'example.com/v1', kind: 'ReplicaSet' }],
    ['not the controller', { ...rs, controller: false }],
    ['no uid', { ...rs, uid: undefined }],
    ['a name that is no object name', { ...rs, name: '../../namespaces/other/x' }],
  ] as const) {
    assert.equal(eventTarget(withOwner(ref), 'shop'), undefined, why);
    assert.deepEqual(eventTarget(withOwner(ref, 'p-1'), 'shop'), { apiVersion: 'v1', kind: 'Pod', name: 'p-1', namespace: 'shop' }, `${why}: the pod itself`);
  }
  for (const [apiVersion, kind] of [
    ['apps/v1', 'StatefulSet'],
    ['apps/v1', 'DaemonSet'],
    ['batch/v1', 'Job'],
    ['v1', 'ReplicationController'],
  ]) {
    assert.equal(eventTarget(withOwner({ ...rs, apiVersion, kind }), 'shop')?.kind, kind);
  }
  // Whatever namespace the reference would like, the Event is in the pod's own.
  assert.equal(eventTarget(withOwner({ ...rs, namespace: 'kube-system' }), 'shop')?.namespace, 'shop');
  // The note says which pod it is about: on the owner, it is the pod's claim.
  assert.equal(podEvent(withOwner(rs), 'shop', 'Warning', 'InjectionSkipped', 'no such profile')?.note, 'pod x-*: no such profile');
  assert.equal(podEvent(withOwner(rs, 'p-1'), 'shop', 'Warning', 'InjectionSkipped', 'no such profile')?.note, 'pod p-1: no such profile');
  assert.equal(podEvent({ metadata: { name: 'p-1' } }, 'shop', 'Warning', 'InjectionSkipped', 'no such profile')?.note, 'no such profile');
});

test('a crash-looping owner gets one event per quiet period, and the total rate is bounded', () => {
  const l = new EventLimiter({ ratePerSecond: 2, burst: 3, perKeyMs: 60_000, now: 0 });
  assert.equal(l.allow('shop', 'rs-a/name-conflict', 0), true);
  for (let t = 1; t < 50; t++) assert.equal(l.allow('shop', 'rs-a/name-conflict', t * 100), false, 'same owner and reason is quiet');
  assert.equal(l.allow('shop', 'rs-a/name-conflict', 60_001), true, 'after the quiet period');
  const l2 = new EventLimiter({ ratePerSecond: 2, burst: 3, perKeyMs: 60_000, now: 0 });
  const allowed = Array.from({ length: 100 }, (_, i) => l2.allow(`ns-${i}`, 'rs', 0)).filter(Boolean).length;
  assert.equal(allowed, 3, 'burst');
  assert.equal(l2.allow('late', 'rs', 1000), true, 'refilled at the rate');
  assert.equal(l2.allow('late-2', 'rs', 1000), true);
  assert.equal(l2.allow('late-3', 'rs', 1000), false);
});

test("one namespace's flood does not use up the budget of the others", () => {
  const l = new EventLimiter({ ratePerSecond: 5, burst: 20, namespaceRatePerSecond: 1, namespaceBurst: 5, now: 0 });
  let flood = 0;
  let others = 0;
  for (let t = 0; t < 60_000; t += 10) {
    // A thousand distinct owners a second from one namespace, one event a second from each of three others.
    if (l.allow('noisy', `rs-${t}`, t)) flood++;
    if (t % 1000 === 0) for (const ns of ['a', 'b', 'c']) if (l.allow(ns, `rs-${t}`, t)) others++;
  }
  assert.ok(flood <= 5 + 60, `the flood gets its own share only: ${flood}`);
  assert.equal(others, 3 * 60, 'every event of the quiet namespaces is sent');
});

test('flooding namespaces spend only the shared part: a namespace within its rate keeps the reserve', () => {
  const l = new EventLimiter({ ratePerSecond: 4, burst: 4, namespaceRatePerSecond: 1, namespaceBurst: 1, reserveFraction: 0.5, now: 0 });
  // Five namespaces each ask twice at once: the second ask is over their rate, so they are flooding.
  for (let n = 0; n < 5; n++) for (const k of ['a', 'b']) l.allow(`flood-${n}`, `rs-${k}`, 0);
  let victim = 0;
  let flood = 0;
  for (let t = 1000; t <= 10_000; t += 1000) {
    for (let n = 0; n < 5; n++) if (l.allow(`flood-${n}`, `rs-${t}`, t)) flood++;
    if (l.allow('shop', `rs-${t}`, t)) victim++;
  }
  assert.equal(victim, 10, 'every event of the namespace within its rate');
  assert.equal(flood, 20, 'the flooders share the other half of the rate');
});

test('the number of namespaces tracked is capped', () => {
  const l = new EventLimiter({ maxNamespaces: 100, ratePerSecond: 1e9, burst: 1e9, now: 0 });
  for (let i = 0; i < 10_000; i++) l.allow(`ns-${i}`, 'rs', i);
  assert.equal(l.trackedNamespaces, 100);
});
