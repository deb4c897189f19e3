/**
 * The pod's own containers a profile targets with env, envFrom and volumeMounts
 * (engine/merge/targets.ts), as one CEL variable per list: for each targeted container its index,
 * name, which of the three fields it has, and per profile item what the merge does with it.
 */
import type { JsonObject } from '../common/json.ts';
import { cannotInject, MAX_TARGET_CHECKS, type SidecarProfile } from '../engine/index.ts';
import { equals, str } from './cel.ts';
import type { Variable } from './variables.ts';

export type TargetField = 'containers' | 'initContainers';

export interface Targeting {
  field: TargetField;
  /** The variable: a list of {i, name, hasEnv, hasEnvFrom, hasMounts, env, envFrom, mounts}. */
  variable: 'targets' | 'initTargets';
  globs: readonly string[];
  env: readonly JsonObject[];
  envFrom: readonly JsonObject[];
  mounts: readonly JsonObject[];
}

export function targetings(p: SidecarProfile): Targeting[] {
  const parts = { env: p.env, envFrom: p.envFrom, mounts: p.volumeMounts };
  return [
    { field: 'containers', variable: 'targets', globs: p.targets, ...parts },
    { field: 'initContainers', variable: 'initTargets', globs: p.initContainerTargets, ...parts },
  ];
}

/** Whether the targeting adds anything at all (merge/targets.ts returns early otherwise). */
export const active = (t: Targeting) => t.globs.length > 0 && t.env.length + t.envFrom.length + t.mounts.length > 0;

/** A glob (`[a-z0-9*?-]`) as an RE2 expression: `*` any run, `?` one character. */
const globRegex = (g: string) => g.replaceAll('-', '\\-').replaceAll('*', '[-a-z0-9]*').replaceAll('?', '[-a-z0-9]');

/**
 * The engine matches only valid container names (a DNS-1123 label of at most 63 characters), so a
 * matched name is a label and needs no JSON escaping where the record names it.
 */
export const CONTAINER_NAME = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const globsRegex = (globs: readonly string[]) => `^(?:${globs.map(globRegex).join('|')})$`;

export function targetedCel(t: Targeting, c: string): string {
  return `has(${c}.name) && size(${c}.name) <= 63 && ${c}.name.matches('${CONTAINER_NAME}') && ${c}.name.matches(${str(globsRegex(t.globs))})`;
}

/** Keyed by name (env) or mountPath (mounts): the last of repeated keys counts, as in the engine's index. */
function keyedState(c: string, list: 'env' | 'volumeMounts', keyField: 'name' | 'mountPath', item: JsonObject, path: string): string {
  const key = str(item[keyField] as string, path);
  const keys = `${c}.${list}.map(x, has(x.${keyField}) ? x.${keyField} : '')`;
  const same = `${equals(`${c}.${list}[${keys}.lastIndexOf(${key})]`, item, path)} ? 'same' : 'conflict'`;
  return `has(${c}.${list}) && ${key} in ${keys} ? (${same}) : 'add'`;
}

/**
 * What an earlier profile of a set may already have given the container `i` (shared.ts): the
 * state of the j-th item of a list, given the state read from the container as it came.
 */
export type EarlierTarget = (list: 'env' | 'envFrom' | 'mounts', j: number, own: string) => string;

export function targetVariable(t: Targeting, earlier: EarlierTarget = (_, __, own) => own): Variable {
  const c = 'c';
  const env = t.env.map((e, j) => earlier('env', j, keyedState(c, 'env', 'name', e, `spec.env[${j}]`)));
  const mounts = t.mounts.map((m, j) => earlier('mounts', j, keyedState(c, 'volumeMounts', 'mountPath', m, `spec.volumeMounts[${j}]`)));
  // envFrom has no key: an item equal to one the container has is left out, any other is added.
  const envFrom = t.envFrom.map((f, j) => earlier('envFrom', j, `!has(${c}.envFrom) || !${c}.envFrom.exists(x, ${equals('x', f, `spec.envFrom[${j}]`)})`));
  const entry = [
    `'i': dyn(i)`,
    `'name': dyn(${c}.name)`,
    `'hasEnv': dyn(has(${c}.env))`,
    `'hasEnvFrom': dyn(has(${c}.envFrom))`,
    `'hasMounts': dyn(has(${c}.volumeMounts))`,
    `'env': dyn([${env.join(', ')}])`,
    `'envFrom': dyn([${envFrom.join(', ')}])`,
    `'mounts': dyn([${mounts.join(', ')}])`,
  ];
  const list = `object.spec.${t.field}`;
  const expression = active(t) ? `has(${list}) ? ${list}.transformList(i, ${c}, ${targetedCel(t, c)}, {${entry.join(', ')}}) : []` : '[]';
  return { name: t.variable, expression };
}

/** (container, glob) pairs over the engine's bound, as target-bound.ts counts them; '' when within it. */
export function tooManyChecks(p: SidecarProfile): string {
  if (p.env.length + p.envFrom.length + p.volumeMounts.length === 0) return "''";
  const size = (l: string) => `(has(object.spec.${l}) ? size(object.spec.${l}) : 0)`;
  const n = `(${size('containers')} * ${p.targets.length} + ${size('initContainers')} * ${p.initContainerTargets.length})`;
  // The engine's failAll: the decision's message when the pod is denied, the profile's outcome when it is admitted.
  const before = `${p.failurePolicy === 'fail' ? `cannot inject ${p.name}: ` : cannotInject(p, '')}matching the pod's containers against the profiles' targets globs takes `;
  const after = ` checks, more than the ${MAX_TARGET_CHECKS} Outrigger does for one pod (fewer containers or fewer globs)`;
  return `${n} > ${MAX_TARGET_CHECKS} ? ${str(before)} + string(${n}) + ${str(after)} : ''`;
}
