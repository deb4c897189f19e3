/**
 * Turns a validated SidecarProfile document into the engine's frozen SidecarProfile: defaults
 * applied, hash computed, templates detected. Runs once per load, never per request.
 */
import { canonicalJson, deepFreeze, isObject, type JsonObject, type JsonValue, stringMap } from '../common/json.ts';
import { sha256Hex } from '../common/sha256.ts';
import {
  asNativeSidecar,
  compileProfileTemplates,
  type LabelSelector,
  type SidecarMode,
  type SidecarProfile,
  type TemplatedPart,
  type ValueRule,
} from '../engine/index.ts';

const list = (v: JsonValue | undefined): JsonObject[] => (Array.isArray(v) ? (v.filter(isObject) as JsonObject[]) : []);
const strings = (v: JsonValue | undefined): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);

/** The document must already have passed validateProfileDocument. */
export function compileProfile(doc: JsonObject, source: string): SidecarProfile {
  const meta = doc.metadata as JsonObject;
  const spec = doc.spec as JsonObject;
  const md = isObject(spec.metadata) ? spec.metadata : {};
  const sel = isObject(spec.selector) ? spec.selector : undefined;
  const overrides = isObject(spec.overrides) ? spec.overrides : {};
  const rule = isObject(spec.templateValues) && typeof spec.templateValues.rule === 'string' ? (spec.templateValues.rule as ValueRule) : undefined;
  const profile: SidecarProfile = {
    name: meta.name as string,
    ...(typeof meta.namespace === 'string' ? { namespace: meta.namespace } : {}),
    version: spec.version as string,
    hash: '',
    source,
    containers: list(spec.containers),
    initContainers: list(spec.initContainers),
    volumes: list(spec.volumes),
    volumeMounts: list(spec.volumeMounts),
    env: list(spec.env),
    envFrom: list(spec.envFrom),
    targets: Array.isArray(spec.targets) ? strings(spec.targets) : ['*'],
    initContainerTargets: strings(spec.initContainerTargets),
    labels: stringMap(md.labels),
    annotations: stringMap(md.annotations),
    imagePullSecrets: list(spec.imagePullSecrets),
    sidecarMode: (spec.sidecarMode as SidecarMode | undefined) ?? 'auto',
    ...(sel && (sel.namespaceSelector || sel.podSelector)
      ? {
          selector: {
            ...(isObject(sel.namespaceSelector) ? { namespaceSelector: sel.namespaceSelector as unknown as LabelSelector } : {}),
            ...(isObject(sel.podSelector) ? { podSelector: sel.podSelector as unknown as LabelSelector } : {}),
          },
        }
      : {}),
    mandatory: spec.mandatory === true,
    order: typeof spec.order === 'number' ? spec.order : 0,
    conflictPolicy: spec.conflictPolicy === 'keep-pod' ? 'keep-pod' : 'fail',
    failurePolicy: spec.failurePolicy === 'ignore' ? 'ignore' : 'fail',
    overrides: { imageTag: overrides.imageTag === true, resources: overrides.resources === true },
    // Only when set, so the hash of every profile without it stays what it was.
    ...(rule ? { templateRule: rule } : {}),
    templated: false, // set below, with the compiled templates
  };
  // Hashed after defaults are applied, so a profile from a file and the same profile read back from
  // the API server (which fills in the CRD's defaults) carry the same hash.
  const { name: _n, namespace: _ns, source: _s, hash: _h, templated: _t, ...content } = profile;
  profile.hash = `sha256:${sha256Hex(canonicalJson(content as unknown as JsonValue)).slice(0, 16)}`;
  const frozen = deepFreeze(structuredClone(profile));
  // Templates are compiled from the frozen parts the renderer walks along them.
  const templates = compileProfileTemplates(frozen as unknown as Record<TemplatedPart, JsonValue>);
  return Object.freeze({
    ...frozen,
    templated: templates !== undefined,
    ...(templates ? { templates } : {}),
    nativeContainers: Object.freeze(frozen.containers.map(asNativeSidecar)),
  });
}
