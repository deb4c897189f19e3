import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { certificateInfo, generateCA, generateServingCert, latestNotAfter, verifiesWith } from './certs.ts';
import * as der from './der.ts';
import { findExtension, OID, parseCertificate, readSubjectKeyIdentifier } from './x509.ts';

const DAY = 86_400_000;
const SKEW = 5 * 60_000;
const NOW = new Date('2030-06-15T12:34:56.789Z');
const floorSec = (ms: number): number => Math.floor(ms / 1000) * 1000;

const HAS_OPENSSL = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
const NO_OPENSSL = 'openssl is not on PATH; skipping the openssl cross-check';

function openssl(args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8', input });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The notBefore/notAfter elements of a DER certificate, to check which time type was used. */
function validityElements(pem: string): der.Element[] {
  const tbs = der.readChildren(der.readSingle(new X509Certificate(pem).raw))[0];
  assert.ok(tbs);
  const validity = der.readChildren(tbs)[4]; // [0] version, serial, signature, issuer, validity
  assert.ok(validity);
  return der.readChildren(validity);
}

describe('generateCA', () => {
  const ca = generateCA({ commonName: 'Outrigger Test CA', now: NOW });
  const x = new X509Certificate(ca.certPem);

  test('is a self-signed P-256 CA with the requested name and validity', () => {
    assert.equal(x.subject, 'CN=Outrigger Test CA');
    assert.equal(x.issuer, 'CN=Outrigger Test CA');
    assert.equal(x.ca, true);
    assert.equal(x.checkIssued(x), true);
    assert.equal(x.verify(x.publicKey), true);
    assert.equal(x.publicKey.asymmetricKeyType, 'ec');
    assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(x.validFromDate.getTime(), floorSec(NOW.getTime() - SKEW));
    assert.equal(x.validToDate.getTime(), floorSec(NOW.getTime() + 3650 * DAY));
  });

  test('exports the key as PKCS#8 PEM matching the certificate', () => {
    assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(ca.certPem, /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/);
    assert.equal(x.checkPrivateKey(createPrivateKey(ca.keyPem)), true);
  });

  test('has critical basicConstraints and keyUsage, and a subjectKeyIdentifier', () => {
    const parsed = parseCertificate(x.raw);
    assert.deepEqual(findExtension(parsed, OID.basicConstraints)?.critical, true);
    assert.deepEqual(findExtension(parsed, OID.basicConstraints)?.value.toString('hex'), '30060101ff020100'); // CA:TRUE, pathlen:0
    assert.deepEqual(findExtension(parsed, OID.keyUsage), {
      oid: der.readSingle(der.oid(OID.keyUsage)).content,
      critical: true,
      value: Buffer.from('03020106', 'hex'), // keyCertSign, cRLSign
    });
    assert.equal(readSubjectKeyIdentifier(parsed)?.length, 20);
    assert.equal(findExtension(parsed, OID.subjectAltName), undefined);
  });

  test('openssl shows the CA extensions', { skip: HAS_OPENSSL ? false : NO_OPENSSL }, () => {
    const { status, out } = openssl(['x509', '-text', '-noout'], ca.certPem);
    assert.equal(status, 0, out);
    assert.match(out, /X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(out, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
    assert.match(out, /X509v3 Subject Key Identifier:/);
    assert.match(out, /Signature Algorithm: ecdsa-with-SHA256/);
  });

  test('validity honours validityDays and switches to GeneralizedTime from 2050', () => {
    const late = generateCA({ commonName: 'late', now: new Date('2045-01-01T00:00:00Z'), validityDays: 3650 });
    const info = certificateInfo(late.certPem);
    assert.equal(info.notAfter.toISOString(), new Date(Date.parse('2045-01-01T00:00:00Z') + 3650 * DAY).toISOString());
    assert.equal(info.notAfter.getUTCFullYear(), 2054);
    const [nb, na] = validityElements(late.certPem);
    assert.equal(nb?.tag, der.TAG.UTC_TIME);
    assert.equal(na?.tag, der.TAG.GENERALIZED_TIME);
    assert.equal(na?.content.toString('ascii'), '20541230000000Z');
    const [nb2, na2] = validityElements(ca.certPem);
    assert.equal(nb2?.tag, der.TAG.UTC_TIME);
    assert.equal(na2?.tag, der.TAG.UTC_TIME);
  });

  test('two CAs get different keys and serials', () => {
    const other = new X509Certificate(generateCA({ commonName: 'Outrigger Test CA', now: NOW }).certPem);
    assert.notEqual(other.serialNumber, x.serialNumber);
    assert.notEqual(other.fingerprint256, x.fingerprint256);
  });

  test('rejects bad options', () => {
    assert.throws(() => generateCA({ commonName: '' }), /commonName must be a non-empty string/);
    assert.throws(() => generateCA({ commonName: 'x'.repeat(65) }), /longer than 64 characters/);
    assert.throws(() => generateCA({ commonName: 'a\nb' }), /control characters/);
    assert.throws(() => generateCA({ commonName: 'ca', validityDays: 0 }), /validityDays must be an integer of at least 1, got 0/);
    assert.throws(() => generateCA({ commonName: 'ca', validityDays: -5 }), /validityDays/);
    assert.throws(() => generateCA({ commonName: 'ca', validityDays: 1.5 }), /validityDays/);
    assert.throws(() => generateCA({ commonName: 'ca', validityDays: Number.NaN }), /validityDays/);
    assert.throws(() => generateCA({ commonName: 'ca', validityDays: 10_000_000 }), /past 9999-12-31/);
    assert.throws(() => generateCA({ commonName: 'ca', now: new Date('nope') }), /now must be a valid Date/);
  });
});

describe('generateServingCert', () => {
  const ca = generateCA({ commonName: 'Outrigger Test CA', now: NOW });
  const caX = new X509Certificate(ca.certPem);
  const leaf = generateServingCert({
    ca,
    commonName: 'webhook.outrigger-system.svc',
    dnsNames: ['webhook.outrigger-system.svc', 'webhook.outrigger-system.svc.cluster.local', '*.outrigger-system.pod'],
    ipAddresses: ['127.0.0.1', '::1', '2001:0DB8:0:0:0:0:0:1'],
    now: NOW,
  });
  const x = new X509Certificate(leaf.certPem);

  test('parses with the requested subject, issuer and SANs (IPv4 and IPv6)', () => {
    assert.equal(x.subject, 'CN=webhook.outrigger-system.svc');
    assert.equal(x.issuer, 'CN=Outrigger Test CA');
    assert.equal(x.ca, false);
    assert.equal(
      x.subjectAltName,
      'DNS:webhook.outrigger-system.svc, DNS:webhook.outrigger-system.svc.cluster.local, DNS:*.outrigger-system.pod, ' +
        'IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:2001:DB8:0:0:0:0:0:1',
    );
    assert.equal(x.checkHost('webhook.outrigger-system.svc'), 'webhook.outrigger-system.svc');
    assert.equal(x.checkHost('anything.outrigger-system.pod'), '*.outrigger-system.pod'); // returns the matching SAN
    assert.equal(x.checkHost('other.svc'), undefined);
    assert.equal(x.checkIP('::1'), '::1');
    assert.equal(x.checkIP('2001:db8::1'), '2001:db8::1');
    assert.equal(x.checkIP('10.0.0.1'), undefined);
  });

  test('validity: notBefore is five minutes back, 365 days by default', () => {
    assert.equal(x.validFromDate.getTime(), floorSec(NOW.getTime() - SKEW));
    assert.equal(x.validToDate.getTime(), floorSec(NOW.getTime() + 365 * DAY));
    const short = new X509Certificate(generateServingCert({ ca, commonName: 'w', dnsNames: ['w.svc'], validityDays: 7, now: NOW }).certPem);
    assert.equal(short.validToDate.getTime(), floorSec(NOW.getTime() + 7 * DAY));
  });

  test('notAfter is capped at the CA’s notAfter', () => {
    const shortCa = generateCA({ commonName: 'short', validityDays: 10, now: NOW });
    const l = new X509Certificate(generateServingCert({ ca: shortCa, commonName: 'w', dnsNames: ['w.svc'], now: NOW }).certPem);
    assert.equal(l.validToDate.getTime(), new X509Certificate(shortCa.certPem).validToDate.getTime());
  });

  test('is signed by the CA, chains by name and key identifier', () => {
    assert.equal(x.checkIssued(caX), true);
    assert.equal(x.verify(caX.publicKey), true);
    assert.equal(x.checkPrivateKey(createPrivateKey(leaf.keyPem)), true);
    assert.match(leaf.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    const leafParts = parseCertificate(x.raw);
    const caParts = parseCertificate(caX.raw);
    assert.deepEqual(leafParts.issuer, caParts.subject);
    const aki = findExtension(leafParts, OID.authorityKeyIdentifier);
    const caSki = readSubjectKeyIdentifier(caParts);
    assert.ok(aki && caSki);
    assert.equal(aki.value.toString('hex'), `30168014${caSki.toString('hex')}`); // SEQUENCE { [0] keyIdentifier }
    const ski = readSubjectKeyIdentifier(leafParts);
    assert.ok(ski);
    assert.notDeepEqual(ski, caSki);
  });

  test('extensions: keyUsage digitalSignature (critical), CA:false, serverAuth only', () => {
    const parts = parseCertificate(x.raw);
    assert.deepEqual(findExtension(parts, OID.keyUsage)?.critical, true);
    assert.equal(findExtension(parts, OID.keyUsage)?.value.toString('hex'), '03020780');
    assert.equal(findExtension(parts, OID.basicConstraints)?.value.toString('hex'), '3000');
    assert.deepEqual(x.keyUsage, [OID.serverAuth]); // node's name for the extended key usage list
    assert.equal(findExtension(parts, OID.subjectAltName)?.critical, false);
  });

  test('client: true adds clientAuth', () => {
    const c = new X509Certificate(generateServingCert({ ca, commonName: 'w', dnsNames: ['w.svc'], client: true, now: NOW }).certPem);
    assert.deepEqual(c.keyUsage, [OID.serverAuth, OID.clientAuth]);
  });

  test('serial is a random positive integer of at most 16 significant bytes', () => {
    const serials = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const raw = new X509Certificate(generateServingCert({ ca, commonName: 'w', dnsNames: ['w.svc'], now: NOW }).certPem).raw;
      const tbs = der.readChildren(der.readSingle(raw))[0];
      assert.ok(tbs);
      const serial = der.readChildren(tbs)[1];
      assert.equal(serial?.tag, der.TAG.INTEGER);
      const content = serial?.content ?? Buffer.alloc(0);
      assert.equal(((content[0] ?? 0) & 0x80) === 0, true, 'serial must be positive');
      const magnitude = content[0] === 0 ? content.subarray(1) : content;
      assert.ok(magnitude.length <= 16 && magnitude.length >= 8, `serial magnitude ${magnitude.length} bytes`);
      serials.add(content.toString('hex'));
    }
    assert.equal(serials.size, 8);
  });

  test('openssl shows the leaf extensions', { skip: HAS_OPENSSL ? false : NO_OPENSSL }, () => {
    const { status, out } = openssl(['x509', '-text', '-noout'], leaf.certPem);
    assert.equal(status, 0, out);
    assert.match(out, /X509v3 Key Usage: critical\s+Digital Signature\n/);
    assert.match(out, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
    assert.match(out, /X509v3 Extended Key Usage:\s*\n\s+TLS Web Server Authentication\n/);
    assert.match(out, /IP Address:0:0:0:0:0:0:0:1/);
    assert.match(out, /X509v3 Authority Key Identifier:/);
  });

  test('rejects invalid names, addresses and CAs with clear errors', () => {
    const base = { ca, commonName: 'w', now: NOW };
    assert.throws(() => generateServingCert({ ...base, dnsNames: [''] }), /DNS name must not be empty/);
    for (const bad of [
      'Webhook.svc',
      'bad_name.svc',
      'a..b',
      '-a.svc',
      'a-.svc',
      'trailing.dot.',
      `${'x'.repeat(64)}.svc`,
      '*',
      '*.*.svc',
      'foo.*.svc',
      '*foo.svc',
      'a b',
    ]) {
      assert.throws(() => generateServingCert({ ...base, dnsNames: [bad] }), /invalid DNS name/, bad);
    }
    assert.throws(() => generateServingCert({ ...base, dnsNames: [`${'a.'.repeat(126)}ab`] }), /253 characters/);
    for (const bad of ['', '999.1.1.1', '1.2.3', 'fe80::1%eth0', 'not-an-ip', '::g']) {
      assert.throws(() => generateServingCert({ ...base, ipAddresses: [bad] }), /invalid IP address/, bad);
    }
    assert.throws(() => generateServingCert({ ...base }), /at least one DNS name or IP address/);
    assert.throws(() => generateServingCert({ ...base, dnsNames: ['w.svc'], validityDays: 0 }), /validityDays/);
    const other = generateCA({ commonName: 'other', now: NOW });
    assert.throws(() => generateServingCert({ ...base, ca: { certPem: ca.certPem, keyPem: other.keyPem }, dnsNames: ['w.svc'] }), /does not match/);
    assert.throws(() => generateServingCert({ ...base, ca: leaf, dnsNames: ['w.svc'] }), /not a CA certificate/);
    assert.throws(() => generateServingCert({ ...base, ca: { certPem: 'garbage', keyPem: ca.keyPem }, dnsNames: ['w.svc'] }), /ca.certPem is not a valid PEM/);
    assert.throws(() => generateServingCert({ ...base, now: new Date(NOW.getTime() + 3651 * DAY), dnsNames: ['w.svc'] }), /CA certificate expired at/);
    assert.throws(() => generateServingCert({ ...base, now: new Date(NOW.getTime() - DAY), dnsNames: ['w.svc'] }), /CA certificate is not valid before/);
  });

  test('duplicates are dropped and IPv6 is compared by value', () => {
    const l = generateServingCert({ ca, commonName: 'w', dnsNames: ['w.svc', 'w.svc'], ipAddresses: ['::1', '0:0:0:0:0:0:0:1', '10.0.0.1'], now: NOW });
    assert.deepEqual(certificateInfo(l.certPem).dnsNames, ['w.svc']);
    assert.deepEqual(certificateInfo(l.certPem).ipAddresses, ['::1', '10.0.0.1']);
  });
});

describe('certificateInfo', () => {
  const ca = generateCA({ commonName: 'ca', now: NOW });
  const leaf = generateServingCert({
    ca,
    commonName: 'w',
    dnsNames: ['w.ns.svc'],
    ipAddresses: ['10.96.0.10', 'FD00:0:0:0:0:0:0:A'],
    now: NOW,
    validityDays: 30,
  });

  test('reports validity, SANs, CA flag and fingerprint', () => {
    const info = certificateInfo(leaf.certPem);
    assert.deepEqual(info, {
      notBefore: new Date(floorSec(NOW.getTime() - SKEW)),
      notAfter: new Date(floorSec(NOW.getTime() + 30 * DAY)),
      dnsNames: ['w.ns.svc'],
      ipAddresses: ['10.96.0.10', 'fd00::a'],
      isCA: false,
      fingerprint256: info.fingerprint256,
    });
    const digest = createHash('sha256').update(new X509Certificate(leaf.certPem).raw).digest('hex').toUpperCase();
    assert.equal(info.fingerprint256, digest.match(/../g)?.join(':'));
    assert.equal(certificateInfo(ca.certPem).isCA, true);
    assert.deepEqual(certificateInfo(ca.certPem).dnsNames, []);
  });

  test('throws on input that is not a certificate', () => {
    assert.throws(() => certificateInfo('not a pem'));
  });
});

describe('verifiesWith', () => {
  const ca = generateCA({ commonName: 'Outrigger Test CA', now: NOW });
  // Same subject name as `ca`: only the signature and key identifiers tell them apart.
  const impostor = generateCA({ commonName: 'Outrigger Test CA', now: NOW });
  const leaf = generateServingCert({ ca, commonName: 'w', dnsNames: ['w.svc'], now: NOW, validityDays: 30 });
  const during = new Date(NOW.getTime() + 10 * DAY);

  test('true for the issuing CA while both are valid', () => {
    assert.equal(verifiesWith(leaf.certPem, ca.certPem, during), true);
    assert.equal(verifiesWith(leaf.certPem, ca.certPem, NOW), true);
  });

  test('false for another CA, even with the same name', () => {
    assert.equal(verifiesWith(leaf.certPem, impostor.certPem, during), false);
  });

  test('false outside the leaf’s validity', () => {
    assert.equal(verifiesWith(leaf.certPem, ca.certPem, new Date(NOW.getTime() + 31 * DAY)), false);
    assert.equal(verifiesWith(leaf.certPem, ca.certPem, new Date(NOW.getTime() - DAY)), false);
    assert.equal(verifiesWith(leaf.certPem, ca.certPem), false, 'issued in 2030, so not yet valid with the real clock');
  });

  test('defaults to the current time', () => {
    const fresh = generateCA({ commonName: 'fresh' });
    assert.equal(verifiesWith(generateServingCert({ ca: fresh, commonName: 'w', dnsNames: ['w.svc'] }).certPem, fresh.certPem), true);
  });

  test('false when the CA itself has expired', () => {
    const shortCa = generateCA({ commonName: 'short', validityDays: 2, now: NOW });
    const l = generateServingCert({ ca: shortCa, commonName: 'w', dnsNames: ['w.svc'], now: NOW }); // capped at the CA's notAfter
    assert.equal(verifiesWith(l.certPem, shortCa.certPem, new Date(NOW.getTime() + DAY)), true);
    assert.equal(verifiesWith(l.certPem, shortCa.certPem, new Date(NOW.getTime() + 3 * DAY)), false);
  });

  test('false when the "CA" is not a CA, or for garbage', () => {
    const other = generateServingCert({ ca, commonName: 'x', dnsNames: ['x.svc'], now: NOW });
    assert.equal(verifiesWith(leaf.certPem, other.certPem, during), false);
    assert.equal(verifiesWith('garbage', ca.certPem, during), false);
    assert.equal(verifiesWith(leaf.certPem, 'garbage', during), false);
  });
});

describe('openssl verify', { skip: HAS_OPENSSL ? false : NO_OPENSSL }, () => {
  let dir = '';
  const ca = generateCA({ commonName: 'Outrigger Test CA' });
  const impostor = generateCA({ commonName: 'Outrigger Test CA' });
  const leaf = generateServingCert({ ca, commonName: 'webhook', dnsNames: ['webhook.outrigger-system.svc'], ipAddresses: ['127.0.0.1', '::1'] });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'outrigger-tls-'));
    writeFileSync(join(dir, 'ca.pem'), ca.certPem);
    writeFileSync(join(dir, 'impostor.pem'), impostor.certPem);
    writeFileSync(join(dir, 'leaf.pem'), leaf.certPem);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('accepts the leaf against its CA, for the sslserver purpose and the service name', () => {
    const r = openssl([
      'verify',
      '-CAfile',
      join(dir, 'ca.pem'),
      '-purpose',
      'sslserver',
      '-verify_hostname',
      'webhook.outrigger-system.svc',
      join(dir, 'leaf.pem'),
    ]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /leaf\.pem: OK/);
    const ip = openssl(['verify', '-CAfile', join(dir, 'ca.pem'), '-verify_ip', '::1', join(dir, 'leaf.pem')]);
    assert.equal(ip.status, 0, ip.out);
  });

  test('rejects the leaf against another CA with the same name, and a wrong hostname', () => {
    const r = openssl(['verify', '-CAfile', join(dir, 'impostor.pem'), join(dir, 'leaf.pem')]);
    assert.notEqual(r.status, 0, r.out);
    const h = openssl(['verify', '-CAfile', join(dir, 'ca.pem'), '-verify_hostname', 'other.svc', join(dir, 'leaf.pem')]);
    assert.notEqual(h.status, 0, h.out);
    assert.match(h.out, /hostname mismatch/);
  });
});

test('validitySeconds gives a short-lived leaf for aggressive rotation', () => {
  const ca = generateCA({ commonName: 'short' });
  const now = new Date('2030-01-01T00:00:00Z');
  const leaf = generateServingCert({ ca: generateCA({ commonName: 'c', now }), commonName: 'w', dnsNames: ['w.ns.svc'], validitySeconds: 90, now });
  assert.equal(certificateInfo(leaf.certPem).notAfter.toISOString(), '2030-01-01T00:01:30.000Z');
  assert.throws(() => generateServingCert({ ca, commonName: 'w', dnsNames: ['w'], validitySeconds: 0 }), /validitySeconds must be an integer of at least 1/);
});

test('latestNotAfter: the longest-lived certificate of a bundle, in any order; none in an empty bundle', () => {
  const short = generateCA({ commonName: 'old', validityDays: 10, now: NOW });
  const long = generateCA({ commonName: 'new', validityDays: 100, now: NOW });
  const want = new X509Certificate(long.certPem).validToDate.getTime();
  assert.equal(latestNotAfter(short.certPem + long.certPem)?.getTime(), want);
  assert.equal(latestNotAfter(long.certPem + short.certPem)?.getTime(), want);
  assert.equal(latestNotAfter(''), undefined);
});
