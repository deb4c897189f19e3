import assert from 'node:assert/strict';
import { test } from 'node:test';
import { certificateInfo, verifiesWith } from './certs.ts';
import { plan, type RenewalPolicy } from './renewal.ts';

const policy: RenewalPolicy = {
  dnsNames: ['outrigger.outrigger-system.svc'],
  leafValiditySeconds: 3000,
  caValidityDays: 30,
  renewFraction: 1 / 3,
  caPropagationMs: 60_000,
};
const t0 = new Date('2031-03-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

test('nothing → a CA and a leaf for the service; a second look changes nothing', () => {
  const first = plan(undefined, policy, t0, () => false);
  assert.deepEqual(first.reasons, ['created a new CA and serving certificate']);
  assert.ok(verifiesWith(first.material.cert, first.material.caCert, t0));
  assert.deepEqual(certificateInfo(first.material.cert).dnsNames, policy.dnsNames);
  assert.deepEqual(first.material.bundle, [first.material.caCert]);
  const again = plan(first.material, policy, at(1000), () => true);
  assert.deepEqual(again.reasons, []);
  assert.equal(again.material.cert, first.material.cert);
});

test('the leaf is renewed once a third of its life is left, signed by the same CA (the caBundle stays)', () => {
  const first = plan(undefined, policy, t0, () => false).material;
  assert.deepEqual(plan(first, policy, at(1_900_000), () => true).reasons, []);
  const renewed = plan(first, policy, at(2_100_000), () => true);
  assert.deepEqual(renewed.reasons, ['renewed the serving certificate']);
  assert.notEqual(renewed.material.cert, first.cert);
  assert.equal(renewed.material.caCert, first.caCert);
  assert.deepEqual(renewed.material.bundle, first.bundle);
});

test('a short-lived leaf is renewed once a third of its life is left, not on every look', () => {
  const short = { ...policy, leafValiditySeconds: 45 };
  const first = plan(undefined, short, t0, () => false).material;
  assert.deepEqual(plan(first, short, at(1000), () => true).reasons, []);
  assert.deepEqual(plan(first, short, at(29_000), () => true).reasons, []);
  assert.deepEqual(plan(first, short, at(31_000), () => true).reasons, ['renewed the serving certificate']);
});

test('a new DNS name (service renamed) renews the leaf', () => {
  const first = plan(undefined, policy, t0, () => false).material;
  const r = plan(first, { ...policy, dnsNames: ['other.outrigger-system.svc'] }, at(1000), () => true);
  assert.deepEqual(r.reasons, ['renewed the serving certificate']);
});

test('CA rotation: trusted first, signing only after the webhook carries it and the propagation time has passed', () => {
  const first = plan(undefined, policy, t0, () => false).material;
  const day = 24 * 3600 * 1000;
  // 21 days into a 30-day CA: less than a third left.
  const step1 = plan(first, policy, at(21 * day), () => false);
  assert.ok(step1.reasons.includes('the CA nears its end: added a new CA to the trusted bundle'));
  const next = step1.material.next?.cert as string;
  assert.deepEqual(step1.material.bundle, [first.caCert, next]);
  assert.ok(verifiesWith(step1.material.cert, first.caCert, at(21 * day)), 'still signed by the old CA');

  const notYet = plan(step1.material, policy, at(21 * day + 120_000), () => false);
  assert.equal(notYet.material.caCert, first.caCert, 'the webhook does not trust it yet');
  const step2 = plan(step1.material, policy, at(21 * day + 120_000), (pem) => pem === next);
  assert.deepEqual(step2.reasons, ['rotated to the new CA']);
  assert.equal(step2.material.caCert, next);
  assert.ok(verifiesWith(step2.material.cert, next, at(21 * day + 120_000)));
  assert.deepEqual(step2.material.bundle, [next, first.caCert], 'the old CA stays trusted until it expires');
  assert.deepEqual(plan(step2.material, policy, at(31 * day), () => true).material.bundle, [next]);
});

test('an expired or unreadable CA starts over', () => {
  const first = plan(undefined, policy, t0, () => false).material;
  assert.match(plan({ ...first, caCert: 'garbage' }, policy, t0, () => true).reasons[0] ?? '', /missing, expired or unreadable/);
});
