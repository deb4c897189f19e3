/**
 * X.509 v3 certificate builder (RFC 5280) on top of the DER encoder, plus the few readers
 * certs.ts needs to chain a leaf onto an existing CA certificate byte-exactly.
 */
import { createHash, type KeyObject, sign } from 'node:crypto';
import { isIP } from 'node:net';
import * as der from './der.ts';

export const OID = {
  commonName: '2.5.4.3',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** KeyUsage named bits (RFC 5280 §4.2.1.3). */
export const KEY_USAGE = {
  digitalSignature: 0,
  contentCommitment: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
} as const;

export interface Extension {
  oid: string;
  critical: boolean;
  /** DER of the extension's value; wrapped in the extnValue OCTET STRING by the builder. */
  value: Uint8Array;
}

export interface CertificateSpec {
  /** Unsigned big-endian magnitude; encoded as a positive INTEGER. */
  serialNumber: Uint8Array;
  /** DER Name. For a leaf this must be the issuing CA's subject, byte for byte. */
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  extensions: readonly Extension[];
}

/** Signs the TBSCertificate with `signingKey` and returns the DER Certificate. */
export function buildCertificate(spec: CertificateSpec, signingKey: KeyObject): Buffer {
  if (spec.notAfter.getTime() <= spec.notBefore.getTime()) throw new Error('certificate notAfter must be after notBefore');
  if (spec.serialNumber.every((b) => b === 0)) throw new Error('certificate serial number must be positive');
  const serial = der.integer(spec.serialNumber);
  if (der.readSingle(serial).content.length > 20) throw new Error('certificate serial number must encode in at most 20 octets (RFC 5280 §4.1.2.2)');
  if (signingKey.type !== 'private') throw new Error('certificate signing key must be a private key');
  const algorithm = signatureAlgorithm(signingKey);
  const oids = spec.extensions.map((e) => e.oid);
  if (new Set(oids).size !== oids.length) throw new Error('a certificate must not include the same extension twice');

  const tbs = der.sequence(
    der.explicit(0, der.integer(2)), // version v3
    serial,
    algorithm,
    spec.issuer,
    der.sequence(der.time(spec.notBefore), der.time(spec.notAfter)),
    spec.subject,
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    ...(spec.extensions.length > 0 ? [der.explicit(3, der.sequence(...spec.extensions.map(encodeExtension)))] : []),
  );
  // ECDSA signatures come out as DER Ecdsa-Sig-Value by default, which is what X.509 carries.
  const signature = sign('sha256', tbs, signingKey);
  return der.sequence(tbs, algorithm, der.bitString(signature));
}

function signatureAlgorithm(key: KeyObject): Buffer {
  switch (key.asymmetricKeyType) {
    case 'ec':
      return der.sequence(der.oid(OID.ecdsaWithSHA256)); // parameters absent (RFC 5758 §3.2)
    case 'rsa':
      return der.sequence(der.oid(OID.sha256WithRSAEncryption), der.nullValue()); // NULL parameters (RFC 4055 §5)
    default:
      throw new Error(`unsupported signing key type "${key.asymmetricKeyType}": expected an EC or RSA private key`);
  }
}

function encodeExtension(e: Extension): Buffer {
  // critical is BOOLEAN DEFAULT FALSE, so DER omits it when false.
  return der.sequence(der.oid(e.oid), ...(e.critical ? [der.boolean(true)] : []), der.octetString(e.value));
}

/** A Name holding a single CN, as UTF8String. */
export function commonNameOnly(cn: string): Buffer {
  return der.sequence(der.set(der.sequence(der.oid(OID.commonName), der.utf8String(cn))));
}

export function basicConstraints(ca: boolean, pathLength?: number): Extension {
  if (pathLength !== undefined && (!ca || !Number.isInteger(pathLength) || pathLength < 0)) {
    throw new Error('pathLenConstraint must be a non-negative integer and only applies to a CA');
  }
  // cA is BOOLEAN DEFAULT FALSE: a leaf encodes as an empty SEQUENCE.
  const body = ca ? [der.boolean(true), ...(pathLength !== undefined ? [der.integer(pathLength)] : [])] : [];
  return { oid: OID.basicConstraints, critical: true, value: der.sequence(...body) };
}

export function keyUsage(bits: readonly number[]): Extension {
  return { oid: OID.keyUsage, critical: true, value: der.namedBitString(bits) };
}

export function extKeyUsage(purposes: readonly string[]): Extension {
  return { oid: OID.extKeyUsage, critical: false, value: der.sequence(...purposes.map(der.oid)) };
}

/** dNSName is [2] IMPLICIT IA5String, iPAddress is [7] IMPLICIT OCTET STRING of 4 or 16 bytes. */
export function subjectAltName(dnsNames: readonly string[], ipAddresses: readonly Uint8Array[]): Extension {
  if (dnsNames.length + ipAddresses.length === 0) throw new Error('subjectAltName needs at least one name');
  const names = [
    ...dnsNames.map((n) => der.implicit(2, der.readSingle(der.ia5String(n)).content)),
    ...ipAddresses.map((ip) => {
      if (ip.length !== 4 && ip.length !== 16) throw new Error(`an iPAddress must be 4 or 16 bytes, got ${ip.length}`);
      return der.implicit(7, ip);
    }),
  ];
  return { oid: OID.subjectAltName, critical: false, value: der.sequence(...names) };
}

export function subjectKeyIdentifier(keyId: Uint8Array): Extension {
  return { oid: OID.subjectKeyIdentifier, critical: false, value: der.octetString(keyId) };
}

/** AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING, ... } */
export function authorityKeyIdentifier(keyId: Uint8Array): Extension {
  return { oid: OID.authorityKeyIdentifier, critical: false, value: der.sequence(der.implicit(0, keyId)) };
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value (not the whole SPKI). */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = der.readSingle(publicKey.export({ type: 'spki', format: 'der' }));
  const bits = der.readChildren(spki)[1];
  if (!bits || bits.tag !== der.TAG.BIT_STRING) throw new Error('unexpected SubjectPublicKeyInfo structure');
  return createHash('sha1').update(bits.content.subarray(1)).digest();
}

export function toPem(derBytes: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(derBytes).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

/** IPv4 dotted quad or IPv6 text (with "::" and an embedded IPv4 tail allowed, zone IDs not) to 4 or 16 bytes. */
export function parseIp(ip: unknown): Buffer {
  if (typeof ip !== 'string') throw new Error('IP addresses must be strings');
  const kind = ip.includes('%') ? 0 : isIP(ip);
  if (kind === 4) return Buffer.from(ip.split('.').map(Number));
  if (kind !== 6) throw new Error(`invalid IP address "${ip}": expected IPv4 (192.0.2.1) or IPv6 (2001:db8::1) without a zone`);
  let text = ip;
  const tail = ip.slice(ip.lastIndexOf(':') + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    text = `${ip.slice(0, ip.length - tail.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves[1] ? halves[1].split(':') : [];
  const groups = halves.length === 2 ? [...head, ...Array<string>(8 - head.length - rest.length).fill('0'), ...rest] : head;
  if (groups.length !== 8) throw new Error(`invalid IP address "${ip}"`);
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  return out;
}

/** 4 or 16 bytes to text; IPv6 in RFC 5952 canonical form (lower case, longest zero run of 2+ groups as "::"). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new Error(`an IP address is 4 or 16 bytes, got ${bytes.length}`);
  const groups = Array.from({ length: 8 }, (_, i) => (((bytes[2 * i] as number) << 8) | (bytes[2 * i + 1] as number)).toString(16));
  let bestStart = -1;
  let bestLen = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

// ---- reading ------------------------------------------------------------------------------

export interface ParsedCertificate {
  /** Raw DER of the subject Name, to reuse as a leaf's issuer. */
  subject: Buffer;
  issuer: Buffer;
  extensions: { oid: Buffer; critical: boolean; value: Buffer }[];
}

/** Splits a DER certificate into the parts certs.ts needs; node:crypto does not expose them. */
export function parseCertificate(certDer: Buffer): ParsedCertificate {
  const cert = der.readSingle(certDer);
  const tbs = cert.tag === der.TAG.SEQUENCE ? der.readChildren(cert)[0] : undefined;
  if (!tbs || tbs.tag !== der.TAG.SEQUENCE) throw new Error('not an X.509 certificate');
  const fields = der.readChildren(tbs);
  const body = fields[0]?.tag === 0xa0 ? fields.slice(1) : fields; // optional [0] version
  const [, , issuer, , subject] = body; // serial, signature, issuer, validity, subject, spki, ...
  if (!issuer || !subject) throw new Error('truncated TBSCertificate');
  const extensions: ParsedCertificate['extensions'] = [];
  const extsWrapper = body.find((f) => f.tag === 0xa3);
  if (extsWrapper) {
    const [list] = der.readChildren(extsWrapper);
    for (const ext of list ? der.readChildren(list) : []) {
      const parts = der.readChildren(ext);
      const critical = parts.length === 3 && parts[1]?.tag === der.TAG.BOOLEAN && parts[1].content[0] !== 0;
      const oidEl = parts[0];
      const value = parts[parts.length - 1];
      if (!oidEl || oidEl.tag !== der.TAG.OID || !value || value.tag !== der.TAG.OCTET_STRING) throw new Error('malformed certificate extension');
      extensions.push({ oid: oidEl.content, critical, value: value.content });
    }
  }
  return { subject: Buffer.from(subject.raw), issuer: Buffer.from(issuer.raw), extensions };
}

export function findExtension(cert: ParsedCertificate, oid: string): { critical: boolean; value: Buffer } | undefined {
  const want = der.readSingle(der.oid(oid)).content;
  return cert.extensions.find((e) => e.oid.equals(want));
}

/** The subjectKeyIdentifier value, if the certificate has one. */
export function readSubjectKeyIdentifier(cert: ParsedCertificate): Buffer | undefined {
  const ext = findExtension(cert, OID.subjectKeyIdentifier);
  if (!ext) return undefined;
  const el = der.readSingle(ext.value);
  if (el.tag !== der.TAG.OCTET_STRING) throw new Error('malformed subjectKeyIdentifier');
  return Buffer.from(el.content);
}

/** dNSName and iPAddress entries of the subjectAltName; other name forms are ignored. */
export function readSubjectAltName(cert: ParsedCertificate): { dnsNames: string[]; ipAddresses: Buffer[] } {
  const out = { dnsNames: [] as string[], ipAddresses: [] as Buffer[] };
  const ext = findExtension(cert, OID.subjectAltName);
  if (!ext) return out;
  const seq = der.readSingle(ext.value);
  if (seq.tag !== der.TAG.SEQUENCE) throw new Error('malformed subjectAltName');
  for (const name of der.readChildren(seq)) {
    if (name.tag === 0x82) out.dnsNames.push(name.content.toString('ascii'));
    else if (name.tag === 0x87) out.ipAddresses.push(Buffer.from(name.content));
  }
  return out;
}
