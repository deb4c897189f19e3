/**
 * Where a set's policies apply. The cluster-wide set's bindings serve every namespace the webhook
 * serves except those with profiles of their own; such a namespace's set (the cluster-wide
 * profiles and its own, as the webhook builds it) has objects of its own, named after the
 * namespace and bound to it alone, so every pod is served by exactly one set.
 *
 * Names: `outrigger.ns.<namespace>.profiles`, `.profiles-deny` and `.unknown-profiles`, whatever
 * the set holds. A namespace name is a DNS label (at most 63 characters, no dot), so the names are
 * valid DNS subdomains of at most 93 characters, one namespace's never another's, and never a
 * cluster-wide name (`outrigger-<profile>…`, `outrigger.profiles…`).
 */
import type { JsonObject } from '../common/json.ts';
import { NAMESPACE_SELECTOR, UNKNOWN_PROFILES_POLICY } from './objects.ts';

const PREFIX = 'outrigger.ns.';
const NAME_KEY = 'kubernetes.io/metadata.name';
/** The label on a namespace's own objects: `kubectl get mutatingadmissionpolicies -l outrigger.dev/namespace=shop`. */
export const NAMESPACE_LABEL = 'outrigger.dev/namespace';
export const PROFILE_LABEL = 'outrigger.dev/profile';

export const namespacePolicyName = (namespace: string) => `${PREFIX}${namespace}.profiles`;

/** The namespace whose own set an object of this name belongs to, or undefined for the cluster-wide set's. */
export function namespaceOfName(name: string): string | undefined {
  if (!name.startsWith(PREFIX)) return undefined;
  const end = name.indexOf('.', PREFIX.length);
  return end < 0 ? undefined : name.slice(PREFIX.length, end);
}

const isBinding = (o: JsonObject) => String(o.kind).endsWith('Binding');

/** The object's name in the namespace's own set: one mutating policy, its deny policy and the unknown-profiles one. */
function scopedName(o: JsonObject, namespace: string): string {
  const name = isBinding(o) ? ((o.spec as JsonObject).policyName as string) : ((o.metadata as JsonObject).name as string);
  if (String(o.kind).startsWith('Mutating')) return namespacePolicyName(namespace);
  return name === UNKNOWN_PROFILES_POLICY ? `${PREFIX}${namespace}.unknown-profiles` : `${PREFIX}${namespace}.profiles-deny`;
}

const withSelector = (spec: JsonObject, extra: JsonObject): JsonObject => ({
  ...spec,
  matchResources: {
    namespaceSelector: { matchExpressions: [...(NAMESPACE_SELECTOR.matchExpressions as JsonObject[]), extra] },
  },
});

/** A namespace's set compiled by compilePolicies, renamed and bound to that namespace alone (and the webhook's namespace selector). */
export function namespaceScoped(objects: readonly JsonObject[], namespace: string): JsonObject[] {
  return objects.map((o) => {
    const name = scopedName(o, namespace);
    const meta = o.metadata as JsonObject;
    const { [PROFILE_LABEL]: _, ...labels } = (meta.labels ?? {}) as JsonObject;
    const metadata = { ...meta, name, labels: { ...labels, [NAMESPACE_LABEL]: namespace } };
    if (!isBinding(o)) return { ...o, metadata };
    const spec = withSelector({ ...(o.spec as JsonObject), policyName: name }, { key: NAME_KEY, operator: 'In', values: [namespace] });
    return { ...o, metadata, spec };
  });
}

/** A cluster-wide binding that leaves out the namespaces served by their own set (none: the object as compiled). */
export function excluding(o: JsonObject, namespaces: readonly string[]): JsonObject {
  if (namespaces.length === 0 || !isBinding(o)) return o;
  return { ...o, spec: withSelector(o.spec as JsonObject, { key: NAME_KEY, operator: 'NotIn', values: [...namespaces] }) };
}
