/**
 * Kubernetes resource quantities ("100m", "1Gi", "1e3", "0.5"), parsed exactly into a scaled
 * BigInt so requests and limits compare the way the API server compares them.
 */
const SUFFIX: Record<string, [bigint, number]> = {
  // [multiplier numerator, power of ten]
  '': [1n, 0],
  n: [1n, -9],
  u: [1n, -6],
  m: [1n, -3],
  k: [1n, 3],
  M: [1n, 6],
  G: [1n, 9],
  T: [1n, 12],
  P: [1n, 15],
  E: [1n, 18],
  Ki: [1024n, 0],
  Mi: [1024n ** 2n, 0],
  Gi: [1024n ** 3n, 0],
  Ti: [1024n ** 4n, 0],
  Pi: [1024n ** 5n, 0],
  Ei: [1024n ** 6n, 0],
};

const PATTERN = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?[0-9]+))?$/;
const SCALE = 30; // value × 10^30 as an integer: exact for every suffix above

const POW10: bigint[] = Array.from({ length: 2 * SCALE + 130 }, (_, i) => 10n ** BigInt(i));
const pow10 = (n: number): bigint => POW10[n] ?? 10n ** BigInt(n);

// Pods repeat the same few quantities ("100m", "128Mi"); parsing is BigInt work worth remembering.
const cache = new Map<string, bigint | undefined>();

/**
 * Longest quantity accepted. The API server keeps quantities as int64 values with at most nano
 * precision: every such value is written in under 32 characters ("-9223372036854775807.999999999"),
 * so a longer string is padding at best; and parsing a longer one is BigInt work that grows with
 * its length (3 MB of digits cost seconds).
 */
export const MAX_QUANTITY_LENGTH = 64;

/** @example parseQuantity('1500m') === parseQuantity('1.5') // true */
export function parseQuantity(q: string): bigint | undefined {
  if (q.length > MAX_QUANTITY_LENGTH) return undefined;
  if (cache.has(q)) return cache.get(q);
  const v = parse(q);
  if (q.length > 40) return v; // real quantities are short; the cache must not hold arbitrary input
  if (cache.size >= 4096) cache.clear();
  cache.set(q, v);
  return v;
}

function parse(q: string): bigint | undefined {
  const m = PATTERN.exec(q);
  if (!m) return undefined;
  const [, sign, num, suffix, exp] = m as unknown as [string, string, string, string | undefined, string | undefined];
  const [intPart, fracPart = ''] = num.split('.');
  let [mult, pow] = SUFFIX[suffix ?? ''] as [bigint, number];
  if (exp !== undefined) {
    const e = Number(exp);
    if (Math.abs(e) > 60) return undefined;
    pow = e;
  }
  const shift = SCALE + pow - fracPart.length;
  const digits = BigInt(`${intPart || '0'}${fracPart}`) * mult;
  const scaled = shift >= 0 ? digits * pow10(shift) : digits / pow10(-shift);
  return sign === '-' ? -scaled : scaled;
}
