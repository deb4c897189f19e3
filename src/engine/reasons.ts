/**
 * Every outcome the engine or the webhook can report, as a closed list. Logs, metric labels,
 * `/explain`, warnings and the CLI all use these codes and sentences, so an operator sees the same
 * words everywhere. Adding a reason is an API change: metrics dashboards key on these codes.
 */
export const REASONS = {
  injected: 'The profile was injected.',
  'already-injected': 'The pod already carries this profile at its current version; nothing to do.',
  updated: 'The pod carried an older version of this profile; it was replaced by the current one.',
  'opted-out': 'The pod opted out with outrigger.dev/inject: "false".',
  'nothing-requested': 'No profile was requested by the outrigger.dev/inject annotation or selected by a profile selector.',
  'unknown-profile': 'The pod requested a profile that does not exist.',
  'invalid-annotation': 'An outrigger.dev annotation on the pod is malformed.',
  'name-conflict': 'The pod already uses a name that the profile adds, and the profile does not allow sharing it.',
  'template-error': 'A value from the pod or its namespace, needed by the profile, is missing or breaks the rule the profile sets for it.',
  'invalid-override': 'A per-pod override annotation is malformed or not allowed by the profile.',
  'unsupported-kube-version': 'The profile needs native sidecars, which this Kubernetes version does not support.',
  'invalid-result': 'Injecting the profile would produce a pod the API server rejects.',
  'patch-verification-failed': 'The computed patch did not reproduce the injected pod; nothing was changed.',
  'not-a-pod-create': 'Only pod creation is mutated; this request is allowed unchanged.',
} as const;

export type ReasonCode = keyof typeof REASONS;

/** Reasons that mean the profile could not be applied because of an error (used for deny/ignore and events). */
export const ERROR_REASONS: ReadonlySet<ReasonCode> = new Set<ReasonCode>([
  'unknown-profile',
  'invalid-annotation',
  'name-conflict',
  'template-error',
  'invalid-override',
  'unsupported-kube-version',
  'invalid-result',
  'patch-verification-failed',
]);
