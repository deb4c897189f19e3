/**
 * In-process certificate authority for the webhook's serving certificates, built on node:crypto
 * alone (no openssl binary, no npm dependency): ECDSA P-256 keys, SHA-256 signatures, PEM out.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { dns1123Subdomain } from '../common/k8s-names.ts';
import * as der from './der.ts';
import {
  authorityKeyIdentifier,
  basicConstraints,
  buildCertificate,
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
  readSubjectKeyIdentifier,
  subjectAltName,
  subjectKeyIdentifier,
  toPem,
} from './x509.ts';

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}
export interface CertificateAuthority extends KeyPairPem {}

const DAY_MS = 86_400_000;
/** Both CA and leaf are backdated so a peer whose clock runs slightly behind still accepts them. */
export const CLOCK_SKEW_MS = 5 * 60_000;
const MAX_NOT_AFTER = Date.UTC(9999, 11, 31, 23, 59, 59); // GeneralizedTime cannot go further

/** ECDSA P-256 self-signed CA: basicConstraints CA:true (critical), keyUsage keyCertSign+cRLSign (critical), subjectKeyIdentifier. */
export function generateCA(opts: { commonName: string; validityDays?: number; now?: Date }): CertificateAuthority {
  const commonName = checkCommonName(opts.commonName);
  const now = checkNow(opts.now);
  const notAfter = notAfterFor(now, opts.validityDays, 3650);
  const { publicKey, privateKey } = newKeyPair();
  const name = commonNameOnly(commonName);
  const certDer = buildCertificate(
    {
      serialNumber: randomSerial(),
      issuer: name,
      subject: name,
      notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
      notAfter,
      publicKey,
      extensions: [
        // pathLen 0: this CA only ever signs leaves, so it must not be usable to mint intermediates.
        basicConstraints(true, 0),
        keyUsage([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]),
        subjectKeyIdentifier(keyIdentifier(publicKey)),
      ],
    },
    privateKey,
  );
  return { certPem: toPem(certDer), keyPem: exportKey(privateKey) };
}

/**
 * Leaf signed by `ca`: subjectAltName dNSNames + iPAddresses (IPv4 and IPv6), extKeyUsage serverAuth (and clientAuth if `client: true`),
 * keyUsage digitalSignature (critical), basicConstraints CA:false, authorityKeyIdentifier, subjectKeyIdentifier, random 16-byte positive
 * serial, notBefore = now - 5 minutes (clock skew). notAfter is capped at the CA's notAfter, since the leaf cannot verify past it.
 */
export function generateServingCert(opts: {
  ca: CertificateAuthority;
  commonName: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  validityDays?: number;
  /** Overrides validityDays for short-lived certificates (aggressive rotation, rotation tests). */
  validitySeconds?: number;
  now?: Date;
  client?: boolean;
}): KeyPairPem {
  const commonName = checkCommonName(opts.commonName);
  const now = checkNow(opts.now);
  const dnsNames = unique((opts.dnsNames ?? []).map(checkDnsName));
  const ipBytes = uniqueBytes((opts.ipAddresses ?? []).map(parseIp));
  if (dnsNames.length === 0 && ipBytes.length === 0) {
    throw new Error('a serving certificate needs at least one DNS name or IP address (clients match the subjectAltName, not the common name)');
  }
  let notAfter = opts.validitySeconds !== undefined ? notAfterSeconds(now, opts.validitySeconds) : notAfterFor(now, opts.validityDays, 365);

  const { cert: caCert, key: caKey } = loadCA(opts.ca);
  if (now.getTime() >= caCert.validToDate.getTime()) throw new Error(`the CA certificate expired at ${caCert.validToDate.toISOString()}`);
  if (now.getTime() < caCert.validFromDate.getTime()) throw new Error(`the CA certificate is not valid before ${caCert.validFromDate.toISOString()}`);
  if (notAfter.getTime() > caCert.validToDate.getTime()) notAfter = caCert.validToDate;
  const caParts = parseCertificate(caCert.raw);
  // The AKI must equal the CA's own SKI, whatever method produced it, or OpenSSL rejects the chain.
  const authorityKeyId = readSubjectKeyIdentifier(caParts) ?? keyIdentifier(caCert.publicKey);

  const { publicKey, privateKey } = newKeyPair();
  const certDer = buildCertificate(
    {
      serialNumber: randomSerial(),
      issuer: caParts.subject, // byte-exact copy: Go and others compare issuer names as raw DER
      subject: commonNameOnly(commonName),
      notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
      notAfter,
      publicKey,
      extensions: [
        basicConstraints(false),
        // ECDHE + ECDSA needs only digitalSignature; keyEncipherment is for RSA key transport.
        keyUsage([KEY_USAGE.digitalSignature]),
        extKeyUsage(opts.client ? [OID.serverAuth, OID.clientAuth] : [OID.serverAuth]),
        subjectAltName(dnsNames, ipBytes),
        subjectKeyIdentifier(keyIdentifier(publicKey)),
        authorityKeyIdentifier(authorityKeyId),
      ],
    },
    caKey,
  );
  return { certPem: toPem(certDer), keyPem: exportKey(privateKey) };
}

