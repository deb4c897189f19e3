/**
 * What parsing a JSON body may cost, counted in one linear pass over the raw bytes as they arrive,
 * before `JSON.parse`. Memory and time of a parse follow the number of values, not the number of
 * bytes: 7 MiB of `{},{},…` is 2.4 million objects and took over 300 MB of heap, 7 MiB of one long
 * string takes 7 MB. Objects with distinct keys cost the most time (each key a new hidden class).
 * Pure: no I/O.
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
/** Longest key compared with others (label and annotation keys are at most 317 bytes); longer ones each count as distinct. */
const MAX_KEY_BYTES = 1024;

/** Feeds a body chunk by chunk, as it arrives: the answer is known the moment a bound is passed. */
export interface JsonBudgetScanner {
  feed(chunk: Uint8Array): JsonBudgetResult;
}

/**
 * Counts until a bound is passed, so a hostile body is refused after its first few hundred KiB and
 * the rest is never read. Invalid JSON is not detected here (JSON.parse does that); a key is the
 * last string before a `:`, which in valid JSON is exactly the key.
 *
 * The exact count walks every byte in JavaScript, which costs about as much as the parse itself.
 * Most bodies cannot pass a bound at all: each object, array and token is one byte, and each key
 * is counted at a `:`. So while the bytes so far are fewer than the container and token bounds and
 * the colons (counted natively) fewer than the key bound, the chunks are only kept; past that the
 * exact count runs over them and goes on from there, with the same answer and offset.
 */
export function createJsonBudgetScanner(b: JsonBudget): JsonBudgetScanner {
  const exact = exactScanner(b);
  let held: Uint8Array[] | undefined = [];
  let bytes = 0;
  /** Counted only once there are more bytes than the key bound (until then there are fewer colons too). */
  let colons: number | undefined;
  return {
    feed(chunk) {
      if (held) {
        bytes += chunk.length;
        if (colons !== undefined) colons += colonsIn(chunk);
        else if (bytes > b.maxDistinctKeys) colons = [...held, chunk].reduce((n, c) => n + colonsIn(c), 0);
        if (bytes <= b.maxContainers && bytes <= b.maxTokens && (colons ?? bytes) <= b.maxDistinctKeys) {
          held.push(chunk);
          return { ok: true };
        }
        // Within the bounds so far (see above), so the earlier chunks cannot fail.
        for (const h of held) exact.feed(h);
        held = undefined;
      }
      return exact.feed(chunk);
    },
  };
}

/** The `:` bytes of a chunk, found with a string's native indexOf (latin1 maps bytes to characters one to one). */
function colonsIn(chunk: Uint8Array): number {
  const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
  let n = 0;
  for (let i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) n++;
  return n;
}

