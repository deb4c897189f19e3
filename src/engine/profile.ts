/**
 * The engine's view of a SidecarProfile: validated, defaults applied, frozen, with its content hash
 * and globs compiled. Built once at load (profiles/compile.ts), read by every request.
 */
import type { JsonObject } from '../common/json.ts';
import type { ProfileTemplates } from './profile-templates.ts';
import type { ValueRule } from './template.ts';

export type SidecarMode = 'auto' | 'native' | 'classic';

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: readonly string[];
}

export interface LabelSelector {
  matchLabels?: Readonly<Record<string, string>>;
  matchExpressions?: readonly LabelSelectorRequirement[];
}

export interface SidecarProfile {
  name: string;
  /** Namespace of a profile read from the cluster; undefined for profiles from files. */
  namespace?: string;
  version: string;
  /** Content hash of the spec; a pod injected with a different hash is re-injected. */
  hash: string;
  /** Where the profile came from, for messages (`profiles/log.yaml, document 2`). */
  source: string;
  containers: readonly JsonObject[];
  initContainers: readonly JsonObject[];
  volumes: readonly JsonObject[];
  volumeMounts: readonly JsonObject[];
  env: readonly JsonObject[];
  envFrom: readonly JsonObject[];
  targets: readonly string[];
  initContainerTargets: readonly string[];
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  imagePullSecrets: readonly JsonObject[];
  sidecarMode: SidecarMode;
  selector?: { namespaceSelector?: LabelSelector; podSelector?: LabelSelector };
  mandatory: boolean;
  order: number;
  conflictPolicy: 'fail' | 'keep-pod';
  failurePolicy: 'fail' | 'ignore';
  overrides: { imageTag: boolean; resources: boolean };
  /** The rule every value from the pod or namespace must follow in this profile's templates (spec.templateValues.rule). */
  templateRule?: ValueRule;
  /** True when some string value holds a `{{ }}` template, so rendering can be skipped otherwise. */
  templated: boolean;
  /** The templates, compiled at load; present exactly when `templated`. */
  templates?: ProfileTemplates;
  /** `containers` as native sidecars, made at load (see Parts.nativeContainers). */
  nativeContainers?: readonly JsonObject[];
}

/** A loaded set of profiles, sorted by (order, name): the order in which they are injected. */
export interface ProfileSet {
  readonly profiles: readonly SidecarProfile[];
  readonly byName: ReadonlyMap<string, SidecarProfile>;
}

export function profileSet(profiles: readonly SidecarProfile[]): ProfileSet {
  const sorted = [...profiles].sort((a, b) => a.order - b.order || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return Object.freeze({ profiles: Object.freeze(sorted), byName: new Map(sorted.map((p) => [p.name, p])) });
}
