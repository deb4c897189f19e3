/**
 * Minimal DER (X.690) encoder for building X.509 certificates, plus a small strict reader used to
 * pull fields back out of certificates (issuer name, key identifiers, subjectAltName). Only what
 * certificates need: low tag numbers (0..30), definite lengths, primitive strings.
 */

export type Der = Buffer;

/** Universal-class identifier octets (SEQUENCE and SET include the constructed bit). */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

const CONTEXT = 0x80;
const CONSTRUCTED = 0x20;

/** Definite-length encoding: short form below 128, otherwise 0x80|n followed by n big-endian bytes. */
export function encodeLength(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`DER length must be a non-negative integer, got ${n}`);
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with an already-computed identifier octet. */
export function tlv(tag: number, content: Uint8Array): Der {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) {
    throw new RangeError(`DER tag must be a single identifier octet with a low tag number, got ${tag}`);
  }
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export function sequence(...items: Uint8Array[]): Der {
  return tlv(TAG.SEQUENCE, Buffer.concat(items));
}

/** SET OF: DER requires the encoded elements in ascending byte order (X.690 §11.6). */
export function set(...items: Uint8Array[]): Der {
  const sorted = items.map((i) => Buffer.from(i)).sort(Buffer.compare);
  return tlv(TAG.SET, Buffer.concat(sorted));
}

export function boolean(v: boolean): Der {
  return tlv(TAG.BOOLEAN, Buffer.from([v ? 0xff : 0x00]));
}

export function nullValue(): Der {
  return tlv(TAG.NULL, Buffer.alloc(0));
}

/**
 * INTEGER in minimal two's complement. A number or bigint may be negative; a byte array is read as
 * an unsigned big-endian magnitude (certificate serials), so a set high bit gets a leading 0x00 to
 * stay positive and redundant leading zero bytes are dropped.
 */
export function integer(v: number | bigint | Uint8Array): Der {
  if (v instanceof Uint8Array) {
    let start = 0;
    while (start < v.length - 1 && v[start] === 0) start++;
    const mag = Buffer.from(v.subarray(start));
    if (mag.length === 0) return tlv(TAG.INTEGER, Buffer.from([0]));
    return tlv(TAG.INTEGER, (mag[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), mag]) : mag);
  }
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new RangeError(`DER INTEGER must be a safe integer or a bigint, got ${v}`);
  let n = BigInt(v);
  const bytes: number[] = [];
  // Emit low bytes until the remaining value is pure sign extension of the last emitted byte.
  for (;;) {
    const byte = Number(n & 0xffn);
    bytes.unshift(byte);
    n >>= 8n; // arithmetic shift: stays -1 for negatives
    if ((n === 0n && (byte & 0x80) === 0) || (n === -1n && (byte & 0x80) !== 0)) break;
  }
  return tlv(TAG.INTEGER, Buffer.from(bytes));
}

/** OBJECT IDENTIFIER from dotted form; the first two arcs share one subidentifier (40·a + b). */
export function oid(dotted: string): Der {
  if (!/^[0-9]+(\.[0-9]+)+$/.test(dotted)) throw new Error(`invalid OID "${dotted}": expected dotted decimal with at least two arcs`);
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const [first, second] = arcs as [bigint, bigint];
  if (first > 2n) throw new Error(`invalid OID "${dotted}": first arc must be 0, 1 or 2`);
  if (first < 2n && second > 39n) throw new Error(`invalid OID "${dotted}": second arc must be below 40 when the first is 0 or 1`);
  const out: number[] = [];
  for (const sub of [first * 40n + second, ...arcs.slice(2)]) {
    const chunk = [Number(sub & 0x7fn)];
    for (let s = sub >> 7n; s > 0n; s >>= 7n) chunk.unshift(Number(s & 0x7fn) | 0x80);
    out.push(...chunk);
  }
  return tlv(TAG.OID, Buffer.from(out));
}

export function utf8String(s: string): Der {
  if (!s.isWellFormed()) throw new Error('UTF8String must not contain lone surrogates');
  return tlv(TAG.UTF8_STRING, Buffer.from(s, 'utf8'));
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
export function printableString(s: string): Der {
  if (!PRINTABLE.test(s)) throw new Error(`"${s}" contains characters not allowed in a PrintableString`);
  return tlv(TAG.PRINTABLE_STRING, Buffer.from(s, 'ascii'));
}

export function ia5String(s: string): Der {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: IA5 is exactly the 7-bit range
  if (!/^[\x00-\x7f]*$/.test(s)) throw new Error(`"${s}" contains characters not allowed in an IA5String`);
  return tlv(TAG.IA5_STRING, Buffer.from(s, 'ascii'));
}

export function octetString(content: Uint8Array): Der {
  return tlv(TAG.OCTET_STRING, content);
}

/** BIT STRING whose content is whole bytes (signatures, keys) or has `unusedBits` padding bits at the end. */
export function bitString(content: Uint8Array, unusedBits = 0): Der {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7) throw new RangeError(`BIT STRING unused bits must be 0..7, got ${unusedBits}`);
  if (unusedBits > 0 && content.length === 0) throw new RangeError('an empty BIT STRING cannot have unused bits');
  if (unusedBits > 0 && ((content[content.length - 1] as number) & ((1 << unusedBits) - 1)) !== 0) {
    throw new RangeError('BIT STRING unused bits must be zero in DER');
  }
  return tlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), content]));
}

