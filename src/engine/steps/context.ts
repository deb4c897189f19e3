/**
 * What one injection reads besides the pod and the profiles: the cluster's facts, and the values
 * templates see. Shared by every step of inject().
 */
import { isObject, type JsonObject, listOf, nameOf, stringMap } from '../../common/json.ts';
import type { SidecarProfile } from '../profile.ts';
import type { TemplateValues } from '../template.ts';

export interface KubeVersion {
  major: number;
  minor: number;
}

export interface InjectContext {
  /** Namespace the pod is created in. */
  namespace: string;
  namespaceLabels?: Readonly<Record<string, string>>;
  /** Version of the API server; decides native vs classic sidecars for `sidecarMode: auto`. */
  kubeVersion: KubeVersion;
  /** A pod requesting a profile that does not exist: admitted without it (the default) or denied; the namespace's UNKNOWN_PROFILES_LABEL overrides it. */
  unknownProfiles?: UnknownProfiles;
}

export type UnknownProfiles = 'admit' | 'deny';

/** Kubernetes 1.29 turned native sidecars (SidecarContainers) on by default. */
export function supportsNativeSidecars(v: KubeVersion): boolean {
  return v.major > 1 || (v.major === 1 && v.minor >= 29);
}

/** The mode a profile's sidecars get on this cluster. */
export function sidecarModeFor(p: SidecarProfile, v: KubeVersion): 'native' | 'classic' {
  if (p.sidecarMode !== 'auto') return p.sidecarMode;
  return supportsNativeSidecars(v) ? 'native' : 'classic';
}

/**
 * Template values for each profile of one request. The pod's and namespace's part is the same for
 * all of them, so it is built once, and only when a profile has templates.
 */
export function templateValuesFor(pod: JsonObject, ctx: InjectContext): (profile: SidecarProfile) => TemplateValues {
  let shared: Omit<TemplateValues, 'profile'> | undefined;
  return (profile) => {
    shared ??= podTemplateValues(pod, ctx);
    return { ...shared, profile: { name: profile.name, version: profile.version } };
  };
}

function podTemplateValues(pod: JsonObject, ctx: InjectContext): Omit<TemplateValues, 'profile'> {
  const meta = isObject(pod.metadata) ? pod.metadata : {};
  const spec = isObject(pod.spec) ? pod.spec : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  // An undefined field reads as absent (see lookup).
  return {
    pod: {
      name: str(meta.name),
      generateName: str(meta.generateName),
      serviceAccountName: str(spec.serviceAccountName),
      namespace: ctx.namespace,
      labels: stringMap(meta.labels),
      annotations: stringMap(meta.annotations),
    },
    namespace: { name: ctx.namespace, labels: { ...ctx.namespaceLabels } },
  };
}

/** The pod's annotations as strings: where per-pod overrides are read from. */
export const podAnnotations = (pod: JsonObject): Record<string, string> => stringMap(isObject(pod.metadata) ? pod.metadata.annotations : undefined);

/** Names of the pod's containers or init containers. */
export function ownNames(pod: JsonObject, field: 'containers' | 'initContainers'): Set<string> {
  const spec = isObject(pod.spec) ? pod.spec : {};
  const names = new Set<string>();
  for (const c of listOf(spec[field])) {
    const name = nameOf(c);
    if (name !== undefined) names.add(name);
  }
  return names;
}
