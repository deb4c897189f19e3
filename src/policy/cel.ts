/**
 * CEL text from values known when compiling: string, JSON and regular-expression literals, and the
 * few idioms every part of a compiled policy shares. Nothing here reads a pod; it only writes CEL.
 */
import { isObject, type JsonValue } from '../common/json.ts';

/** Thrown for a value CEL cannot hold exactly; the compiler turns it into a refusal of the field. */
export class NotRepresentable extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}

/** A CEL expression standing for a value (a rendered template) inside a profile's JSON. */
export class CelExpr {
  readonly expr: string;
  constructor(expr: string) {
    this.expr = expr;
  }
}

/** A lone surrogate has no UTF-8 form: the API server would read it as U+FFFD, the engine keeps it. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * A CEL string literal. JSON's escapes (\" \\ \n \t \uXXXX ...) are all CEL escapes too, and
 * JSON.stringify leaves every other character as it is.
 */
export function str(s: string, path = '(string)'): string {
  if (LONE_SURROGATE.test(s)) throw new NotRepresentable(path, 'holds a lone UTF-16 surrogate, which has no UTF-8 form');
  return JSON.stringify(s);
}

/**
 * A CEL literal equal to a JSON value. The API server's CEL requires every element of a list or map
 * literal to have one type, so each is dyn(). Integers only: no core/v1 field holds a fraction.
 */
export function literal(v: JsonValue, path: string): string {
  if ((v as unknown) instanceof CelExpr) return (v as unknown as CelExpr).expr;
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new NotRepresentable(path, `${v} is not an integer CEL can hold exactly`);
    return String(v);
  }
  if (typeof v === 'string') return str(v, path);
  if (Array.isArray(v)) return `[${v.map((x, i) => `dyn(${literal(x, `${path}[${i}]`)})`).join(', ')}]`;
  if (isObject(v))
    return `{${Object.entries(v)
      .map(([k, x]) => `${str(k, path)}: dyn(${literal(x, `${path}.${k}`)})`)
      .join(', ')}}`;
  throw new NotRepresentable(path, 'is not a JSON value');
}

/** A value from the pod equal to a JSON value, as the engine's deepEqual decides (both sides dyn: the pod's side is typed). */
export const equals = (podValue: string, v: JsonValue, path: string) => `dyn(${podValue}) == dyn(${literal(v, path)})`;

/**
 * JavaScript's String.prototype.trim removes WhiteSpace and LineTerminator: exactly these. CEL's
 * trim() (Go's unicode.IsSpace) differs (it removes U+0085 and keeps U+FEFF), so a trim is a
 * regular-expression find: the longest run from the first to the last other character.
 */
const JS_SPACE = '\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}';
export const JS_TRIM_PATTERN = `[^${JS_SPACE}](?s:.*)[^${JS_SPACE}]|[^${JS_SPACE}]`;
export const jsTrim = (s: string) => `${s}.find(${str(JS_TRIM_PATTERN)})`;

/** A JSON Pointer token (RFC 6901), as a path of a JSONPatch is written. */
export const pointerToken = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/** A CEL list of strings: the non-empty ones of `items`, each `cond ? text : ''`. */
export const chosen = (items: readonly string[]) => (items.length === 0 ? '[]' : `[${items.join(', ')}].filter(s, s != '')`);

/** `[a, b, ...].join(sep)` of CEL string expressions, or '' for none. */
export const joined = (list: string, sep = ',') => `${list}.join(${str(sep)})`;

/** An annotation of the pod, present. */
export const hasAnnotation = (key: string) => `(has(object.metadata.annotations) && ${str(key)} in object.metadata.annotations)`;
