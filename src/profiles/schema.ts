/**
 * The SidecarProfile schema as data: the one source of truth for load-time validation (validate.ts)
 * and for the CRD's OpenAPI v3 schema. Core/v1 types (containers, volumes, env, mounts) come from
 * the pinned Kubernetes version's own OpenAPI schema (core-v1.ts), with the profile's own stricter
 * rules laid over them: a field Kubernetes does not know is refused, not carried into pods.
 */

import { MAX_GLOBS } from '../common/k8s-names.ts';
import { PROFILE_API_VERSION, PROFILE_KIND } from '../common/labels.ts';
import { VALUE_RULE_NAMES } from '../engine/index.ts';
import { coreObject, coreSchema, overlay } from './core-v1.ts';

export type Format = 'dns1123-label' | 'dns1123-subdomain' | 'port-name' | 'glob' | 'label-key' | 'label-value' | 'env-name';

export type Schema =
  | {
      type: 'string';
      description?: string;
      enum?: readonly string[];
      format?: Format;
      /** An OpenAPI format the API server checks (a timestamp). */
      openApiFormat?: 'date-time';
      minLength?: number;
      maxLength?: number;
      default?: string;
    }
  | { type: 'integer'; description?: string; format?: 'int32' | 'int64'; minimum?: number; maximum?: number; default?: number }
  | { type: 'number'; description?: string }
  | { type: 'boolean'; description?: string; default?: boolean }
  /** A Kubernetes resource quantity ("100m", "1Gi", 2): an integer or a string. */
  | { type: 'quantity'; description?: string }
  /** An integer or a string (a port by number or by name). */
  | { type: 'int-or-string'; description?: string }
  | {
      type: 'array';
      description?: string;
      items: Schema;
      listKey?: string;
      /** A second key field and the value the API server defaults it to (a port is keyed by number and protocol). */
      listKeyAlso?: { field: string; default: string };
      maxItems?: number;
    }
  | {
      type: 'object';
      description?: string;
      properties?: Readonly<Record<string, Schema>>;
      required?: readonly string[];
      /** Schema of the values of a map (labels, annotations). */
      additionalProperties?: Schema;
      /** Keep fields this schema does not list (core/v1 types, so new Kubernetes fields are never lost). */
      preserveUnknownFields?: boolean;
    };

const str = (extra: Omit<Extract<Schema, { type: 'string' }>, 'type'> = {}): Schema => ({ type: 'string', ...extra });
const stringMap = (description: string): Schema => ({
  type: 'object',
  description,
  additionalProperties: str(),
});

const labelSelector: Schema = {
  type: 'object',
  properties: {
    matchLabels: { type: 'object', additionalProperties: str({ format: 'label-value' }) },
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        properties: {
          key: str({ format: 'label-key' }),
          operator: str({ enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }),
          values: { type: 'array', items: str() },
        },
      },
    },
  },
};

const envVar = overlay(coreObject('EnvVar'), { properties: { name: str({ format: 'env-name' }) } });

const volumeMount = overlay(coreObject('VolumeMount'), { properties: { name: str({ format: 'dns1123-label' }) } });

const container = overlay(coreObject('Container'), {
  required: ['image'],
  properties: {
    name: str({ format: 'dns1123-label' }),
    image: str({ minLength: 1 }),
    ports: {
      type: 'array',
      listKey: 'containerPort',
      listKeyAlso: { field: 'protocol', default: 'TCP' },
      items: overlay(coreObject('ContainerPort'), {
        properties: { name: str({ format: 'port-name' }), containerPort: { type: 'integer', format: 'int32', minimum: 1, maximum: 65535 } },
      }),
    },
    env: { type: 'array', listKey: 'name', items: envVar },
    volumeMounts: { type: 'array', listKey: 'mountPath', items: volumeMount },
    // Only native sidecars have one; Kubernetes' other values are for the pod's own containers.
    restartPolicy: str({ enum: ['Always'] }),
  },
});

const volume = overlay(coreObject('Volume'), { properties: { name: str({ format: 'dns1123-label' }) } });

export const profileSpecSchema: Schema = {
  type: 'object',
  required: ['version'],
  properties: {
    version: str({ minLength: 1, maxLength: 63, description: 'Version of this profile, recorded on every injected pod.' }),
    containers: { type: 'array', listKey: 'name', items: container, description: 'Sidecar containers.' },
    initContainers: { type: 'array', listKey: 'name', items: container, description: 'Run-once init containers, placed before the pod’s own.' },
    volumes: { type: 'array', listKey: 'name', items: volume },
    volumeMounts: { type: 'array', listKey: 'mountPath', items: volumeMount, description: 'Mounts added to the targeted app containers.' },
    env: { type: 'array', listKey: 'name', items: envVar, description: 'Env vars added to the targeted app containers.' },
    envFrom: { type: 'array', items: coreSchema('EnvFromSource') },
    targets: {
      type: 'array',
      maxItems: MAX_GLOBS,
      items: str({ format: 'glob' }),
      description: 'App containers (names or globs) that get volumeMounts, env and envFrom. Default ["*"].',
    },
    initContainerTargets: {
      type: 'array',
      maxItems: MAX_GLOBS,
      items: str({ format: 'glob' }),
      description: 'The pod’s own init containers that get them too. Default none.',
    },
    metadata: {
      type: 'object',
      properties: { labels: stringMap('Labels added to the pod.'), annotations: stringMap('Annotations added to the pod.') },
    },
    imagePullSecrets: {
      type: 'array',
      listKey: 'name',
      items: overlay(coreObject('LocalObjectReference'), { required: ['name'], properties: { name: str({ format: 'dns1123-subdomain' }) } }),
    },
    sidecarMode: str({ enum: ['auto', 'native', 'classic'], default: 'auto' }),
    selector: {
      type: 'object',
      description: 'Inject into matching pods without a per-pod request.',
      properties: { namespaceSelector: labelSelector, podSelector: labelSelector },
    },
    mandatory: { type: 'boolean', default: false, description: 'Pods cannot opt out with outrigger.dev/inject: "false".' },
    order: { type: 'integer', minimum: -1000, maximum: 1000, default: 0, description: 'Lower orders are injected first; ties by name.' },
    conflictPolicy: str({ enum: ['fail', 'keep-pod'], default: 'fail', description: 'What to do when the pod already has a different item of the same name.' }),
    failurePolicy: str({
      enum: ['fail', 'ignore'],
      default: 'fail',
      description: 'Deny the pod, or admit it without this profile, when injection is impossible.',
    }),
    templateValues: {
      type: 'object',
      description: 'What values from the pod and its namespace may hold when a template uses them.',
      properties: {
        rule: str({
          enum: VALUE_RULE_NAMES,
          description: 'Every value from the pod or namespace must follow this rule, unless its template names its own ("| rule").',
        }),
      },
    },
    overrides: {
      type: 'object',
      description: 'Per-pod overrides the profile allows through annotations.',
      properties: { imageTag: { type: 'boolean', default: false }, resources: { type: 'boolean', default: false } },
    },
  },
};

export const profileSchema: Schema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: str({ enum: [PROFILE_API_VERSION] }),
    kind: str({ enum: [PROFILE_KIND] }),
    metadata: {
      type: 'object',
      required: ['name'],
      preserveUnknownFields: true,
      properties: { name: str({ format: 'dns1123-label' }), namespace: str({ format: 'dns1123-label' }) },
    },
    spec: profileSpecSchema,
    status: { type: 'object', preserveUnknownFields: true },
  },
};
