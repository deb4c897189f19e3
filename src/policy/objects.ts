/**
 * The Kubernetes objects of one compiled profile: a MutatingAdmissionPolicy that injects it, a
 * ValidatingAdmissionPolicy that denies the pods the engine would deny (a mutation cannot deny,
 * and validation runs after every mutation, on the pod as the policy left it: unchanged), and a
 * binding for each, limited to the namespaces the webhook serves.
 */
import type { JsonObject } from '../common/json.ts';
import { DEFAULT_NAMESPACE, INJECTION_LABEL, NEVER_INJECTED, STATUS_ANNOTATION } from '../common/labels.ts';
import type { SidecarProfile } from '../engine/index.ts';
import { hasAnnotation, str } from './cel.ts';
import type { Variable } from './variables.ts';

/** The engine's words for a failurePolicy ignore profile it left out (steps/decision.ts, admittedWithout). */
export const ADMITTED_WITHOUT = ' (the pod is admitted without it: failurePolicy ignore)';

export const POLICY_API_VERSION = 'admissionregistration.k8s.io/v1';

/** The webhook's namespace selector (deploy/manifests.ts) with Outrigger's default namespace. */
export const NAMESPACE_SELECTOR: JsonObject = {
  matchExpressions: [
    { key: INJECTION_LABEL, operator: 'In', values: ['enabled'] },
    { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...NEVER_INJECTED, DEFAULT_NAMESPACE] },
  ],
};

export const POD_CREATE = [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }];

/** A pod that carries a status record is left as it is (README, "Policy mode": the record cannot be checked in CEL). */
export const NOT_RECORDED = { name: 'no-status-record', expression: `!${hasAnnotation(STATUS_ANNOTATION)}` };

/**
 * The second check of a validating policy for failurePolicy fail profiles: a pod it finds wanted,
 * not denied and without a status record was not injected, because the mutating policy that ran
 * was another version than this one (the reconciler writes the two one after the other). Admitted,
 * it would lack every profile of the set, which neither version does: it is denied instead.
 */
export const notInjected = (wanted: string) => ({
  expression: `variables.unknownDenial != '' || variables.denial != '' || !(${wanted})`,
  message: "Outrigger's admission policies are being changed and did not inject this pod's profiles; create it again",
});

/** Injected unless the pod is denied for requesting a profile the set lacks, or the profile cannot be injected. */
const APPLY = "variables.unknownDenial == '' && variables.wanted && variables.denial == ''";

export interface PolicyParts {
  /** Selection and denial, shared by both policies. */
  decide: Variable[];
  /** What the mutation also reads: the status record. */
  mutate: Variable[];
  patch: string;
}

export const policyName = (p: SidecarProfile) => `outrigger-${p.name}`;
export const denyPolicyName = (p: SidecarProfile) => `outrigger-${p.name}-deny`;

function meta(name: string, p: SidecarProfile): JsonObject {
  return {
    name,
    labels: { 'app.kubernetes.io/managed-by': 'outrigger', 'outrigger.dev/profile': p.name },
    annotations: { 'outrigger.dev/profile-version': p.version, 'outrigger.dev/profile-hash': p.hash, 'outrigger.dev/profile-source': p.source },
  };
}

/** A MutatingAdmissionPolicy for pod creates (none that carry a status record) and its binding. */
export function mutatingPolicy(metadata: JsonObject, variables: readonly Variable[], patch: string): JsonObject[] {
  const name = metadata.name as string;
  return [
    {
      apiVersion: POLICY_API_VERSION,
      kind: 'MutatingAdmissionPolicy',
      metadata,
      spec: {
        ...podCreates(variables),
        mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression: patch } }],
        failurePolicy: 'Fail',
        reinvocationPolicy: 'Never',
      },
    },
    {
      apiVersion: POLICY_API_VERSION,
      kind: 'MutatingAdmissionPolicyBinding',
      metadata,
      spec: { policyName: name, matchResources: { namespaceSelector: NAMESPACE_SELECTOR } },
    },
  ];
}

/** A ValidatingAdmissionPolicy for pod creates (none that carry a status record) and its binding. */
export function validatingPolicy(
  metadata: JsonObject,
  variables: readonly Variable[],
  validation: { expression: string; messageExpression: string },
  action: 'Deny' | 'Warn',
  also: readonly { expression: string; message: string }[] = [],
): JsonObject[] {
  const name = metadata.name as string;
  return [
    {
      apiVersion: POLICY_API_VERSION,
      kind: 'ValidatingAdmissionPolicy',
      metadata,
      spec: {
        ...podCreates(variables),
        validations: [validation, ...also].map((v) => ({ ...v, reason: 'Forbidden' })),
        failurePolicy: 'Fail',
      },
    },
    {
      apiVersion: POLICY_API_VERSION,
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata,
      spec: { policyName: name, validationActions: [action], matchResources: { namespaceSelector: NAMESPACE_SELECTOR } },
    },
  ];
}

/** What every policy matches, and its named expressions. */
const podCreates = (variables: readonly Variable[]) => ({
  matchConstraints: { resourceRules: POD_CREATE },
  matchConditions: [NOT_RECORDED],
  variables: variables.map((v) => ({ name: v.name, expression: v.expression })),
});

export function policyObjects(p: SidecarProfile, parts: PolicyParts): JsonObject[] {
  const ignore = p.failurePolicy === 'ignore';
  const message = ignore ? `variables.denial + ${str(ADMITTED_WITHOUT)}` : 'variables.denial';
  return [
    ...mutatingPolicy(meta(policyName(p), p), [...parts.decide, ...parts.mutate], `${APPLY} ? ${parts.patch} : []`),
    // failurePolicy ignore: the pod is admitted without the profile, with the engine's warning.
    ...validatingPolicy(
      meta(denyPolicyName(p), p),
      parts.decide,
      { expression: "!variables.wanted || variables.denial == ''", messageExpression: message },
      ignore ? 'Warn' : 'Deny',
      // failurePolicy ignore: a pod it did not inject is admitted, as a denial of it would be.
      ignore ? [] : [notInjected('variables.wanted')],
    ),
  ];
}

export const UNKNOWN_PROFILES_POLICY = 'outrigger-unknown-profiles';

/**
 * The set's own policy: a pod that requests a profile the set lacks is denied where its namespace
 * is labelled outrigger.dev/unknown-profiles=deny, whatever the profiles' failurePolicy.
 */
export function unknownProfilesObjects(known: readonly string[], variables: readonly Variable[]): JsonObject[] {
  const metadata = {
    name: UNKNOWN_PROFILES_POLICY,
    labels: { 'app.kubernetes.io/managed-by': 'outrigger' },
    annotations: { 'outrigger.dev/profiles': known.join(',') },
  };
  return validatingPolicy(metadata, variables, { expression: "variables.unknownDenial == ''", messageExpression: 'variables.unknownDenial' }, 'Deny');
}
