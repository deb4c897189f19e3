/**
 * The JSONPatch a MutatingAdmissionPolicy applies, as one CEL expression: the same pod the
 * engine's merge builds. Targeted containers are patched first, at their indices in the pod as it
 * came; then init containers and native sidecars go before the pod's own, classic sidecars,
 * volumes and pull secrets after, and labels, annotations and the status record are set.
 */
import { STATUS_ANNOTATION } from '../common/labels.ts';
import { literal, pointerToken, str } from './cel.ts';
import { type ItemField, itemIs, type PodItem } from './items.ts';
import { active, type Targeting } from './targets.ts';

/**
 * What the profiles before this one in one set left in the pod, as CEL (set.ts): whether a list
 * or map exists, whether a targeted container `t` has a field, and how many init containers went
 * in before this profile's. Alone, a profile sees the pod as it came.
 */
export interface Earlier {
  has: (field: ItemField) => string;
  targetHas: (t: Targeting, field: 'env' | 'envFrom' | 'volumeMounts') => string;
  initOffset: string;
}

const FIELD_AT: Record<ItemField, string> = {
  initContainers: 'object.spec.initContainers',
  containers: 'object.spec.containers',
  volumes: 'object.spec.volumes',
  imagePullSecrets: 'object.spec.imagePullSecrets',
  labels: 'object.metadata.labels',
  annotations: 'object.metadata.annotations',
};

const TARGET_HAS = { env: 't.hasEnv', envFrom: 't.hasEnvFrom', volumeMounts: 't.hasMounts' } as const;

export const ALONE: Earlier = { has: (f) => `has(${FIELD_AT[f]})`, targetHas: (_, f) => TARGET_HAS[f], initOffset: '0' };

/** How one `add` operation is written: a JSONPatch, where a mutation builds it. */
export type OpForm = (path: string, value: string) => string;
export const PATCH_OP: OpForm = (path, value) => `JSONPatch{op: 'add', path: ${path}, value: ${value}}`;
/**
 * The same operation as a map, for a variable: the API server declares the JSONPatch type only in
 * mutations (a variable that builds one does not compile), so a set's variables hold these and its
 * mutation makes them JSONPatches (set.ts).
 */
export const ENTRY_OP: OpForm = (path, value) => `{'path': dyn(${path}), 'value': dyn(${value})}`;

/** `cond ? [op] : []` */
const when = (cond: string, patch: string) => `(${cond} ? [${patch}] : [])`;

/** Concatenation of CEL lists of JSONPatch; [] for none. */
const concat = (lists: readonly string[]) => (lists.length === 0 ? '[]' : lists.join(' + '));

/** One targeted list field (env, envFrom, volumeMounts) of every targeted container. */
function targetField(t: Targeting, field: 'env' | 'envFrom' | 'volumeMounts', earlier: Earlier, op: OpForm): string | undefined {
  const items = { env: t.env, envFrom: t.envFrom, volumeMounts: t.mounts }[field];
  if (items.length === 0) return undefined;
  const has = earlier.targetHas(t, field);
  const state = { env: 't.env', envFrom: 't.envFrom', volumeMounts: 't.mounts' }[field];
  const at = `'/spec/${t.field}/' + string(t.i) + '/${field}'`;
  const isAdded = (j: number) => (field === 'envFrom' ? `${state}[${j}]` : `${state}[${j}] == 'add'`);
  // A field the container lacks gets every item at once (none can clash with it).
  const whole = `[${op(at, literal(items as never, `spec.${field}`))}]`;
  const each = concat(items.map((item, j) => when(isAdded(j), op(`${at} + '/-'`, literal(item, `spec.${field}[${j}]`)))));
  return `variables.${t.variable}.map(t, ${has} ? ${each} : ${whole}).flatten()`;
}

export function targetOps(t: Targeting, earlier: Earlier = ALONE, op: OpForm = PATCH_OP): string[] {
  if (!active(t)) return [];
  return (['env', 'envFrom', 'volumeMounts'] as const).map((f) => targetField(t, f, earlier, op)).filter((x) => x !== undefined);
}

