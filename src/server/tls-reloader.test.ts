/**
 * The client CA must be CA certificates: a leaf (or a CA that may not sign certificates) given as
 * --client-ca is refused at start and on reload, where the previous CA keeps being served.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LogSink, makeCerts, tempDir } from '../../test/support/webhook.ts';
import { caBundleProblem, generateCA } from '../tls/certs.ts';
import { basicConstraints, buildCertificate, commonNameOnly, KEY_USAGE, keyUsage, toPem } from '../tls/x509.ts';
import { createLogger } from './log.ts';
import { createWebhookMetrics } from './metrics.ts';
import { readTlsMaterial, startTlsReloader, TlsLoadError } from './tls-reloader.ts';

/** A self-signed CA:TRUE certificate whose keyUsage allows only digital signatures. */
function caWithoutCertSign(): string {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const name = commonNameOnly('no-cert-sign');
  const der = buildCertificate(
    {
      serialNumber: Buffer.from([7]),
      issuer: name,
      subject: name,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      publicKey,
      extensions: [basicConstraints(true), keyUsage([KEY_USAGE.digitalSignature])],
    },
    privateKey,
  );
  return toPem(der);
}

function files(clientCa: string) {
  const t = tempDir();
  const serving = makeCerts();
  const f = { certFile: join(t.dir, 'tls.crt'), keyFile: join(t.dir, 'tls.key'), clientCaFile: join(t.dir, 'client-ca.crt') };
  writeFileSync(f.certFile, serving.certPem);
  writeFileSync(f.keyFile, serving.keyPem);
  writeFileSync(f.clientCaFile, clientCa);
  return { ...t, files: f, serving };
}

test('caBundleProblem: CAs pass; a leaf, a CA without keyCertSign, a leaf after a CA and no certificate are named', () => {
  const ca = generateCA({ commonName: 'clients' }).certPem;
  assert.equal(caBundleProblem(ca), undefined);
  assert.equal(caBundleProblem(ca + generateCA({ commonName: 'other' }).certPem), undefined);
  const leaf = makeCerts().certPem;
  assert.match(caBundleProblem(leaf) ?? '', /^the certificate \(CN=localhost\) is not a CA certificate \(basicConstraints CA:TRUE is missing\)$/);
  assert.match(caBundleProblem(ca + leaf) ?? '', /^certificate 2 of 2 \(CN=localhost\) is not a CA certificate/);
  assert.match(caBundleProblem(caWithoutCertSign()) ?? '', /CN=no-cert-sign\) may not sign certificates \(its keyUsage lacks keyCertSign\)/);
  assert.equal(caBundleProblem('hello'), 'no PEM certificate in it');
});

test('at start: a serving certificate given as the client CA is refused, naming the file', async () => {
  const t = files(makeCerts().certPem);
  try {
    await assert.rejects(readTlsMaterial(t.files), (e: Error) => {
      assert.ok(e instanceof TlsLoadError);
      assert.match(e.message, /^client CA .*client-ca\.crt: the certificate \(CN=localhost\) is not a CA certificate/);
      return true;
    });
  } finally {
    t.cleanup();
  }
});

test('on reload: a non-CA client CA keeps the previous one, reported like other reload failures', async () => {
  const good = generateCA({ commonName: 'clients' }).certPem;
  const t = files(good);
  const logs = new LogSink();
  const metrics = createWebhookMetrics({ version: 'test' });
  const applied: string[] = [];
  const log = createLogger(logs, { level: 'debug' });
  try {
    const initial = await readTlsMaterial(t.files);
    const r = startTlsReloader({
      files: t.files,
      initial,
      apply: (m) => applied.push(String(m.ca)),
      log,
      metrics,
      pollMs: 60_000,
      settleMs: 0,
    });
    try {
      writeFileSync(t.files.clientCaFile, caWithoutCertSign());
      await r.check();
      await r.check(); // the same bytes, still broken: now reported
      assert.deepEqual(applied, []);
      assert.equal(r.state.current, initial);
      assert.match(r.state.lastError?.error ?? '', /client CA .*client-ca\.crt: .* may not sign certificates/);
      log.flush();
      assert.equal(logs.find('tls reload failed; still serving the previous certificate').length, 1);
      assert.match(metrics.registry.render(), /outrigger_tls_reloads_total\{result="failure"\} 1/);

      const next = generateCA({ commonName: 'clients-2' }).certPem;
      writeFileSync(t.files.clientCaFile, next);
      await r.check();
      await r.check(); // a change is loaded once the files have stayed the same (settle.ts)
      assert.deepEqual(applied, [next]);
      assert.equal(r.state.lastError, undefined);
    } finally {
      r.stop();
    }
  } finally {
    metrics.stop();
    t.cleanup();
  }
});