/** For renewal logic and metrics: parsed with node:crypto X509Certificate. */
export function certificateInfo(certPem: string): {
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
  isCA: boolean;
  fingerprint256: string;
} {
  const cert = new X509Certificate(certPem);
  // Read the SAN from the DER: X509Certificate.subjectAltName is a display string with quoting rules.
  const san = readSubjectAltName(parseCertificate(cert.raw));
  return {
    notBefore: cert.validFromDate,
    notAfter: cert.validToDate,
    dnsNames: san.dnsNames,
    ipAddresses: san.ipAddresses.filter((b) => b.length === 4 || b.length === 16).map(formatIp),
    isCA: cert.ca,
    fingerprint256: cert.fingerprint256,
  };
}

/**
 * True when `certPem` was issued by `caPem` and is currently valid (X509Certificate.checkIssued + verify).
 * "Currently valid" covers both certificates at `now`, and `caPem` must be a CA. Unparseable input
 * yields false rather than an exception, so renewal logic regenerates instead of crash-looping.
 */
export function verifiesWith(certPem: string, caPem: string, now: Date = new Date()): boolean {
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    ca = new X509Certificate(caPem);
  } catch {
    return false;
  }
  if (!ca.ca || !cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
  const t = now.getTime();
  const within = (c: X509Certificate): boolean => c.validFromDate.getTime() <= t && t <= c.validToDate.getTime();
  return within(cert) && within(ca);
}

/** The PEM certificate blocks of a bundle, each ending in a newline. */
export function pemCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)?.map((p) => (p.endsWith('\n') ? p : `${p}\n`)) ?? [];
}

/** When the certificate of a bundle that lives longest expires (the newest CA, during a rotation); undefined for no certificate. */
export function latestNotAfter(pem: string): Date | undefined {
  let latest: Date | undefined;
  for (const block of pemCertificates(pem)) {
    const t = new X509Certificate(block).validToDate;
    if (!latest || t > latest) latest = t;
  }
  return latest;
}

/**
 * Why a PEM bundle cannot serve as a CA to verify peers, or undefined when every certificate in it
 * is a CA (basicConstraints CA:TRUE, and keyCertSign when keyUsage is present). A leaf given as a
 * client CA would otherwise be accepted by OpenSSL and authenticate nobody, or the wrong party.
 */
export function caBundleProblem(pem: string): string | undefined {
  const blocks = pemCertificates(pem);
  if (blocks.length === 0) return 'no PEM certificate in it';
  for (const [i, block] of blocks.entries()) {
    const where = blocks.length > 1 ? `certificate ${i + 1} of ${blocks.length}` : 'the certificate';
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block);
    } catch (e) {
      return `${where} is not a valid certificate (${(e as Error).message})`;
    }
    const subject = cert.subject.replaceAll('\n', ', ');
    let ext: ReturnType<typeof caExtensions>;
    try {
      ext = caExtensions(cert);
    } catch (e) {
      return `${where} (${subject}) has malformed extensions (${(e as Error).message})`;
    }
    if (!ext.isCa) return `${where} (${subject}) is not a CA certificate (basicConstraints CA:TRUE is missing)`;
    if (!ext.signsCertificates) return `${where} (${subject}) may not sign certificates (its keyUsage lacks keyCertSign)`;
  }
  return undefined;
}

/**
 * basicConstraints cA, and keyUsage keyCertSign (RFC 5280 §4.2.1.3, §4.2.1.9; an absent keyUsage
 * allows any use). Read from the DER: node's X509Certificate.ca folds both into one answer.
 */