/** Init containers and native sidecars, in order, before the pod's own init containers. */
function initOps(items: readonly PodItem[], earlier: Earlier, op: OpForm): string[] {
  const init = items.filter((i) => i.field === 'initContainers');
  if (init.length === 0) return [];
  const whole = op("'/spec/initContainers'", concat(init.map((i) => `(${itemIs(i, 'add')} ? [${literal(i.value, i.path)}] : [])`)));
  const any = init.map((i) => itemIs(i, 'add')).join(' || ');
  // Each added one goes at the index after the ones added before it.
  const at = (k: number) =>
    k === 0
      ? earlier.initOffset
      : (earlier.initOffset === '0' ? '' : `${earlier.initOffset} + `) +
        init
          .slice(0, k)
          .map((i) => `(${itemIs(i, 'add')} ? 1 : 0)`)
          .join(' + ');
  const each = concat(init.map((i, k) => when(itemIs(i, 'add'), op(`'/spec/initContainers/' + string(${at(k)})`, literal(i.value, i.path)))));
  return [`(${earlier.has('initContainers')} ? ${each} : ${when(any, whole)})`];
}

/** Items appended to a list (classic sidecars, volumes, pull secrets). */
function appendOps(items: readonly PodItem[], field: ItemField, earlier: Earlier, op: OpForm): string[] {
  const of = items.filter((i) => i.field === field);
  if (of.length === 0) return [];
  const at = `'/spec/${field}'`;
  const whole = op(at, concat(of.map((i) => `(${itemIs(i, 'add')} ? [${literal(i.value, i.path)}] : [])`)));
  const any = of.map((i) => itemIs(i, 'add')).join(' || ');
  const each = concat(of.map((i) => when(itemIs(i, 'add'), op(`${at} + '/-'`, literal(i.value, i.path)))));
  return [`(${earlier.has(field)} ? ${each} : ${when(any, whole)})`];
}

/** Labels, or annotations with the status record. */
export function mapOps(items: readonly PodItem[], field: 'labels' | 'annotations', record?: string, earlier: Earlier = ALONE, op: OpForm = PATCH_OP): string[] {
  const of = items.filter((i) => i.field === field);
  if (of.length === 0 && record === undefined) return [];
  const at = `/metadata/${field}`;
  // dyn(): a literal map's values must have one type, and a rendered template's is dyn.
  const entries = of.map((i) => `${str(i.key, i.path)}: dyn(${literal(i.value, i.path)})`);
  if (record !== undefined) entries.push(`${str(STATUS_ANNOTATION)}: dyn(${record})`);
  // Absent, the map has none of the keys: all of them are added.
  const whole = `[${op(str(at), `{${entries.join(', ')}}`)}]`;
  const each = of.map((i) => when(itemIs(i, 'add'), op(str(`${at}/${pointerToken(i.key)}`), literal(i.value, i.path))));
  if (record !== undefined) each.push(`[${op(str(`${at}/${pointerToken(STATUS_ANNOTATION)}`), record)}]`);
  return [`(${earlier.has(field)} ? ${concat(each)} : ${whole})`];
}

/** The operations on the pod's lists and maps, after every targeted container's (init containers shift their indices). */
export function itemOps(items: readonly PodItem[], record: string | undefined, earlier: Earlier = ALONE, op: OpForm = PATCH_OP): string[] {
  return [
    ...initOps(items, earlier, op),
    ...appendOps(items, 'containers', earlier, op),
    ...appendOps(items, 'volumes', earlier, op),
    ...appendOps(items, 'imagePullSecrets', earlier, op),
    ...mapOps(items, 'labels', undefined, earlier, op),
    ...mapOps(items, 'annotations', record, earlier, op),
  ];
}

/** Every operation, in the order they must apply. */
export function patchExpression(items: readonly PodItem[], targetings: readonly Targeting[], record: string): string {
  return concat([...targetings.flatMap((t) => targetOps(t)), ...itemOps(items, record)]);
}

export { concat };
