/**
 * Validates a parsed document against the profile schema and the rules the schema cannot express.
 * Returns every problem at once, each with its field path, so one run of `outrigger validate` shows
 * everything to fix.
 */
import { isObject, type JsonValue } from '../common/json.ts';
import * as names from '../common/k8s-names.ts';
import { PREFIX } from '../common/labels.ts';
import { compileTemplate, parseQuantity } from '../engine/index.ts';
import { checkContainerRules } from './container-rules.ts';
import { type FieldError, join } from './field-path.ts';
import { type Format, profileSchema, type Schema } from './schema.ts';

export type { FieldError } from './field-path.ts';

const FORMATS: Record<Format, (v: string) => string | undefined> = {
  'dns1123-label': names.dns1123Label,
  'dns1123-subdomain': names.dns1123Subdomain,
  'port-name': names.portName,
  glob: names.glob,
  'label-key': names.qualifiedName,
  'label-value': names.labelValue,
  'env-name': names.envName,
};

function typeName(v: JsonValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** What YAML 1.1 made of an unquoted scalar that was probably meant as a string, and how to keep it one. */
function quoteHint(v: JsonValue): string {
  if (typeof v === 'boolean')
    return ' (YAML reads unquoted y, n, yes, no, on, off, true and false as booleans: write the value in quotes if a string was meant)';
  if (typeof v === 'number')
    return ' (YAML reads unquoted values such as 1.0, 1e3 and 0644 as numbers: write the value in quotes, as in "1.0", if a string was meant)';
  return '';
}

/** Checks `value` against `schema`, appending errors; `path` is the field path so far. */
export function checkSchema(value: JsonValue, schema: Schema, path: string, errors: FieldError[]): void {
  const at = (message: string) => errors.push({ path: path || '(document)', message });
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string') return void at(`must be a string, not ${typeName(value)}${quoteHint(value)}`);
      if (schema.enum && !schema.enum.includes(value))
        return void at(`must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, not ${JSON.stringify(value)}`);
      if (schema.minLength !== undefined && value.length < schema.minLength)
        return void at(schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters`);
      if (schema.maxLength !== undefined && value.length > schema.maxLength) return void at(`must be no more than ${schema.maxLength} characters`);
      if (schema.format) {
        if (value.includes('{{')) return void at('is a name: templates are not allowed here');
        const e = FORMATS[schema.format](value);
        if (e) at(`${JSON.stringify(value)} ${e}`);
      }
      return;
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return void at(`must be an integer, not ${typeName(value)}${numberHint(value)}`);
      const [min, max] = INTEGER_RANGES[schema.format ?? 'int64'];
      if (value < (schema.minimum ?? min)) at(`must be at least ${schema.minimum ?? min}`);
      if (value > (schema.maximum ?? max)) at(`must be at most ${schema.maximum ?? max}`);
      return;
    }
    case 'number':
      if (typeof value !== 'number') at(`must be a number, not ${typeName(value)}`);
      return;
    case 'int-or-string':
      if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) at(`must be an integer or a string, not ${typeName(value)}`);
      return;
    case 'quantity':
      checkQuantity(value, at);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') at(`must be true or false, not ${typeName(value)}`);
      return;
    case 'array': {
      if (!Array.isArray(value)) return void at(`must be a list, not ${typeName(value)}`);
      if (schema.maxItems !== undefined && value.length > schema.maxItems)
        return void at(`must have no more than ${schema.maxItems} items, not ${value.length}`);
      const seen = new Map<string, number>();
      value.forEach((item, i) => {
        checkSchema(item, schema.items, `${path}[${i}]`, errors);
        if (schema.listKey && isObject(item)) {
          const key = item[schema.listKey];
          if (typeof key === 'string' || typeof key === 'number') {
            const also = schema.listKeyAlso;
            const second = also ? (item[also.field] ?? also.default) : undefined;
            const k = also ? `${key}/${String(second)}` : String(key);
            const shown = also ? `${JSON.stringify(key)} with ${also.field} ${String(second)}` : JSON.stringify(key);
            const first = seen.get(k);
            if (first !== undefined) errors.push({ path: `${path}[${i}].${schema.listKey}`, message: `${shown} is already used by ${path}[${first}]` });
            else seen.set(k, i);
          }
        }
      });
      return;
    }
    case 'object': {
      if (!isObject(value)) return void at(`must be an object, not ${typeName(value)}`);
      for (const r of schema.required ?? []) {
        if (!Object.hasOwn(value, r) || value[r] === null) errors.push({ path: join(path, r), message: 'is required' });
      }
      for (const [k, v] of Object.entries(value)) {
        const p = join(path, k);
        const sub = schema.properties?.[k];
        if (sub) {
          if (v !== null || schema.required?.includes(k)) checkSchema(v, sub, p, errors);
        } else if (schema.additionalProperties) {
          checkSchema(v, schema.additionalProperties, p, errors);
        } else if (!schema.preserveUnknownFields) {
          errors.push({ path: p, message: `unknown field${suggest(k, Object.keys(schema.properties ?? {}))}` });
        }
      }
      return;
    }
  }
}

/** What the API server's int32 and int64 fields hold; 2^63 is past a double's exact integers, so int64 stops at the safe ones. */
const INTEGER_RANGES: Record<'int32' | 'int64', [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function numberHint(v: JsonValue): string {
  return typeof v === 'string' && /^-?[0-9]+$/.test(v) ? ' (write the number without quotes)' : '';
}

/**
 * A resource quantity: an integer, or a string the API server parses. A fraction is written as a
 * string ("0.5" or "500m"): the CRD's schema, like every Kubernetes CRD's, takes only an integer or a
 * string there. A templated value is checked once rendered, with the pod.
 */
function checkQuantity(value: JsonValue, at: (message: string) => void): void {
  if (typeof value === 'number') {
    if (!Number.isInteger(value))
      at(`must be a quantity: an integer or a string such as "500m", not the number ${value} (write it in quotes, as in "${value}")`);
    else if (value < 0) at('must not be negative');
    return;
  }
  if (typeof value !== 'string') return void at(`must be a quantity such as "500m" or "1Gi", not ${typeName(value)}`);
  if (value.includes('{{')) return;
  const q = parseQuantity(value);
  if (q === undefined)
    return void at(`${JSON.stringify(value)} is not a quantity: write a number with an optional suffix, such as "500m", "1.5", "128Mi" or "1G"`);
  if (q < 0n) at(`${JSON.stringify(value)} must not be negative`);
}

/** The known field a misspelt one was probably meant as: same letters in another case, or a few edits away. */
export function suggest(k: string, known: readonly string[]): string {
  const lower = k.toLowerCase();
  const limit = lower.length <= 4 ? 1 : lower.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const n of known) {
    const d = n.toLowerCase() === lower ? 0 : editDistance(lower, n.toLowerCase(), limit);
    if (d < bestDistance) [best, bestDistance] = [n, d];
  }
  return best !== undefined ? ` (did you mean ${JSON.stringify(best)}?)` : `; known fields are ${known.join(', ')}`;
}

/** Optimal string alignment distance (a swap of neighbours is one edit), or limit + 1 when above `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (prev2[j - 2] as number) + 1);
      row.push(d);
    }
    [prev2, prev] = [prev, row];
  }
  return Math.min(prev[b.length] as number, limit + 1);
}

