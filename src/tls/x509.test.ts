import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import * as der from './der.ts';
import {
  basicConstraints,
  buildCertificate,
  type CertificateSpec,
  commonNameOnly,
  extKeyUsage,
  findExtension,
  formatIp,
  KEY_USAGE,
  keyIdentifier,
  keyUsage,
  OID,
  parseCertificate,
  parseIp,
  readSubjectAltName,
  subjectAltName,
  toPem,
} from './x509.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function spec(overrides: Partial<CertificateSpec> & Pick<CertificateSpec, 'publicKey'>): CertificateSpec {
  const name = commonNameOnly('unit');
  return {
    serialNumber: Buffer.from([1]),
    issuer: name,
    subject: name,
    notBefore: new Date('2030-01-01T00:00:00Z'),
    notAfter: new Date('2031-01-01T00:00:00Z'),
    extensions: [],
    ...overrides,
  };
}

describe('extension values', () => {
  test('keyUsage bits and criticality', () => {
    assert.equal(hex(keyUsage([KEY_USAGE.digitalSignature]).value), '03020780');
    assert.equal(hex(keyUsage([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]).value), '03020106');
    assert.equal(keyUsage([0]).critical, true);
  });

  test('basicConstraints omits DEFAULT FALSE', () => {
    assert.equal(hex(basicConstraints(false).value), '3000');
    assert.equal(hex(basicConstraints(true).value), '30030101ff');
    assert.equal(hex(basicConstraints(true, 0).value), '30060101ff020100');
    assert.throws(() => basicConstraints(false, 0), /pathLenConstraint/);
  });

  test('extKeyUsage and subjectAltName', () => {
    assert.equal(hex(extKeyUsage([OID.serverAuth]).value), '300a06082b06010505070301');
    assert.equal(hex(subjectAltName(['a.b'], [Buffer.from([10, 0, 0, 1])]).value), '300b8203612e6287040a000001');
    assert.throws(() => subjectAltName([], []), /at least one name/);
    assert.throws(() => subjectAltName([], [Buffer.from([1, 2, 3])]), /4 or 16 bytes/);
  });

  test('CN-only Name', () => {
    assert.equal(hex(commonNameOnly('CA')), '300d310b300906035504030c024341');
  });
});

describe('keyIdentifier', () => {
  test('is SHA-1 of the EC point, not of the whole SubjectPublicKeyInfo', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const jwk = publicKey.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);
    assert.equal(point.length, 65);
    assert.deepEqual(keyIdentifier(publicKey), createHash('sha1').update(point).digest());
  });
});

