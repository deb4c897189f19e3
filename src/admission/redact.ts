/**
 * Env values out of `/explain` answers. A profile's `env[].value` is tenant data (a token, a DSN)
 * and the pod's own values are no business of whoever asks why a pod got a sidecar; the names,
 * `valueFrom` references and every decision stay visible. Pure.
 */
import { isObject, type JsonObject, type JsonValue, setOwn } from '../common/json.ts';

export const REDACTED = '(redacted)';

const redactVar = (v: JsonValue): JsonValue => (isObject(v) && typeof v.value === 'string' ? { ...v, value: REDACTED } : v);

/** Every `env` list anywhere in `v` (containers, init containers, ephemeral containers) with its values redacted. */
export function redactEnv(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(redactEnv);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  // setOwn: a `__proto__` key of the pod stays a key of the answer instead of becoming its prototype.
  for (const [k, x] of Object.entries(v)) setOwn(out, k, k === 'env' && Array.isArray(x) ? x.map((e) => redactEnv(redactVar(e))) : redactEnv(x));
  return out;
}

/** A JSON Patch with env values redacted, whatever level an op targets: the list, one var, or one value. */
export function redactPatch<Op extends { path: string; value?: JsonValue }>(ops: readonly Op[]): Op[] {
  return ops.map((op) => (op.value === undefined ? op : { ...op, value: redactAt(op.path, op.value) }));
}

function redactAt(path: string, value: JsonValue): JsonValue {
  if (/\/env\/(\d+|-)\/value$/.test(path)) return typeof value === 'string' ? REDACTED : value;
  if (/\/env\/(\d+|-)$/.test(path)) return redactVar(value);
  if (/\/env$/.test(path) && Array.isArray(value)) return value.map(redactVar);
  return redactEnv(value);
}
