/**
 * The core/v1 definitions a SidecarProfile embeds (Container, Volume, EnvVar, EnvFromSource,
 * VolumeMount, LocalObjectReference and all they reference), trimmed to what validation needs, from
 * the Kubernetes module's OpenAPI v3 spec. The published spec is written with the OpenAPIEnums
 * feature gate off, so it carries no enum values; the module's generated Go definitions
 * (pkg/generated/openapi) carry them, and they are taken from there.
 */

import type { CoreNode, CoreV1 } from '../../src/profiles/core-v1-types.ts';

export const ROOTS = ['Container', 'Volume', 'EnvVar', 'EnvFromSource', 'VolumeMount', 'LocalObjectReference'].map((n) => `io.k8s.api.core.v1.${n}`);

export const SPEC_FILE = 'api/openapi-spec/v3/api__v1_openapi.json';
export const GO_DEFINITIONS_FILE = 'pkg/generated/openapi/zz_generated.openapi.go';

type SpecNode = { [k: string]: unknown };

/** Types that are not objects: written where they are used instead of as a reference. */
const INLINE: Record<string, CoreNode> = {
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { format: 'quantity' },
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { format: 'int-or-string' },
  'io.k8s.apimachinery.pkg.apis.meta.v1.Time': { type: 'string', format: 'date-time' },
};

const refName = (ref: string) => ref.replace('#/components/schemas/', '');

