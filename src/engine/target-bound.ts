/**
 * A bound on glob matching per pod. Each (container, glob) pair costs one linear match, and the API
 * server sets no limit on containers other than the object size, so a pod with tens of thousands of
 * containers against many profiles' globs could still block the event loop for seconds.
 */
import { isObject, type JsonObject, listOf } from '../common/json.ts';
import type { SidecarProfile } from './profile.ts';

/** Most (container, glob) pairs one pod may cost: 256 containers against 64 globs. */
export const MAX_TARGET_CHECKS = 16_384;

/** Profiles that put env, envFrom or mounts into targeted containers: only their globs are matched. */
const targetsContainers = (p: SidecarProfile) => p.env.length + p.envFrom.length + p.volumeMounts.length > 0;

/** How many (container, glob) pairs matching `profiles` against the pod's containers takes. */
export function targetChecks(pod: JsonObject, profiles: readonly SidecarProfile[]): number {
  const spec = isObject(pod.spec) ? pod.spec : {};
  const containers = listOf(spec.containers).length;
  const init = listOf(spec.initContainers).length;
  let n = 0;
  for (const p of profiles) if (targetsContainers(p)) n += containers * p.targets.length + init * p.initContainerTargets.length;
  return n;
}

/** The message when `targetChecks` is over the bound, else undefined. */
export function tooManyTargetChecks(pod: JsonObject, profiles: readonly SidecarProfile[]): string | undefined {
  const n = targetChecks(pod, profiles);
  if (n <= MAX_TARGET_CHECKS) return undefined;
  return `matching the pod's containers against the profiles' targets globs takes ${n} checks, more than the ${MAX_TARGET_CHECKS} Outrigger does for one pod (fewer containers or fewer globs)`;
}
