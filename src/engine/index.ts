/** The engine's public surface: everything the webhook and the CLI need, nothing else. */
export {
  type Decision,
  type InjectContext,
  type InjectOptions,
  inject,
  type KubeVersion,
  type PatchVerifier,
  type ProfileOutcome,
  patchReproducesPod,
  supportsNativeSidecars,
} from './inject.ts';
export { deepEqual, type JsonObject, type JsonValue } from './json.ts';
export { type AnyPatchOp, applyPatch, PatchApplyError } from './patch-apply.ts';
export { diff, type PatchOp } from './patch-diff.ts';
export { type ProfileSet, profileSet, type SidecarProfile } from './profile.ts';
export { ERROR_REASONS, REASONS, type ReasonCode } from './reasons.ts';
export { INJECT_ANNOTATION, readStatus, STATUS_ANNOTATION, type StatusRecord } from './status.ts';
export { type UninjectResult, uninject } from './uninject.ts';
