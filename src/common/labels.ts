/**
 * Every name Outrigger reads or writes in a cluster, in one place: annotation and label keys, the
 * per-pod override keys, the API group and kind of SidecarProfile, and the default names of the
 * objects the install bundle creates and `serve` looks for. Users, dashboards and other tools key
 * on these strings, so changing one is an API change. A leaf: every layer may import it.
 */

/** The prefix of every annotation and label Outrigger owns; profiles may not set keys under it. */
export const PREFIX = 'outrigger.dev/';

/** Pod (template) annotation: the profiles to inject, or `"false"` to opt out. */
export const INJECT_ANNOTATION = 'outrigger.dev/inject';
/** Pod annotation written by Outrigger: the record of exactly what was injected. */
export const STATUS_ANNOTATION = 'outrigger.dev/status';
/** Namespace label that turns the webhook on: `outrigger.dev/injection: enabled`. */
export const INJECTION_LABEL = 'outrigger.dev/injection';
/**
 * Namespace label: what happens to a pod there that requests a profile that does not exist —
 * `deny` refuses it, `admit` admits it without that profile (with a warning). Without the label
 * the server's `--unknown-profiles` decides (default admit).
 */
export const UNKNOWN_PROFILES_LABEL = 'outrigger.dev/unknown-profiles';
/** Annotation on the CA Secret: when the next CA was made (cert mode self). */
export const CA_NEXT_CREATED_ANNOTATION = 'outrigger.dev/ca-next-created';
/** `reportingController` of the Events Outrigger records. */
export const REPORTING_CONTROLLER = 'outrigger.dev/webhook';

/** What a per-pod override annotation may change, when the profile allows it. */
export type OverrideKind = 'image-tag' | 'resources';
/** Per-pod override annotation: `outrigger.dev/<profile>.image-tag`, `outrigger.dev/<profile>.resources`. */
export const overrideAnnotation = (profile: string, what: OverrideKind) => `${PREFIX}${profile}.${what}`;

/** The SidecarProfile API. */
export const API_GROUP = 'outrigger.dev';
export const API_VERSION = 'v1alpha1';
export const PROFILE_KIND = 'SidecarProfile';
export const PROFILE_PLURAL = 'sidecarprofiles';
export const PROFILE_API_VERSION = `${API_GROUP}/${API_VERSION}`;

/** Namespaces the webhook must never see: a broken webhook there could stop the cluster healing itself. */
export const NEVER_INJECTED: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

/** Default names of the installed objects; `outrigger manifests` creates them and `serve` looks for them. */
export const DEFAULT_NAMESPACE = 'outrigger-system';
/** The ServiceAccount, Deployment, Service and webhook configurations. */
export const NAME = 'outrigger';
export const TLS_SECRET = 'outrigger-tls';
/** Cert mode self: the CA's private key, apart from the serving Secret every replica reads. */
export const CA_SECRET = 'outrigger-ca';
export const LEADER_LEASE = 'outrigger-certificates';
export const WEBHOOK_NAME = 'pods.outrigger.dev';
export const WORKLOADS_WEBHOOK_NAME = 'workloads.outrigger.dev';
/** The webhook port, and the admin listener's port on loopback (/explain, verbose readiness). */
export const WEBHOOK_PORT = 8443;
export const ADMIN_PORT = 9443;
export const ADMIN_ADDRESS = `127.0.0.1:${ADMIN_PORT}`;

/** The admission policy kinds policy mode writes, in the order they are applied (a binding after its policy). */
export const POLICY_RESOURCES = [
  { kind: 'MutatingAdmissionPolicy', plural: 'mutatingadmissionpolicies' },
  { kind: 'ValidatingAdmissionPolicy', plural: 'validatingadmissionpolicies' },
  { kind: 'MutatingAdmissionPolicyBinding', plural: 'mutatingadmissionpolicybindings' },
  { kind: 'ValidatingAdmissionPolicyBinding', plural: 'validatingadmissionpolicybindings' },
] as const;
/** The label on the admission policies one `serve --admission policy` keeps: its controller namespace. */
export const SYNCED_BY_LABEL = 'outrigger.dev/synced-by';