function exactScanner(b: JsonBudget): JsonBudgetScanner {
  let containers = 0;
  let tokens = 0;
  let offset = 0;
  let inString = false;
  /** Inside a string, the previous byte (maybe at the end of the previous chunk) was an escaping backslash. */
  let escaped = false;
  // The last string read (a key if a `:` follows), as positions: only keys are hashed, in place.
  let strChunk: Uint8Array = new Uint8Array(0);
  let strStart = 0;
  let strEnd = 0;
  /** Earlier pieces of a string that spans chunks, up to MAX_KEY_BYTES; past that the string is `long`. */
  let strHead: Uint8Array[] = [];
  let strHeadBytes = 0;
  let strLong = false;
  let strDone = false;
  /** Distinct keys by hash; each with the bytes of every key seen with that hash, so collisions still count. */
  const keys = new Map<number, Uint8Array[]>();
  let distinct = 0;
  let failed: JsonBudgetResult | undefined;

  const fail = (what: 'objects and arrays' | 'structural tokens' | 'distinct keys', limit: number, at: number): JsonBudgetResult => {
    failed = { ok: false, what, limit, offset: at };
    return failed;
  };
  /** The last string's identity as a key: a hash of its bytes (no string is built), or a fresh one when long. */
  /** Counts the last string as a key: hashed in place, its bytes copied only the first time they are seen. */
  const countKey = (): void => {
    if (strLong || strHeadBytes + (strEnd - strStart) > MAX_KEY_BYTES) {
      distinct++; // no real key is that long: each counts as distinct, and is never copied
      return;
    }
    let h = FNV_BASIS;
    for (const piece of strHead) h = fnv1a(h, piece, 0, piece.length);
    h = fnv1a(h, strChunk, strStart, strEnd) >>> 0;
    const seen = keys.get(h);
    if (seen?.some((k) => sameBytes(k, strHead, strChunk, strStart, strEnd))) return;
    const bytes = Buffer.concat([...strHead, strChunk.subarray(strStart, strEnd)]);
    if (seen) seen.push(bytes);
    else keys.set(h, [bytes]);
    distinct++;
  };

  return {
    feed(chunk) {
      if (failed) return failed;
      const n = chunk.length;
      if (n === 0) return { ok: true };
      let i = 0;
      if (inString) {
        // The string goes on from the previous chunk, whose piece is kept in case it is a key.
        strHeadBytes += strEnd - strStart;
        if (strHeadBytes > MAX_KEY_BYTES) {
          strLong = true;
          strHead = [];
        } else strHead.push(strChunk.slice(strStart, strEnd));
        strChunk = chunk;
        strStart = 0;
      }
      while (i < n) {
        if (inString) {
          while (i < n) {
            const c = chunk[i];
            if (escaped) escaped = false;
            else if (c === BACKSLASH) escaped = true;
            else if (c === QUOTE) break;
            i++;
          }
          strEnd = i;
          if (i === n) break;
          inString = false;
          strDone = true;
          i++;
          continue;
        }
        const c = chunk[i];
        if (c === QUOTE) {
          inString = true;
          strDone = false;
          strChunk = chunk;
          strStart = i + 1;
          strHead = [];
          strHeadBytes = 0;
          strLong = false;
        } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
          if (++containers > b.maxContainers) return fail('objects and arrays', b.maxContainers, offset + i);
          if (++tokens > b.maxTokens) return fail('structural tokens', b.maxTokens, offset + i);
        } else if (c === COMMA) {
          if (++tokens > b.maxTokens) return fail('structural tokens', b.maxTokens, offset + i);
        } else if (c === COLON) {
          if (strDone) {
            countKey();
            strDone = false;
            if (distinct > b.maxDistinctKeys) return fail('distinct keys', b.maxDistinctKeys, offset + i);
          }
          if (++tokens > b.maxTokens) return fail('structural tokens', b.maxTokens, offset + i);
        }
        i++;
      }
      offset += n;
      return { ok: true };
    },
  };
}

/** Whether `k` holds the bytes of `head` followed by chunk[start, end), compared in place. */
function sameBytes(k: Uint8Array, head: Uint8Array[], chunk: Uint8Array, start: number, end: number): boolean {
  let j = 0;
  for (const piece of head) {
    if (j + piece.length > k.length) return false;
    for (let x = 0; x < piece.length; x++) if (k[j++] !== piece[x]) return false;
  }
  if (k.length - j !== end - start) return false;
  for (let x = start; x < end; x++) if (k[j++] !== chunk[x]) return false;
  return true;
}

const FNV_BASIS = 0x811c9dc5;
/** FNV-1a over bytes[start, end): keys are told apart by hash first, so no string is built. */
function fnv1a(h: number, bytes: Uint8Array, start: number, end: number): number {
  let x = h;
  for (let k = start; k < end; k++) x = Math.imul(x ^ (bytes[k] as number), 0x01000193);
  return x;
}

/** The whole body at once (see createJsonBudgetScanner). */
export function checkJsonBudget(body: Uint8Array, b: JsonBudget): JsonBudgetResult {
  return createJsonBudgetScanner(b).feed(body);
}
