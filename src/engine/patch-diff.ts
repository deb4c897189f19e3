/**
 * RFC 6902 diff: the patch that turns `from` into `to`. The engine never assembles patch operations
 * by hand; it computes the desired pod and lets this module derive the operations, so a missing
 * parent (`add /spec/volumes/-` on a pod with no volumes) becomes `add /spec/volumes [...]`.
 *
 * Arrays are diffed by common prefix and suffix, which is exact and small for what injection does
 * (insert before, append after, or change elements in place); anything else in the middle is
 * removed and re-added.
 */
import { deepEqual, isObject, type JsonValue } from '../common/json.ts';
import { escapeToken } from './pointer.ts';

export interface PatchOp {
  op: 'add' | 'remove' | 'replace';
  path: string;
  value?: JsonValue;
}

/** @example diff({ a: 1 }, { a: 1, b: [2] }) // [{ op: 'add', path: '/b', value: [2] }] */
export function diff(from: JsonValue, to: JsonValue): PatchOp[] {
  const ops: PatchOp[] = [];
  diffValue(from, to, '', ops);
  return ops;
}

function diffValue(a: JsonValue, b: JsonValue, path: string, ops: PatchOp[]): void {
  if (a === b) return;
  if (Array.isArray(a) && Array.isArray(b)) diffArray(a, b, path, ops);
  else if (isObject(a) && isObject(b)) diffObject(a, b, path, ops);
  else if (!deepEqual(a, b)) ops.push({ op: 'replace', path, value: b });
}

function diffObject(a: { [k: string]: JsonValue }, b: { [k: string]: JsonValue }, path: string, ops: PatchOp[]): void {
  for (const k of Object.keys(a)) {
    if (!Object.hasOwn(b, k)) ops.push({ op: 'remove', path: `${path}/${escapeToken(k)}` });
  }
  for (const k of Object.keys(b)) {
    const has = Object.hasOwn(a, k);
    // Most keys hold the very same value in both (copy-on-write): no path is built for them.
    if (has && a[k] === b[k]) continue;
    const p = `${path}/${escapeToken(k)}`;
    if (!has) ops.push({ op: 'add', path: p, value: b[k] as JsonValue });
    else diffValue(a[k] as JsonValue, b[k] as JsonValue, p, ops);
  }
}

function diffArray(a: JsonValue[], b: JsonValue[], path: string, ops: PatchOp[]): void {
  let start = 0;
  const min = Math.min(a.length, b.length);
  while (start < min && (a[start] === b[start] || deepEqual(a[start], b[start]))) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && (a[endA - 1] === b[endB - 1] || deepEqual(a[endA - 1], b[endB - 1]))) {
    endA--;
    endB--;
  }
  const removed = endA - start;
  const added = endB - start;
  if (removed === added) {
    // Same shape: change elements in place (e.g. env appended to each app container).
    for (let i = start; i < endA; i++) diffValue(a[i] as JsonValue, b[i] as JsonValue, `${path}/${i}`, ops);
    return;
  }
  // Remove from the back so earlier indices stay valid, then insert in order.
  for (let i = endA - 1; i >= start; i--) ops.push({ op: 'remove', path: `${path}/${i}` });
  for (let i = start; i < endB; i++) ops.push({ op: 'add', path: `${path}/${i}`, value: b[i] as JsonValue });
}