export function extractCoreV1(spec: { components: { schemas: Record<string, SpecNode> } }, goDefinitions: string, kubernetesVersion: string): CoreV1 {
  const schemas = spec.components.schemas;
  const definitions: Record<string, CoreNode> = {};
  const pending = [...ROOTS];
  const trim = (n: SpecNode, where: string): CoreNode => {
    const allOf = n.allOf as SpecNode[] | undefined;
    const ref = (n.$ref as string | undefined) ?? (allOf?.length === 1 ? (allOf[0]?.$ref as string | undefined) : undefined);
    if (ref) {
      const name = refName(ref);
      const inline = INLINE[name];
      if (inline) return { ...inline };
      if (!schemas[name]) throw new Error(`${where}: ${name} is not in the spec`);
      if (!pending.includes(name) && !definitions[name]) pending.push(name);
      return { $ref: name };
    }
    if (allOf || n.oneOf || n.anyOf) throw new Error(`${where}: a composition the extractor does not know`);
    const out: CoreNode = {};
    if (typeof n.type === 'string') out.type = n.type;
    if (typeof n.format === 'string' && n.format !== '') out.format = n.format;
    if (n.items) out.items = trim(n.items as SpecNode, `${where}[]`);
    if (n.properties) {
      out.properties = {};
      for (const [k, v] of Object.entries(n.properties as Record<string, SpecNode>).sort(([a], [b]) => (a < b ? -1 : 1)))
        out.properties[k] = trim(v, `${where}.${k}`);
    }
    if (Array.isArray(n.required) && n.required.length > 0) out.required = [...(n.required as string[])].sort();
    if (n.additionalProperties && typeof n.additionalProperties === 'object') out.additionalProperties = trim(n.additionalProperties as SpecNode, `${where}{}`);
    const keys = n['x-kubernetes-list-map-keys'];
    if (n['x-kubernetes-list-type'] === 'map' && Array.isArray(keys)) out['x-kubernetes-list-map-keys'] = [...(keys as string[])];
    if (out.type === undefined) throw new Error(`${where}: no type`);
    return out;
  };
  for (let name = pending.shift(); name !== undefined; name = pending.shift()) {
    if (definitions[name]) continue;
    definitions[name] = trim(schemas[name] as SpecNode, name);
  }
  applyEnums(definitions, goEnums(goDefinitions, new Set(Object.keys(definitions))));
  const sorted = Object.fromEntries(Object.entries(definitions).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { kubernetesVersion, definitions: sorted };
}

/** One enum of a definition: the path to it (property names, `[]` for items, `{}` for map values). */
export interface GoEnum {
  definition: string;
  path: string[];
  values: string[];
}

/**
 * Enum values from openapi-gen's output. The file is gofmt-ed generated code, so a schema's nesting
 * is its indentation: `"name": {` opens a property, `Items:` and `AdditionalProperties:` open
 * theirs, and each closes at the first `}` of the same indentation.
 */
export function goEnums(source: string, wanted: ReadonlySet<string>): GoEnum[] {
  const imports = new Map<string, string>();
  for (const m of source.matchAll(/^\t(\w+) "([^"]+)"$/gm)) imports.set(m[1] as string, m[2] as string);
  const functions = new Map<string, string>();
  for (const m of source.matchAll(/^\t\t(\w+)\.(\w+)\{\}\.OpenAPIModelName\(\):\s+(\w+)\(ref\),$/gm)) {
    const path = imports.get(m[1] as string);
    if (!path) throw new Error(`${GO_DEFINITIONS_FILE}: no import for ${m[1]}`);
    const [domain = '', ...rest] = path.split('/');
    const name = [...domain.split('.').reverse(), ...rest, m[2]].join('.');
    if (wanted.has(name)) functions.set(m[3] as string, name);
  }
  const missing = [...wanted].filter((w) => ![...functions.values()].includes(w));
  if (missing.length > 0) throw new Error(`${GO_DEFINITIONS_FILE}: no definition for ${missing.join(', ')}`);
  const enums: GoEnum[] = [];
  for (const [fn, definition] of functions) {
    const start = source.indexOf(`\nfunc ${fn}(`);
    const end = source.indexOf('\n}\n', start);
    if (start < 0 || end < 0) throw new Error(`${GO_DEFINITIONS_FILE}: no function ${fn}`);
    const stack: { indent: number; segment: string }[] = [];
    for (const line of source.slice(start, end).split('\n')) {
      const indent = line.length - line.trimStart().length;
      const text = line.trim();
      const top = stack.at(-1);
      if (top && indent === top.indent && text.startsWith('}')) {
        stack.pop();
        continue;
      }
      const prop = /^"([^"]+)": \{$/.exec(text);
      if (prop) stack.push({ indent, segment: prop[1] as string });
      else if (text.startsWith('Items: &spec.SchemaOrArray{')) stack.push({ indent, segment: '[]' });
      else if (text.startsWith('AdditionalProperties: &spec.SchemaOrBool{')) stack.push({ indent, segment: '{}' });
      const en = /^Enum: +\[\]interface\{\}\{(.*)\},$/.exec(text);
      if (en) enums.push({ definition, path: stack.map((s) => s.segment), values: JSON.parse(`[${en[1]}]`) as string[] });
    }
    if (stack.length > 0) throw new Error(`${GO_DEFINITIONS_FILE}: ${fn} did not close`);
    // Every enum openapi-gen documents must have been found: a change in its output fails here, not silently.
    const documented = source.slice(start, end).split('Possible enum values:').length - 1;
    const found = enums.filter((e) => e.definition === definition).length;
    if (found < documented) throw new Error(`${GO_DEFINITIONS_FILE}: ${fn} documents ${documented} enums, ${found} found`);
  }
  return enums;
}

function applyEnums(definitions: Record<string, CoreNode>, enums: readonly GoEnum[]): void {
  for (const e of enums) {
    let node = definitions[e.definition];
    for (const seg of e.path) {
      if (seg === '[]') node = node?.items;
      else if (seg === '{}') node = node?.additionalProperties;
      else node = node?.properties?.[seg];
    }
    const where = `${e.definition}.${e.path.join('.')}`;
    if (node?.type !== 'string') throw new Error(`${GO_DEFINITIONS_FILE}: enum of ${where}, which the spec has not as a string`);
    node.enum = [...e.values];
  }
}
