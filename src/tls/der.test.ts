import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as der from './der.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): string => Buffer.from(s, 'ascii').toString('hex');

describe('INTEGER', () => {
  test('small and boundary values use minimal two’s complement', () => {
    assert.equal(hex(der.integer(0)), '020100');
    assert.equal(hex(der.integer(1)), '020101');
    assert.equal(hex(der.integer(127)), '02017f');
    assert.equal(hex(der.integer(128)), '02020080');
    assert.equal(hex(der.integer(255)), '020200ff');
    assert.equal(hex(der.integer(256)), '02020100');
    assert.equal(hex(der.integer(65535)), '020300ffff');
    assert.equal(hex(der.integer(-1)), '0201ff');
    assert.equal(hex(der.integer(-128)), '020180');
    assert.equal(hex(der.integer(-129)), '0202ff7f');
    assert.equal(hex(der.integer(2n ** 64n)), '0209010000000000000000');
  });

  test('byte arrays are unsigned magnitudes: a set high bit gets a leading 0x00', () => {
    const serial = Buffer.from('cdc91a725554bb267da095b06cd77397', 'hex');
    assert.equal(hex(der.integer(serial)), `021100${serial.toString('hex')}`);
    const low = Buffer.from('7dc91a725554bb267da095b06cd77397', 'hex');
    assert.equal(hex(der.integer(low)), `0210${low.toString('hex')}`);
    assert.equal(hex(der.integer(Buffer.from([0x00, 0x00, 0x01]))), '020101');
    assert.equal(hex(der.integer(Buffer.from([0x00, 0x80]))), '02020080');
    assert.equal(hex(der.integer(Buffer.alloc(0))), '020100');
  });

  test('rejects numbers that are not safe integers', () => {
    assert.throws(() => der.integer(1.5), RangeError);
    assert.throws(() => der.integer(2 ** 60), RangeError);
  });
});

