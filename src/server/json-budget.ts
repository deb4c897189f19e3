/**
 * What parsing a JSON body may cost, checked before `JSON.parse` in one linear pass over the raw
 * bytes. Memory and time of a parse follow the number of values, not the number of bytes: 7 MiB of
 * `{},{},…` is 2.4 million objects and takes over 300 MB of heap, 7 MiB of one long string takes
 * 7 MB. Objects with distinct keys cost the most time (each key a new hidden class). Pure.
 */

export interface JsonBudget {
  /** Objects and arrays (`{` and `[`): the values that cost the most memory. */
  maxContainers: number;
  /** Structural tokens (`{`, `[`, `,`, `:` outside strings): about one per value or key. */
  maxTokens: number;
  /** Distinct object keys over the whole body. */
  maxDistinctKeys: number;
}

/**
 * Sized from what etcd can store, so a pod the API server accepts is never refused: an object is at
 * most 1.5 MiB in etcd, about 2 MiB as JSON. The densest real manifests in the corpus (lists of
 * small objects such as Endpoints addresses) have one object or array per 16 bytes and one token
 * per 6.6 bytes: 2 MiB of that is 128 Ki objects and arrays and 320 Ki tokens. 512 Ki tokens also
 * leaves room for the `oldObject` of an UPDATE. A pod has a few hundred distinct keys (field names
 * plus its label and annotation keys, which are at most 256 KiB together). At these bounds the
 * worst body parses into under 40 MB (measured: see docs/operations.md).
 */
export const DEFAULT_JSON_BUDGET: JsonBudget = {
  maxContainers: 128 * 1024,
  maxTokens: 512 * 1024,
  maxDistinctKeys: 8 * 1024,
};

export type JsonBudgetResult = { ok: true } | { ok: false; what: 'objects and arrays' | 'structural tokens' | 'distinct keys'; limit: number; offset: number };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const COMMA = 0x2c;
const COLON = 0x3a;

/**
 * Counts until a bound is passed and stops there, so a hostile body costs no more than the scan of
 * its first few hundred KiB. Invalid JSON is not detected here (JSON.parse does that); a key is the
 * last string before a `:`, which in valid JSON is exactly the key.
 */
export function checkJsonBudget(body: Uint8Array, b: JsonBudget): JsonBudgetResult {
  let containers = 0;
  let tokens = 0;
  let keyStart = -1;
  let keyEnd = -1;
  const keys = new Set<string>();
  const n = body.length;
  for (let i = 0; i < n; i++) {
    const c = body[i];
    if (c === QUOTE) {
      const start = i + 1;
      i++;
      while (i < n && body[i] !== QUOTE) i += body[i] === BACKSLASH ? 2 : 1;
      keyStart = start;
      keyEnd = i;
      continue;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++containers > b.maxContainers) return { ok: false, what: 'objects and arrays', limit: b.maxContainers, offset: i };
    } else if (c === COLON) {
      if (keyStart >= 0) {
        keys.add(Buffer.from(body.buffer, body.byteOffset + keyStart, keyEnd - keyStart).toString('latin1'));
        if (keys.size > b.maxDistinctKeys) return { ok: false, what: 'distinct keys', limit: b.maxDistinctKeys, offset: i };
        keyStart = -1;
      }
    } else if (c !== COMMA) continue;
    if (++tokens > b.maxTokens) return { ok: false, what: 'structural tokens', limit: b.maxTokens, offset: i };
  }
  return { ok: true };
}
