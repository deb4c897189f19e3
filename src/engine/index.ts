/** The engine's public surface: everything the webhook and the CLI need, nothing else. */

export { deepEqual, type JsonObject, type JsonValue } from '../common/json.ts';
export {
  type Decision,
  type InjectContext,
  type InjectOptions,
  inject,
  type KubeVersion,
  type PatchVerifier,
  type ProfileOutcome,
  patchReproducesPod,
  recordMismatchIn,
  sidecarModeFor,
  supportsNativeSidecars,
  type UnknownProfiles,
} from './inject.ts';
export { asNativeSidecar } from './native-sidecar.ts';
export { type AnyPatchOp, applyPatch, PatchApplyError } from './patch-apply.ts';
export { diff, type PatchOp } from './patch-diff.ts';
export { type LabelSelector, type ProfileSet, profileSet, type SidecarMode, type SidecarProfile } from './profile.ts';
export { compileProfileTemplates, type TemplatedPart } from './profile-templates.ts';
export { parseQuantity } from './quantity.ts';
export { withTag } from './render.ts';
// For the policy compiler (src/policy), which reproduces these bounds and messages in CEL.
export { MAX_REQUESTED } from './select.ts';
export { readStatus, type StatusRecord } from './status.ts';
export { cannotInject } from './steps/decision.ts';
export { MAX_TARGET_CHECKS } from './target-bound.ts';
export { compileTemplate, VALUE_RULE_NAMES, VALUE_RULES, type ValueRule } from './template.ts';
export { type UninjectResult, uninject } from './uninject.ts';
