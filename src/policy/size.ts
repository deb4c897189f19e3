/**
 * The API server's bound on one CEL expression: it refuses a policy holding an expression of more
 * than 100,000 Unicode code points (its CEL environment's expression size limit; the error reads
 * "expression code point size exceeds limit"). A set's expressions grow with its profiles, so the
 * compiler measures what it made and refuses the profiles that would not fit.
 */
import { isObject, type JsonValue } from '../common/json.ts';

export const MAX_EXPRESSION_CODE_POINTS = 100_000;

/**
 * The largest policy object compiled, as JSON: etcd stores no object above 1.5 MiB (its default
 * `--max-request-bytes`), and the API server adds metadata and server-side apply's managed fields,
 * so 64 KiB are left for those.
 */
export const MAX_POLICY_BYTES = 1_572_864 - 65_536;

/**
 * How many profiles one set may hold. A set's policy grows faster than its profiles (each profile's
 * part reads what every one before it added), and a tenant may write any number of profiles in
 * their namespace: without a bound, compiling that namespace's set takes more memory than the
 * bundle gives the process. The bound keeps every set's size, and the work to find what fits, small.
 */
export const MAX_SET_PROFILES = 32;

/** The largest object as JSON, in bytes. */
export function largestObject(objects: readonly JsonValue[]): { where: string; bytes: number } | undefined {
  let best: { where: string; bytes: number } | undefined;
  for (const o of objects) {
    const bytes = Buffer.byteLength(JSON.stringify(o));
    if (!best || bytes > best.bytes) best = { where: isObject(o) ? `${o.kind} ${(o.metadata as { name?: string } | undefined)?.name}` : '(object)', bytes };
  }
  return best;
}

export interface Expression {
  /** `MutatingAdmissionPolicy outrigger.profiles spec.variables[3] (record)`. */
  where: string;
  codePoints: number;
}

/** A string's length in code points: a surrogate pair is one. */
export function codePoints(s: string): number {
  let pairs = 0;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        pairs++;
        i++;
      }
    }
  }
  return s.length - pairs;
}

const EXPRESSION_KEYS = new Set(['expression', 'messageExpression']);

/** The longest CEL expression in these objects (under any `expression` or `messageExpression` key), or undefined when they hold none. */
export function longestExpression(objects: readonly JsonValue[]): Expression | undefined {
  let best: Expression | undefined;
  const walk = (v: JsonValue, at: string, prefix: string) => {
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) {
        const named = isObject(x) && typeof x.name === 'string' ? ` (${x.name})` : '';
        walk(x, `${at}[${i}]`, named);
      }
      return;
    }
    if (!isObject(v)) return;
    for (const [k, x] of Object.entries(v)) {
      const path = at === '' ? k : `${at}.${k}`;
      if (EXPRESSION_KEYS.has(k) && typeof x === 'string') {
        const n = codePoints(x);
        if (!best || n > best.codePoints) best = { where: `${path}${prefix}`, codePoints: n };
      } else walk(x, path, prefix);
    }
  };
  for (const o of objects) {
    if (!isObject(o)) continue;
    const before = best;
    walk(o.spec ?? null, 'spec', '');
    if (best && best !== before) best = { ...best, where: `${o.kind} ${(o.metadata as { name?: string } | undefined)?.name} ${best.where}` };
  }
  return best;
}