/**
 * BIT STRING for a named-bit list such as KeyUsage, where bit 0 is the most significant bit of the
 * first byte. DER drops trailing zero bits (X.690 §11.2.2), so the length depends on the highest bit set.
 */
export function namedBitString(bits: readonly number[]): Der {
  if (bits.length === 0) return bitString(Buffer.alloc(0));
  for (const b of bits) if (!Number.isInteger(b) || b < 0) throw new RangeError(`named bit must be a non-negative integer, got ${b}`);
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const b of bits) bytes[b >> 3] = (bytes[b >> 3] as number) | (0x80 >> (b & 7));
  return bitString(bytes, 7 - (highest & 7));
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function checkDate(d: Date): void {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new Error('invalid Date');
}

/** YYMMDDHHMMSSZ; years 1950..2049 only (RFC 5280 §4.1.2.5.1). Sub-second precision is truncated. */
export function utcTime(d: Date): Der {
  checkDate(d);
  const y = d.getUTCFullYear();
  if (y < 1950 || y > 2049) throw new RangeError(`UTCTime can only represent years 1950..2049, got ${y}`);
  const s = `${pad(y % 100, 2)}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}${pad(d.getUTCHours(), 2)}${pad(d.getUTCMinutes(), 2)}${pad(d.getUTCSeconds(), 2)}Z`;
  return tlv(TAG.UTC_TIME, Buffer.from(s, 'ascii'));
}

/** YYYYMMDDHHMMSSZ without fractional seconds (RFC 5280 §4.1.2.5.2). Sub-second precision is truncated. */
export function generalizedTime(d: Date): Der {
  checkDate(d);
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw new RangeError(`GeneralizedTime can only represent years 0000..9999, got ${y}`);
  const s = `${pad(y, 4)}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}${pad(d.getUTCHours(), 2)}${pad(d.getUTCMinutes(), 2)}${pad(d.getUTCSeconds(), 2)}Z`;
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(s, 'ascii'));
}

/** X.509 Time: UTCTime through 2049, GeneralizedTime from 2050 (and before 1950, which UTCTime cannot express). */
export function time(d: Date): Der {
  checkDate(d);
  const y = d.getUTCFullYear();
  return y >= 1950 && y <= 2049 ? utcTime(d) : generalizedTime(d);
}

/** [n] EXPLICIT: a constructed context-specific wrapper around complete encodings. */
export function explicit(tagNumber: number, ...inner: Uint8Array[]): Der {
  return tlv(contextTag(tagNumber, true), Buffer.concat(inner));
}

/** [n] IMPLICIT: replaces the tag of the underlying type; pass that type's content octets. */
export function implicit(tagNumber: number, content: Uint8Array, constructed = false): Der {
  return tlv(contextTag(tagNumber, constructed), content);
}

function contextTag(n: number, constructed: boolean): number {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new RangeError(`context-specific tag number must be 0..30, got ${n}`);
  return CONTEXT | (constructed ? CONSTRUCTED : 0) | n;
}

// ---- reading ------------------------------------------------------------------------------

export interface Element {
  /** The identifier octet, e.g. 0x30 for SEQUENCE, 0xa3 for [3] EXPLICIT. */
  tag: number;
  /** Content octets. */
  content: Buffer;
  /** The whole TLV, header included. */
  raw: Buffer;
}

/** Reads one element at `offset`, rejecting what DER forbids (indefinite or non-minimal lengths). */
export function readElement(buf: Buffer, offset = 0): Element {
  const fail = (why: string): never => {
    throw new Error(`malformed DER at offset ${offset}: ${why}`);
  };
  if (offset + 2 > buf.length) fail('truncated header');
  const tag = buf[offset] as number;
  if ((tag & 0x1f) === 0x1f) fail('high tag numbers are not supported');
  let len = buf[offset + 1] as number;
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) fail('indefinite length is not allowed in DER');
    if (n > 4) fail('length too large');
    if (pos + n > buf.length) fail('truncated length');
    if (buf[pos] === 0) fail('non-minimal length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[pos + i] as number);
    if (len < 0x80) fail('non-minimal length');
    pos += n;
  }
  if (pos + len > buf.length) fail('content runs past the end of the input');
  return { tag, content: buf.subarray(pos, pos + len), raw: buf.subarray(offset, pos + len) };
}

/** Parses `buf` as exactly one element, with nothing trailing. */
export function readSingle(buf: Buffer): Element {
  const el = readElement(buf, 0);
  if (el.raw.length !== buf.length) throw new Error(`malformed DER: ${buf.length - el.raw.length} trailing bytes`);
  return el;
}

/** The elements inside a constructed element's content. */
export function readChildren(parent: Element): Element[] {
  const out: Element[] = [];
  for (let off = 0; off < parent.content.length; ) {
    const el = readElement(parent.content, off);
    out.push(el);
    off += el.raw.length;
  }
  return out;
}
