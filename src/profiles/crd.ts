/**
 * The SidecarProfile CustomResourceDefinition, generated from the same schema the loader validates
 * with (schema.ts), so the API server and Outrigger can never disagree on what a profile may hold.
 * `npm run generate` writes it to deploy/; a test fails when the file is stale.
 */
import type { JsonObject, JsonValue } from '../common/json.ts';
import { DNS1123_LABEL, DNS1123_SUBDOMAIN, ENV_NAME, GLOB, IANA_SVC_NAME, MAX_GLOB_LENGTH, QUALIFIED_NAME } from '../common/k8s-names.ts';
import { API_GROUP, API_VERSION, PROFILE_KIND, PROFILE_PLURAL } from '../common/labels.ts';
import { type Format, profileSpecSchema, type Schema } from './schema.ts';

/** Patterns the API server checks; the loader's own messages stay more precise. */
/** A pattern without its anchors, to build a larger one. */
const inner = (re: RegExp) => re.source.slice(1, -1);
const FORMAT_PATTERNS: Record<Format, { pattern: string; maxLength?: number }> = {
  'dns1123-label': { pattern: DNS1123_LABEL.source, maxLength: 63 },
  'dns1123-subdomain': { pattern: DNS1123_SUBDOMAIN.source, maxLength: 253 },
  'port-name': { pattern: IANA_SVC_NAME.source, maxLength: 15 },
  glob: { pattern: GLOB.source, maxLength: MAX_GLOB_LENGTH },
  'label-key': { pattern: `^(${inner(DNS1123_SUBDOMAIN)}/)?${inner(QUALIFIED_NAME)}$` },
  'label-value': { pattern: `^(${inner(QUALIFIED_NAME)})?$`, maxLength: 63 },
  'env-name': { pattern: ENV_NAME.source },
};

/** What apiextensions' generated CRDs write for resource.Quantity (the parser's grammar; the loader parses too). */
const QUANTITY_PATTERN = '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

/** OpenAPI v3 (structural) for one schema node. */
export function openApi(s: Schema): JsonObject {
  // Structural-schema form of Kubernetes' own int-or-string and quantity types, as in its CRDs.
  if (s.type === 'int-or-string' || s.type === 'quantity')
    return {
      ...(s.description ? { description: s.description } : {}),
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      ...(s.type === 'quantity' ? { pattern: QUANTITY_PATTERN } : {}),
      'x-kubernetes-int-or-string': true,
    };
  const out: JsonObject = { type: s.type };
  if (s.description) out.description = s.description;
  switch (s.type) {
    case 'string':
      if (s.enum) out.enum = [...s.enum];
      if (s.openApiFormat) out.format = s.openApiFormat;
      if (s.minLength !== undefined) out.minLength = s.minLength;
      if (s.format) Object.assign(out, FORMAT_PATTERNS[s.format]);
      if (s.maxLength !== undefined) out.maxLength = s.maxLength;
      if (s.default !== undefined) out.default = s.default;
      break;
    case 'integer':
      if (s.format) out.format = s.format;
      if (s.minimum !== undefined) out.minimum = s.minimum;
      if (s.maximum !== undefined) out.maximum = s.maximum;
      if (s.default !== undefined) out.default = s.default;
      break;
    case 'boolean':
      if (s.default !== undefined) out.default = s.default;
      break;
    case 'array':
      out.items = openApi(s.items);
      if (s.maxItems !== undefined) out.maxItems = s.maxItems;
      // A list keyed by a field the API server defaults (a port's protocol) cannot be a map here: map
      // keys must be required or defaulted, and a CRD default would change the stored profile and so
      // its hash. It is atomic; load-time validation refuses duplicates by both fields.
      if (s.listKeyAlso) out['x-kubernetes-list-type'] = 'atomic';
      else if (s.listKey && s.items.type === 'object' && s.items.required?.includes(s.listKey)) {
        out['x-kubernetes-list-type'] = 'map';
        out['x-kubernetes-list-map-keys'] = [s.listKey];
      }
      break;
    case 'object':
      if (s.properties) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, openApi(v)]));
      if (s.required?.length) out.required = [...s.required];
      if (s.additionalProperties) out.additionalProperties = openApi(s.additionalProperties);
      if (s.preserveUnknownFields) out['x-kubernetes-preserve-unknown-fields'] = true;
      break;
  }
  return out;
}

const condition: JsonObject = {
  type: 'object',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: { type: 'string', maxLength: 316 },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    reason: { type: 'string', maxLength: 1024, minLength: 1 },
    message: { type: 'string', maxLength: 32768 },
  },
};

export function sidecarProfileCrd(): JsonObject {
  const status: JsonObject = {
    type: 'object',
    properties: {
      observedGeneration: { type: 'integer', format: 'int64' },
      activeVersion: { type: 'string', description: 'The version injected now: the last valid one.' },
      activeHash: { type: 'string' },
      conditions: { type: 'array', items: condition, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] } as JsonValue,
    },
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PROFILE_PLURAL}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      scope: 'Namespaced',
      names: {
        kind: PROFILE_KIND,
        listKind: `${PROFILE_KIND}List`,
        plural: PROFILE_PLURAL,
        singular: 'sidecarprofile',
        shortNames: ['scp'],
        categories: ['outrigger'],
      },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Version', type: 'string', jsonPath: '.spec.version' },
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'A sidecar declared once and injected by Outrigger into the pods that ask for it.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: openApi(profileSpecSchema),
                status,
              },
            },
          },
        },
      ],
    },
  };
}
