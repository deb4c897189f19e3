/**
 * RFC 6902 apply, written independently of the differ so that the engine's self-check means
 * something. It follows the semantics of the API server's JSON Patch library (evanphx/json-patch v4)
 * where RFC 6902 leaves room: `add` under a missing parent fails, `remove` and `replace` need an
 * existing target, array indices are canonical decimals no larger than the length.
 *
 * The input document is never modified: containers along each path are copied once per call and
 * everything else is shared.
 */
import { deepEqual, isObject, type JsonObject, type JsonValue, setOwn } from '../common/json.ts';
import { parsePointer } from './pointer.ts';

export interface AnyPatchOp {
  op: string;
  path: string;
  value?: JsonValue;
  from?: string;
}

export class PatchApplyError extends Error {
  readonly index: number;
  readonly op: AnyPatchOp;
  constructor(index: number, op: AnyPatchOp, detail: string) {
    super(`patch operation ${index} (${op.op} ${op.path}): ${detail}`);
    this.name = 'PatchApplyError';
    this.index = index;
    this.op = op;
  }
}

type Container = JsonObject | JsonValue[];

/** @example applyPatch({ a: 1 }, [{ op: 'add', path: '/b', value: 2 }]) // { a: 1, b: 2 } */
export function applyPatch(doc: JsonValue, ops: readonly AnyPatchOp[]): JsonValue {
  // Lives for one call only; a Set is cheaper than a WeakSet here.
  return applyOwning(doc, ops, new Set<object>());
}

/**
 * The self-check: whether applying `ops` to `doc` gives exactly `expected` (throws PatchApplyError
 * when they do not apply). Only what the patch touched is compared: the applier copies each object
 * and array it writes to (`owned`), so every other part of the result is the input's own object,
 * and compared in full with `expected`'s: one identity check where `expected` shares it with the
 * input (copy-on-write), a deep comparison where it does not. A patch that misses a change, or
 * makes one `expected` lacks, fails either way.
 */
export function patchReproduces(doc: JsonValue, ops: readonly AnyPatchOp[], expected: JsonValue): boolean {
  const owned = new Set<object>();
  return sameWhereTouched(applyOwning(doc, ops, owned), expected, owned);
}

function sameWhereTouched(r: JsonValue, e: JsonValue, owned: ReadonlySet<object>): boolean {
  if (r === e) return true;
  if (typeof r !== 'object' || r === null || !owned.has(r)) return deepEqual(r, e);
  if (Array.isArray(r)) {
    if (!Array.isArray(e) || r.length !== e.length) return false;
    for (let i = 0; i < r.length; i++) if (!sameWhereTouched(r[i] as JsonValue, e[i] as JsonValue, owned)) return false;
    return true;
  }
  if (!isObject(e)) return false;
  const keys = Object.keys(r);
  if (keys.length !== Object.keys(e).length) return false;
  for (const k of keys) if (!Object.hasOwn(e, k) || !sameWhereTouched(r[k] as JsonValue, e[k] as JsonValue, owned)) return false;
  return true;
}

function applyOwning(doc: JsonValue, ops: readonly AnyPatchOp[], owned: Set<object>): JsonValue {
  let root = doc;
  ops.forEach((op, index) => {
    const fail = (detail: string): never => {
      throw new PatchApplyError(index, op, detail);
    };
    switch (op.op) {
      case 'add':
        if (!('value' in op)) fail('missing "value"');
        root = write(root, tokens(op.path, fail), op.value as JsonValue, 'add', owned, fail);
        break;
      case 'remove':
        root = write(root, tokens(op.path, fail), undefined, 'remove', owned, fail);
        break;
      case 'replace':
        if (!('value' in op)) fail('missing "value"');
        root = write(root, tokens(op.path, fail), op.value as JsonValue, 'replace', owned, fail);
        break;
      case 'test':
        if (!deepEqual(read(root, tokens(op.path, fail), fail), op.value)) fail('test failed');
        break;
      case 'copy':
      case 'move': {
        if (typeof op.from !== 'string') fail('missing "from"');
        const fromTokens = tokens(op.from as string, fail);
        const found = read(root, fromTokens, fail);
        // A container copied earlier in this call is written in place by later operations; a copy
        // of it must be its own, or a change under the new path would also show under the old one.
        // Untouched (input) values are never written in place, so they can be shared.
        const value = op.op === 'copy' && typeof found === 'object' && found !== null && owned.has(found) ? structuredClone(found) : found;
        if (op.op === 'move') {
          const to = tokens(op.path, fail);
          if (to.length > fromTokens.length && fromTokens.every((t, i) => to[i] === t)) fail('cannot move a value into itself');
          root = write(root, fromTokens, undefined, 'remove', owned, fail);
        }
        root = write(root, tokens(op.path, fail), value, 'add', owned, fail);
        break;
      }
      default:
        fail(`unknown operation ${JSON.stringify(op.op)}`);
    }
  });
  return root;
}

