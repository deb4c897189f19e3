/**
 * The Kubernetes objects of one compiled profile: a MutatingAdmissionPolicy that injects it, a
 * ValidatingAdmissionPolicy that denies the pods the engine would deny (a mutation cannot deny,
 * and validation runs after every mutation, on the pod as the policy left it: unchanged), and a
 * binding for each, limited to the namespaces the webhook serves.
 */
import type { JsonObject } from '../common/json.ts';
import { DEFAULT_NAMESPACE, INJECTION_LABEL, NEVER_INJECTED, STATUS_ANNOTATION } from '../common/labels.ts';
import type { SidecarProfile } from '../engine/index.ts';
import { hasAnnotation } from './cel.ts';
import type { Variable } from './variables.ts';

export const POLICY_API_VERSION = 'admissionregistration.k8s.io/v1';

/** The webhook's namespace selector (deploy/manifests.ts) with Outrigger's default namespace. */
export const NAMESPACE_SELECTOR: JsonObject = {
  matchExpressions: [
    { key: INJECTION_LABEL, operator: 'In', values: ['enabled'] },
    { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...NEVER_INJECTED, DEFAULT_NAMESPACE] },
  ],
};

const POD_CREATE = [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }];

/** A pod that carries a status record is left as it is (README, "Policy mode": the record cannot be checked in CEL). */
const NOT_RECORDED = { name: 'no-status-record', expression: `!${hasAnnotation(STATUS_ANNOTATION)}` };

/** The engine denies: a request for a profile the set lacks (where the namespace denies those), or the profile's own denial. */
const DENIED = "variables.unknownDenial != '' || (variables.wanted && variables.denial != '')";
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

export function policyObjects(p: SidecarProfile, parts: PolicyParts): JsonObject[] {
  const name = policyName(p);
  const deny = denyPolicyName(p);
  const variables = (vs: readonly Variable[]) => vs.map((v) => ({ name: v.name, expression: v.expression }));
  return [
    {
      apiVersion: POLICY_API_VERSION,
      kind: 'MutatingAdmissionPolicy',
      metadata: meta(name, p),
      spec: {
        matchConstraints: { resourceRules: POD_CREATE },
        matchConditions: [NOT_RECORDED],
        variables: variables([...parts.decide, ...parts.mutate]),
        mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression: `${APPLY} ? ${parts.patch} : []` } }],
        failurePolicy: 'Fail',
        reinvocationPolicy: 'Never',
      },
    },
    {
      apiVersion: POLICY_API_VERSION,
      kind: 'MutatingAdmissionPolicyBinding',
      metadata: meta(name, p),
      spec: { policyName: name, matchResources: { namespaceSelector: NAMESPACE_SELECTOR } },
    },
    {
      apiVersion: POLICY_API_VERSION,
      kind: 'ValidatingAdmissionPolicy',
      metadata: meta(deny, p),
      spec: {
        matchConstraints: { resourceRules: POD_CREATE },
        matchConditions: [NOT_RECORDED],
        variables: variables(parts.decide),
        // One validation, so a denied pod gets one message, as from the webhook.
        validations: [
          { expression: `!(${DENIED})`, messageExpression: "variables.unknownDenial != '' ? variables.unknownDenial : variables.denial", reason: 'Forbidden' },
        ],
        failurePolicy: 'Fail',
      },
    },
    {
      apiVersion: POLICY_API_VERSION,
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: meta(deny, p),
      spec: { policyName: deny, validationActions: ['Deny'], matchResources: { namespaceSelector: NAMESPACE_SELECTOR } },
    },
  ];
}