/** Full validation of one SidecarProfile document: schema, then cross-field rules and templates. */
export function validateProfileDocument(doc: JsonValue): FieldError[] {
  const errors: FieldError[] = [];
  checkSchema(doc, profileSchema, '', errors);
  if (!isObject(doc) || !isObject(doc.spec)) return errors;
  const spec = doc.spec;

  // Sidecars and init containers share one name space in the pod; duplicates within one list are
  // already reported by the schema's list key.
  const initNames = new Map<string, number>();
  const listed = (l: JsonValue | undefined) => (Array.isArray(l) ? l : []);
  listed(spec.initContainers).forEach((c, i) => {
    if (isObject(c) && typeof c.name === 'string' && !initNames.has(c.name)) initNames.set(c.name, i);
  });
  listed(spec.containers).forEach((c, i) => {
    const first = isObject(c) && typeof c.name === 'string' ? initNames.get(c.name) : undefined;
    if (first !== undefined)
      errors.push({
        path: `spec.containers[${i}].name`,
        message: `${JSON.stringify((c as { name: string }).name)} is already used by spec.initContainers[${first}]`,
      });
  });

  // An empty selector reads as "every pod" to a Kubernetes user, but selects nothing here: refused
  // with what to write instead, rather than silently injecting nowhere.
  if (isObject(spec.selector) && spec.selector.namespaceSelector === undefined && spec.selector.podSelector === undefined) {
    errors.push({
      path: 'spec.selector',
      message:
        'is empty, which selects no pod: write podSelector: {} to inject into every pod the profile may serve, namespaceSelector or podSelector with labels to choose them, or leave selector out to inject only into pods that ask for the profile',
    });
  }
  for (const key of ['namespaceSelector', 'podSelector'] as const) {
    const sel = isObject(spec.selector) ? spec.selector[key] : undefined;
    if (!isObject(sel) || !Array.isArray(sel.matchExpressions)) continue;
    sel.matchExpressions.forEach((e, i) => {
      if (!isObject(e)) return;
      const p = `spec.selector.${key}.matchExpressions[${i}].values`;
      const n = Array.isArray(e.values) ? e.values.length : 0;
      if ((e.operator === 'In' || e.operator === 'NotIn') && n === 0) errors.push({ path: p, message: `must not be empty for operator ${e.operator}` });
      if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && n > 0) errors.push({ path: p, message: `must be empty for operator ${e.operator}` });
    });
  }

  if (isObject(spec.metadata)) {
    for (const kind of ['labels', 'annotations'] as const) {
      const map = spec.metadata[kind];
      if (!isObject(map)) continue;
      for (const [k, v] of Object.entries(map)) {
        const e = names.qualifiedName(k);
        if (e) errors.push({ path: `spec.metadata.${kind}[${JSON.stringify(k)}]`, message: `key ${e}` });
        if (k.startsWith(PREFIX))
          errors.push({ path: `spec.metadata.${kind}[${JSON.stringify(k)}]`, message: 'the outrigger.dev/ prefix is reserved for Outrigger itself' });
        if (kind === 'labels' && typeof v === 'string' && !v.includes('{{')) {
          const ve = names.labelValue(v);
          if (ve) errors.push({ path: `spec.metadata.labels[${JSON.stringify(k)}]`, message: `${JSON.stringify(v)} ${ve}` });
        }
      }
    }
  }

  checkContainerRules(spec, errors);

  for (const part of ['containers', 'initContainers', 'volumes', 'volumeMounts', 'env', 'envFrom', 'metadata']) {
    if (Object.hasOwn(spec, part)) checkTemplates(spec[part] as JsonValue, `spec.${part}`, errors);
  }
  return errors;
}

function checkTemplates(v: JsonValue, path: string, errors: FieldError[]): void {
  if (typeof v === 'string') {
    try {
      compileTemplate(v);
    } catch (e) {
      errors.push({ path, message: (e as Error).message });
    }
  } else if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) checkTemplates(x, `${path}[${i}]`, errors);
  } else if (isObject(v)) for (const [k, x] of Object.entries(v)) checkTemplates(x, join(path, k), errors);
}