function tokens(path: unknown, fail: (d: string) => never): string[] {
  if (typeof path !== 'string') return fail('"path" must be a string');
  try {
    return parsePointer(path);
  } catch (e) {
    return fail((e as Error).message);
  }
}

function read(root: JsonValue, path: string[], fail: (d: string) => never): JsonValue {
  let cur: JsonValue = root;
  for (const t of path) {
    if (Array.isArray(cur)) {
      const i = arrayIndex(t, cur.length - 1, fail);
      cur = cur[i] as JsonValue;
    } else if (isObject(cur)) {
      if (!Object.hasOwn(cur, t)) fail(`missing key ${JSON.stringify(t)}`);
      cur = cur[t] as JsonValue;
    } else fail(`cannot descend into a ${typeof cur} at ${JSON.stringify(t)}`);
  }
  return cur;
}

/** A canonical decimal: digits only, no leading zero (a character test: this runs for every index of every operation). */
function canonicalIndex(t: string): boolean {
  if (t.length === 0 || (t.length > 1 && t.charCodeAt(0) === 0x30)) return false;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function arrayIndex(t: string, max: number, fail: (d: string) => never): number {
  if (!canonicalIndex(t)) fail(`invalid array index ${JSON.stringify(t)}`);
  const i = Number(t);
  if (i > max) fail(`array index ${i} out of range (upper bound ${max})`);
  return i;
}

function write(
  root: JsonValue,
  path: string[],
  value: JsonValue | undefined,
  mode: 'add' | 'remove' | 'replace',
  owned: Set<object>,
  fail: (d: string) => never,
): JsonValue {
  if (path.length === 0) {
    if (mode === 'remove') fail('cannot remove the document root');
    return value as JsonValue;
  }
  if (typeof root !== 'object' || root === null) fail('the document root is not an object or array');
  const newRoot = own(root as Container, owned);
  let parent: Container = newRoot;
  for (let d = 0; d < path.length - 1; d++) {
    const t = path[d] as string;
    let child: JsonValue | undefined;
    if (Array.isArray(parent)) child = parent[arrayIndex(t, parent.length - 1, fail)];
    else child = Object.hasOwn(parent, t) ? parent[t] : undefined;
    if (typeof child !== 'object' || child === null) {
      fail(child === undefined ? `parent ${JSON.stringify(t)} does not exist` : `parent ${JSON.stringify(t)} is not an object or array`);
    }
    const copy = own(child as Container, owned);
    if (Array.isArray(parent)) parent[Number(t)] = copy;
    else setOwn(parent, t, copy);
    parent = copy;
  }
  const last = path[path.length - 1] as string;
  if (Array.isArray(parent)) {
    if (mode === 'add') {
      const i = last === '-' ? parent.length : arrayIndex(last, parent.length, fail);
      parent.splice(i, 0, value as JsonValue);
    } else {
      const i = arrayIndex(last, parent.length - 1, fail);
      if (mode === 'remove') parent.splice(i, 1);
      else parent[i] = value as JsonValue;
    }
  } else {
    if (mode !== 'add' && !Object.hasOwn(parent, last)) fail(`missing key ${JSON.stringify(last)}`);
    if (mode === 'remove') delete parent[last];
    else setOwn(parent, last, value as JsonValue);
  }
  return newRoot;
}

/** The container itself when this call already copied it, else its copy (which is then this call's). */
function own(c: Container, owned: Set<object>): Container {
  if (owned.has(c)) return c;
  const copy: Container = Array.isArray(c) ? c.slice() : { ...c };
  owned.add(copy);
  return copy;
}
