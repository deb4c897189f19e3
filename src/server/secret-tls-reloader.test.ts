import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogSink, makeCerts } from '../../test/support/webhook.ts';
import type { ServingMaterial } from '../kube/self-tls.ts';
import { createLogger } from './log.ts';
import { createWebhookMetrics } from './metrics.ts';
import { startSecretTlsReloader } from './secret-tls-reloader.ts';
import { materialFromPem, type TlsMaterial } from './tls-reloader.ts';

const SOURCE = 'Secret outrigger-system/outrigger-tls';

function setup() {
  const certs = makeCerts();
  const first: ServingMaterial = { certPem: certs.certPem, keyPem: certs.keyPem, caBundle: certs.ca.certPem };
  let push: (m: ServingMaterial) => void = () => {};
  const feed = { first, onChange: (cb: (m: ServingMaterial) => void) => (push = cb) };
  const logs = new LogSink();
  const log = createLogger(logs, { level: 'debug' });
  const metrics = createWebhookMetrics();
  const applied: TlsMaterial[] = [];
  const initial = materialFromPem(first.certPem, first.keyPem, SOURCE);
  const r = startSecretTlsReloader({ feed, initial, source: SOURCE, apply: (m) => applied.push(m), log, metrics, pollMs: 60_000 });
  const flushed = () => {
    log.flush();
    return logs.lines.map((l) => l.msg);
  };
  return { certs, first, push: (m: ServingMaterial) => push(m), r, metrics, applied, flushed };
}

test('cert mode self: a new certificate from the Secret is applied once, the same one again is no change', () => {
  const s = setup();
  const next = makeCerts(s.certs.ca);
  s.push({ certPem: next.certPem, keyPem: next.keyPem, caBundle: s.certs.ca.certPem });
  s.push({ certPem: next.certPem, keyPem: next.keyPem, caBundle: s.certs.ca.certPem });
  assert.equal(s.applied.length, 1);
  assert.equal(s.r.state.current, s.applied[0]);
  assert.equal(s.r.state.lastError, undefined);
  assert.deepEqual(s.flushed(), ['serving certificate replaced']);
  assert.equal(s.metrics.tlsReloadOk.get(), 1);
  s.r.stop();
});

test('cert mode self: a broken certificate is refused once (the poll seeing it again says nothing), and going back clears the error', () => {
  const s = setup();
  const other = makeCerts();
  const broken = { certPem: s.first.certPem, keyPem: other.keyPem, caBundle: s.first.caBundle };
  s.push(broken);
  s.push(broken);
  assert.equal(s.applied.length, 0);
  assert.match(s.r.state.lastError?.error ?? '', /does not match/);
  assert.equal(s.metrics.tlsReloadOk.get(), 0);
  assert.deepEqual(s.flushed(), ['new serving certificate refused; keeping the current one']);
  s.push(s.first);
  assert.equal(s.r.state.lastError, undefined);
  assert.equal(s.metrics.tlsReloadOk.get(), 1);
  assert.equal(s.applied.length, 0);
  // Refused again after the clear: reported again.
  s.push(broken);
  assert.equal(s.flushed().length, 2);
  s.r.stop();
});