function caExtensions(cert: X509Certificate): { isCa: boolean; signsCertificates: boolean } {
  const parsed = parseCertificate(cert.raw);
  const bc = findExtension(parsed, OID.basicConstraints);
  const first = bc ? der.readChildren(der.readSingle(bc.value))[0] : undefined;
  const isCa = first?.tag === der.TAG.BOOLEAN && first.content[0] !== 0;
  const ku = findExtension(parsed, OID.keyUsage);
  if (!ku) return { isCa, signsCertificates: true };
  const bits = der.readSingle(ku.value);
  const byte = bits.tag === der.TAG.BIT_STRING ? (bits.content[1 + Math.floor(KEY_USAGE.keyCertSign / 8)] ?? 0) : 0;
  return { isCa, signsCertificates: (byte & (0x80 >> (KEY_USAGE.keyCertSign % 8))) !== 0 };
}

// ---- helpers ------------------------------------------------------------------------------

function newKeyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

function exportKey(privateKey: KeyObject): string {
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** 16 random bytes read as an unsigned integer; the DER encoder adds a 0x00 when the top bit is set. */
function randomSerial(): Buffer {
  for (;;) {
    const b = randomBytes(16);
    if (b.some((x) => x !== 0)) return b;
  }
}

function loadCA(ca: CertificateAuthority): { cert: X509Certificate; key: KeyObject } {
  if (!ca || typeof ca.certPem !== 'string' || typeof ca.keyPem !== 'string') throw new Error('ca must have certPem and keyPem strings');
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(ca.certPem);
  } catch (e) {
    throw new Error(`ca.certPem is not a valid PEM certificate: ${(e as Error).message}`);
  }
  try {
    key = createPrivateKey(ca.keyPem);
  } catch (e) {
    throw new Error(`ca.keyPem is not a valid PEM private key: ${(e as Error).message}`);
  }
  if (!cert.ca) throw new Error('ca.certPem is not a CA certificate (basicConstraints CA:true is missing)');
  if (!cert.checkPrivateKey(key)) throw new Error('ca.keyPem does not match the public key in ca.certPem');
  return { cert, key };
}

function checkCommonName(cn: unknown): string {
  if (typeof cn !== 'string' || cn.length === 0) throw new Error('commonName must be a non-empty string');
  // ub-common-name (RFC 5280 Appendix A); the names clients check live in the subjectAltName anyway.
  if ([...cn].length > 64) throw new Error(`commonName "${cn}" is longer than 64 characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\x00-\x1f\x7f]/.test(cn)) throw new Error('commonName must not contain control characters');
  if (!cn.isWellFormed()) throw new Error('commonName must be well-formed Unicode');
  return cn;
}

function checkNow(now: Date | undefined): Date {
  if (now === undefined) return new Date();
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new Error('now must be a valid Date');
  return now;
}

function notAfterSeconds(now: Date, seconds: number): Date {
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1)
    throw new Error(`validitySeconds must be an integer of at least 1, got ${seconds}`);
  return new Date(now.getTime() + seconds * 1000);
}

function notAfterFor(now: Date, validityDays: number | undefined, fallback: number): Date {
  const days = validityDays ?? fallback;
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1) throw new Error(`validityDays must be an integer of at least 1, got ${days}`);
  const t = now.getTime() + days * DAY_MS;
  if (!(t <= MAX_NOT_AFTER)) throw new Error(`validityDays ${days} puts notAfter past 9999-12-31, the latest date X.509 can express`);
  return new Date(t);
}

/** A DNS-1123 subdomain, or "*." followed by one (wildcards only as the whole leftmost label). */
function checkDnsName(name: unknown): string {
  if (typeof name !== 'string') throw new Error('DNS names must be strings');
  if (name === '') throw new Error('DNS name must not be empty');
  const base = name.startsWith('*.') ? name.slice(2) : name;
  let problem: string | undefined;
  if (name.length > 253) problem = 'must be no more than 253 characters';
  else problem = dns1123Subdomain(base) ?? (base.split('.').some((l) => l.length > 63) ? 'has a label longer than 63 characters' : undefined);
  if (problem) throw new Error(`invalid DNS name "${name}": ${problem}; expected a DNS-1123 subdomain or "*." followed by one`);
  return name;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}

function uniqueBytes(xs: Buffer[]): Buffer[] {
  const seen = new Set<string>();
  return xs.filter((b) => {
    const k = b.toString('hex');
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
