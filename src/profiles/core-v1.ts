/**
 * The generated core/v1 definitions (core-v1.generated.ts) as profile Schema nodes, and `overlay`
 * for the few fields a profile is stricter about than Kubernetes (names, a sidecar's image).
 */
import { CORE_V1 } from './core-v1.generated.ts';
import type { CoreNode } from './core-v1-types.ts';
import type { Schema } from './schema.ts';

/** The Kubernetes version the core/v1 schema comes from, as "1.35.4". */
export const KUBERNETES_SCHEMA_VERSION = CORE_V1.kubernetesVersion.replace(/^v/, '');

export type ObjectSchema = Extract<Schema, { type: 'object' }>;

const converted = new Map<string, Schema>();

/** A core/v1 definition by its short name ("Container") or its full one. */
export function coreSchema(name: string): Schema {
  const full = name.includes('.') ? name : `io.k8s.api.core.v1.${name}`;
  const known = converted.get(full);
  if (known) return known;
  const def = CORE_V1.definitions[full];
  if (!def) throw new Error(`core/v1 schema: no definition ${full}`);
  const s = convert(def, full);
  converted.set(full, s);
  return s;
}

export function coreObject(name: string): ObjectSchema {
  const s = coreSchema(name);
  if (s.type !== 'object') throw new Error(`core/v1 schema: ${name} is not an object`);
  return s;
}

function convert(n: CoreNode, where: string): Schema {
  if (n.$ref) return coreSchema(n.$ref);
  if (n.format === 'quantity') return { type: 'quantity' };
  if (n.format === 'int-or-string') return { type: 'int-or-string' };
  switch (n.type) {
    case 'string':
      return { type: 'string', ...(n.enum ? { enum: n.enum } : {}), ...(n.format === 'date-time' ? { openApiFormat: 'date-time' } : {}) };
    case 'integer':
      return { type: 'integer', ...(n.format === 'int32' || n.format === 'int64' ? { format: n.format } : {}) };
    case 'number':
      return { type: 'number' };
    case 'boolean':
      return { type: 'boolean' };
    case 'array': {
      if (!n.items) throw new Error(`core/v1 schema: ${where} has no items`);
      const keys = n['x-kubernetes-list-map-keys'];
      // A list keyed by two fields (ports) is described by the profile's own schema.
      return { type: 'array', items: convert(n.items, `${where}[]`), ...(keys?.length === 1 ? { listKey: keys[0] as string } : {}) };
    }
    case 'object': {
      // An object the spec leaves open (FieldsV1): what it holds is not described anywhere.
      if (!n.properties && !n.additionalProperties) return { type: 'object', preserveUnknownFields: true };
      const out: ObjectSchema = { type: 'object' };
      if (n.properties) out.properties = Object.fromEntries(Object.entries(n.properties).map(([k, v]) => [k, convert(v, `${where}.${k}`)]));
      if (n.required) out.required = n.required;
      if (n.additionalProperties) out.additionalProperties = convert(n.additionalProperties, `${where}{}`);
      return out;
    }
    default:
      throw new Error(`core/v1 schema: ${where} has type ${String(n.type)}`);
  }
}

/** `base` with some properties replaced and more fields required; a property it does not have is a mistake here. */
export function overlay(base: ObjectSchema, change: { properties?: Record<string, Schema>; required?: readonly string[] }): ObjectSchema {
  const properties = { ...base.properties };
  for (const [k, v] of Object.entries(change.properties ?? {})) {
    if (!Object.hasOwn(properties, k)) throw new Error(`core/v1 schema: overlay of a field it does not have: ${k}`);
    properties[k] = v;
  }
  const required = [...new Set([...(base.required ?? []), ...(change.required ?? [])])];
  return { ...base, properties, ...(required.length > 0 ? { required } : {}) };
}
