/**
 * JSON value types and the two primitives every engine module needs: deep equality and type guards.
 * Values are treated as immutable: the engine builds new objects along changed paths and shares
 * everything else (copy-on-write), which keeps diffing and verification proportional to the change.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export type JsonObject = { [key: string]: JsonValue };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Structural equality with an identity shortcut, so comparing two copy-on-write versions of a large
 * pod only walks the parts that were rebuilt.
 *
 * @example deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }) // true
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  for (const k of ak) {
    if (!Object.hasOwn(b, k)) return false;
    if (!deepEqual((a as JsonObject)[k], (b as JsonObject)[k])) return false;
  }
  return true;
}

/** Deep-freezes a value in place; profiles are frozen at load so no request can alter them. */
export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  }
  return v;
}

/** Sets an own data property, even for the key `__proto__`, which plain assignment would treat as the prototype. */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

/** JSON with sorted keys: equal values give equal text, whatever their key order. */
export function canonicalJson(v: JsonValue): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k] as JsonValue)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A list field as an array (absent, null or a wrong type reads as empty). */
export function listOf(v: JsonValue | undefined): JsonValue[] {
  return Array.isArray(v) ? v : [];
}

/** The `name` of a list item (containers, volumes, env, ...), if it has a string one. */
export function nameOf(v: JsonValue): string | undefined {
  return isObject(v) && typeof v.name === 'string' ? v.name : undefined;
}

/** The string entries of a map (labels, annotations); anything else is ignored. */
export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}