describe('IP addresses', () => {
  test('parse to 4 or 16 bytes', () => {
    assert.equal(hex(parseIp('127.0.0.1')), '7f000001');
    assert.equal(hex(parseIp('::1')), '00000000000000000000000000000001');
    assert.equal(hex(parseIp('::')), '0'.repeat(32));
    assert.equal(hex(parseIp('1::')), `0001${'0'.repeat(28)}`);
    assert.equal(hex(parseIp('2001:DB8::8:800:200C:417A')), '20010db80000000000080800200c417a');
    assert.equal(hex(parseIp('::ffff:192.0.2.1')), '00000000000000000000ffffc0000201');
    assert.equal(hex(parseIp('1:2:3:4:5:6:7:8')), '00010002000300040005000600070008');
  });

  test('reject malformed input with a clear message', () => {
    for (const bad of ['', '256.1.1.1', '1.2.3', '01.2.3.4', '1.2.3.4 ', 'fe80::1%eth0', '1:2:3:4:5:6:7:8:9', '1::2::3', 'localhost', 'g::1']) {
      assert.throws(() => parseIp(bad), /invalid IP address/, bad);
    }
  });

  test('format IPv6 per RFC 5952', () => {
    const f = (s: string): string => formatIp(parseIp(s));
    assert.equal(f('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(f('2001:0DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(f('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1'); // first of equally long runs
    assert.equal(f('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1'); // a single zero group stays
    assert.equal(f('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1'); // the longest run wins
    assert.equal(f('::'), '::');
    assert.equal(f('1::'), '1::');
    assert.equal(f('10.1.2.3'), '10.1.2.3');
  });
});

describe('buildCertificate', () => {
  test('produces a certificate node:crypto parses and verifies, with extensions read back', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const certDer = buildCertificate(
      spec({ publicKey, extensions: [basicConstraints(true), keyUsage([KEY_USAGE.keyCertSign]), extKeyUsage([OID.clientAuth])] }),
      privateKey,
    );
    const x = new X509Certificate(certDer);
    assert.equal(x.subject, 'CN=unit');
    assert.equal(x.ca, true);
    assert.equal(x.serialNumber, '01');
    assert.equal(x.validFromDate.toISOString(), '2030-01-01T00:00:00.000Z');
    assert.equal(x.validToDate.toISOString(), '2031-01-01T00:00:00.000Z');
    assert.equal(x.verify(publicKey), true);
    assert.deepEqual(x.keyUsage, [OID.clientAuth]); // node names the EKU list "keyUsage"
    const parsed = parseCertificate(certDer);
    assert.deepEqual(parsed.subject, commonNameOnly('unit'));
    assert.deepEqual(findExtension(parsed, OID.basicConstraints), {
      oid: der.readSingle(der.oid(OID.basicConstraints)).content,
      critical: true,
      value: Buffer.from('30030101ff', 'hex'),
    });
    assert.equal(findExtension(parsed, OID.extKeyUsage)?.critical, false);
    assert.equal(findExtension(parsed, OID.subjectAltName), undefined);
    assert.deepEqual(readSubjectAltName(parsed), { dnsNames: [], ipAddresses: [] });
    // Signature algorithm in TBS and outer certificate is ecdsa-with-SHA256 without parameters.
    assert.ok(certDer.includes(Buffer.from('300a06082a8648ce3d040302', 'hex')));
  });

  test('signs with an RSA key as sha256WithRSAEncryption', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const x = new X509Certificate(buildCertificate(spec({ publicKey }), privateKey));
    assert.equal(x.verify(publicKey), true);
    assert.ok(x.raw.includes(Buffer.from('300d06092a864886f70d01010b0500', 'hex')));
  });

  test('rejects bad input', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const ed = generateKeyPairSync('ed25519');
    assert.throws(() => buildCertificate(spec({ publicKey, notAfter: new Date('2030-01-01T00:00:00Z') }), privateKey), /notAfter must be after/);
    assert.throws(() => buildCertificate(spec({ publicKey, serialNumber: Buffer.from([0, 0]) }), privateKey), /must be positive/);
    assert.throws(() => buildCertificate(spec({ publicKey, serialNumber: Buffer.alloc(20, 0xff) }), privateKey), /20 octets/);
    assert.doesNotThrow(() => buildCertificate(spec({ publicKey, serialNumber: Buffer.alloc(20, 0x7f) }), privateKey));
    assert.throws(() => buildCertificate(spec({ publicKey, extensions: [keyUsage([0]), keyUsage([1])] }), privateKey), /same extension twice/);
    assert.throws(() => buildCertificate(spec({ publicKey }), publicKey), /private key/);
    assert.throws(() => buildCertificate(spec({ publicKey }), ed.privateKey), /unsupported signing key type "ed25519"/);
  });
});

describe('toPem', () => {
  test('wraps base64 at 64 columns', () => {
    const pem = toPem(Buffer.alloc(100, 1));
    const lines = pem.trimEnd().split('\n');
    assert.equal(lines[0], '-----BEGIN CERTIFICATE-----');
    assert.equal(lines.at(-1), '-----END CERTIFICATE-----');
    assert.deepEqual(
      lines.slice(1, -1).map((l) => l.length),
      [64, 64, 8], // 100 bytes → 136 base64 characters
    );
    assert.equal(Buffer.from(lines.slice(1, -1).join(''), 'base64').length, 100);
    assert.ok(pem.endsWith('\n'));
  });
});