describe('OBJECT IDENTIFIER', () => {
  test('known encodings', () => {
    assert.equal(hex(der.oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302'); // ecdsa-with-SHA256
    assert.equal(hex(der.oid('1.2.840.10045.2.1')), '06072a8648ce3d0201'); // id-ecPublicKey
    assert.equal(hex(der.oid('1.2.840.113549.1.1.11')), '06092a864886f70d01010b'); // sha256WithRSAEncryption
    assert.equal(hex(der.oid('2.5.29.17')), '0603551d11'); // subjectAltName
    assert.equal(hex(der.oid('2.5.4.3')), '0603550403'); // commonName
    assert.equal(hex(der.oid('1.3.6.1.5.5.7.3.1')), '06082b06010505070301'); // serverAuth
    assert.equal(hex(der.oid('2.999.3')), '0603883703'); // first subidentifier 1079 spans two bytes
  });

  test('rejects malformed OIDs', () => {
    for (const bad of ['', '1', '3.1', '1.40', '1.2.a', '1..2', '.1.2', '1.2.']) {
      assert.throws(() => der.oid(bad), /invalid OID/, bad);
    }
  });
});

describe('lengths', () => {
  test('short form below 128, long form from 128', () => {
    assert.equal(hex(der.octetString(Buffer.alloc(127))).slice(0, 4), '047f');
    assert.equal(hex(der.octetString(Buffer.alloc(128))).slice(0, 6), '048180');
    assert.equal(hex(der.octetString(Buffer.alloc(200))).slice(0, 6), '0481c8');
    assert.equal(hex(der.octetString(Buffer.alloc(300))).slice(0, 8), '0482012c');
    assert.equal(hex(der.octetString(Buffer.alloc(65536))).slice(0, 10), '0483010000');
    assert.equal(der.octetString(Buffer.alloc(300)).length, 4 + 300);
  });
});

describe('strings', () => {
  test('UTF8String encodes UTF-8 bytes', () => {
    assert.equal(hex(der.utf8String('CA')), '0c024341');
    assert.equal(hex(der.utf8String('é')), '0c02c3a9');
    assert.throws(() => der.utf8String('\ud800'), /lone surrogates/);
  });

  test('PrintableString enforces its character set', () => {
    assert.equal(hex(der.printableString('US')), '13025553');
    assert.equal(hex(der.printableString("A-z 0'()+,./:=?")), `130f${ascii("A-z 0'()+,./:=?")}`);
    for (const bad of ['a@b', 'x_y', 'é', 'a*b']) assert.throws(() => der.printableString(bad), /PrintableString/, bad);
  });

  test('IA5String is 7-bit only', () => {
    assert.equal(hex(der.ia5String('a.b')), '1603612e62');
    assert.throws(() => der.ia5String('é'), /IA5String/);
  });
});

describe('time (RFC 5280 §4.1.2.5)', () => {
  test('UTCTime through 2049', () => {
    assert.equal(hex(der.time(new Date('2049-12-31T23:59:59.999Z'))), `170d${ascii('491231235959Z')}`);
    assert.equal(hex(der.time(new Date('2026-03-04T05:06:07Z'))), `170d${ascii('260304050607Z')}`);
    assert.equal(hex(der.time(new Date('1950-01-01T00:00:00Z'))), `170d${ascii('500101000000Z')}`);
  });

  test('GeneralizedTime from 2050 (and before 1950)', () => {
    assert.equal(hex(der.time(new Date('2050-01-01T00:00:00Z'))), `180f${ascii('20500101000000Z')}`);
    assert.equal(hex(der.time(new Date('9999-12-31T23:59:59Z'))), `180f${ascii('99991231235959Z')}`);
    assert.equal(hex(der.time(new Date('1949-12-31T23:59:59Z'))), `180f${ascii('19491231235959Z')}`);
  });

  test('explicit encoders refuse what they cannot represent', () => {
    assert.throws(() => der.utcTime(new Date('2050-01-01T00:00:00Z')), RangeError);
    assert.throws(() => der.utcTime(new Date('1949-12-31T23:59:59Z')), RangeError);
    assert.equal(hex(der.generalizedTime(new Date('2026-03-04T05:06:07.890Z'))), `180f${ascii('20260304050607Z')}`);
    assert.throws(() => der.generalizedTime(new Date('+010000-01-01T00:00:00Z')), RangeError);
    assert.throws(() => der.time(new Date(Number.NaN)), /invalid Date/);
  });
});

describe('BIT STRING, OCTET STRING, BOOLEAN, NULL', () => {
  test('bit strings carry an unused-bits octet', () => {
    assert.equal(hex(der.bitString(Buffer.from([0xaa, 0xbb]))), '030300aabb');
    assert.equal(hex(der.bitString(Buffer.from([0x80]), 7)), '03020780');
    assert.throws(() => der.bitString(Buffer.from([0x81]), 7), /must be zero/);
    assert.throws(() => der.bitString(Buffer.from([0x80]), 8), RangeError);
  });

  test('named bits drop trailing zero bits', () => {
    assert.equal(hex(der.namedBitString([0])), '03020780'); // digitalSignature
    assert.equal(hex(der.namedBitString([5, 6])), '03020106'); // keyCertSign + cRLSign
    assert.equal(hex(der.namedBitString([0, 2])), '030205a0'); // digitalSignature + keyEncipherment
    assert.equal(hex(der.namedBitString([0, 8])), '0303078080'); // decipherOnly spills into a second byte
    assert.equal(hex(der.namedBitString([])), '030100');
  });

  test('octet string, boolean and null', () => {
    assert.equal(hex(der.octetString(Buffer.from([1, 2]))), '04020102');
    assert.equal(hex(der.boolean(true)), '0101ff');
    assert.equal(hex(der.boolean(false)), '010100');
    assert.equal(hex(der.nullValue()), '0500');
  });
});

describe('constructed and context-specific', () => {
  test('SEQUENCE keeps order, SET OF sorts its elements', () => {
    assert.equal(hex(der.sequence(der.integer(2), der.integer(1))), '3006020102020101');
    assert.equal(hex(der.set(der.integer(2), der.integer(1))), '3106020101020102');
    assert.equal(hex(der.sequence()), '3000');
  });

  test('EXPLICIT wraps, IMPLICIT replaces the tag', () => {
    assert.equal(hex(der.explicit(0, der.integer(2))), 'a003020102'); // X.509 version v3
    assert.equal(hex(der.explicit(3, der.sequence())), 'a3023000');
    assert.equal(hex(der.implicit(2, Buffer.from('a'))), '820161'); // dNSName
    assert.equal(hex(der.implicit(7, Buffer.from([127, 0, 0, 1]))), '87047f000001'); // iPAddress
    assert.equal(hex(der.implicit(1, Buffer.alloc(0), true)), 'a100');
    assert.throws(() => der.explicit(31, der.nullValue()), RangeError);
    assert.throws(() => der.implicit(-1, Buffer.alloc(0)), RangeError);
  });
});

describe('reader', () => {
  test('round-trips nested structures', () => {
    const enc = der.sequence(der.integer(5), der.explicit(0, der.octetString(Buffer.alloc(200, 7))));
    const top = der.readSingle(enc);
    assert.equal(top.tag, 0x30);
    const [i, wrapped] = der.readChildren(top);
    assert.equal(hex(i?.raw ?? Buffer.alloc(0)), '020105');
    assert.equal(wrapped?.tag, 0xa0);
    const inner = der.readSingle(wrapped?.content ?? Buffer.alloc(0));
    assert.equal(inner.tag, 0x04);
    assert.deepEqual(inner.content, Buffer.alloc(200, 7));
  });

  test('rejects what DER forbids', () => {
    assert.throws(() => der.readSingle(Buffer.from('30800201050000', 'hex')), /indefinite length/);
    assert.throws(() => der.readSingle(Buffer.from('0481050102030405', 'hex')), /non-minimal length/);
    assert.throws(() => der.readSingle(Buffer.from('020105ff', 'hex')), /trailing/);
    assert.throws(() => der.readSingle(Buffer.from('020201', 'hex')), /past the end/);
    assert.throws(() => der.readSingle(Buffer.from('02', 'hex')), /truncated/);
  });
});
