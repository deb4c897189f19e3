/**
 * The profile's pod-level items (init containers, sidecars, volumes, pull secrets, labels,
 * annotations), each with a CEL variable saying what the engine's keyed merge does with it
 * (engine/merge/containers.ts, keyed-lists.ts, metadata.ts, settle.ts): 'add' when the pod has no
 * item of that key, 'same' when it has an identical one, 'conflict' when it has a different one.
 */
import type { JsonObject, JsonValue } from '../common/json.ts';
import { asNativeSidecar, type SidecarProfile } from '../engine/index.ts';
import { equals, literal, str } from './cel.ts';
import type { Variable } from './variables.ts';

export type ItemField = 'initContainers' | 'containers' | 'volumes' | 'imagePullSecrets' | 'labels' | 'annotations';

export interface PodItem {
  /** Where the item goes in the pod. */
  field: ItemField;
  /** Its key there: the name, or the label or annotation key. */
  key: string;
  value: JsonValue;
  /** The variable holding 'add', 'same' or 'conflict'. */
  variable: string;
  /** The profile field it comes from, for refusals. */
  path: string;
  /** The conflict's message parts, as merge/settle.ts words them. */
  what: string;
  clash: string;
}

/** Names of a pod list, '' for an item without one (the API server rejects such a pod anyway). */
const namesOf = (list: string) => `has(${list}) ? ${list}.map(x, has(x.name) ? x.name : '') : []`;

/** The lists the items are looked up in. */
export const NAME_VARIABLES: Variable[] = [
  { name: 'initNames', expression: namesOf('object.spec.initContainers') },
  { name: 'containerNames', expression: namesOf('object.spec.containers') },
  { name: 'volumeNames', expression: namesOf('object.spec.volumes') },
  { name: 'pullSecretNames', expression: namesOf('object.spec.imagePullSecrets') },
];

const clashContainer = (n: string) => `the pod already has a container or init container named ${JSON.stringify(n)}`;

/** The items in merge order: init containers, sidecars (native or classic), volumes, pull secrets, labels, annotations. */
export function podItems(p: SidecarProfile, mode: 'native' | 'classic'): PodItem[] {
  const items: PodItem[] = [];
  const push = (item: Omit<PodItem, 'variable'>) => items.push({ ...item, variable: `item${items.length}` });
  for (const [i, c] of p.initContainers.entries()) {
    const n = c.name as string;
    push({
      field: 'initContainers',
      key: n,
      value: c,
      path: `spec.initContainers[${i}]`,
      what: `init container ${JSON.stringify(n)}`,
      clash: clashContainer(n),
    });
  }
  const native = p.nativeContainers ?? p.containers.map(asNativeSidecar);
  for (const [i, c] of p.containers.entries()) {
    const n = c.name as string;
    const what = `${mode === 'native' ? 'native sidecar' : 'container'} ${JSON.stringify(n)}`;
    const value = mode === 'native' ? (native[i] as JsonObject) : c;
    push({ field: mode === 'native' ? 'initContainers' : 'containers', key: n, value, path: `spec.containers[${i}]`, what, clash: clashContainer(n) });
  }
  for (const field of ['volumes', 'imagePullSecrets'] as const) {
    const noun = field === 'volumes' ? 'volume' : 'imagePullSecret';
    for (const [i, v] of p[field].entries()) {
      const what = `${noun} ${JSON.stringify(v.name)}`;
      push({ field, key: v.name as string, value: v, path: `spec.${field}[${i}]`, what, clash: `the pod already has a different ${what}` });
    }
  }
  for (const field of ['labels', 'annotations'] as const) {
    for (const [k, v] of Object.entries(p[field])) {
      const what = `${field === 'labels' ? 'label' : 'annotation'} ${JSON.stringify(k)}`;
      push({ field, key: k, value: v, path: `spec.metadata.${field}[${JSON.stringify(k)}]`, what, clash: 'the pod already has it with another value' });
    }
  }
  return items;
}

const LISTS = {
  initContainers: { list: 'object.spec.initContainers', names: 'variables.initNames' },
  containers: { list: 'object.spec.containers', names: 'variables.containerNames' },
  volumes: { list: 'object.spec.volumes', names: 'variables.volumeNames' },
  imagePullSecrets: { list: 'object.spec.imagePullSecrets', names: 'variables.pullSecretNames' },
} as const;

/**
 * What the merge does with one item. Containers and init containers share one name space, and an
 * identical container counts only in the list it would go into; of repeated names the last counts
 * (the engine indexes the pod's lists into maps), and a container wins over an init container.
 */
function stateOf(item: PodItem): string {
  const key = str(item.key, item.path);
  if (item.field === 'labels' || item.field === 'annotations') {
    const map = `object.metadata.${item.field}`;
    return `has(${map}) && ${key} in ${map} ? (${map}[${key}] == ${literal(item.value, item.path)} ? 'same' : 'conflict') : 'add'`;
  }
  const own = LISTS[item.field];
  const same = `${equals(`${own.list}[${own.names}.lastIndexOf(${key})]`, item.value, item.path)} ? 'same' : 'conflict'`;
  if (item.field === 'initContainers') return `${key} in variables.containerNames ? 'conflict' : !(${key} in variables.initNames) ? 'add' : ${same}`;
  if (item.field === 'containers') return `${key} in variables.containerNames ? (${same}) : ${key} in variables.initNames ? 'conflict' : 'add'`;
  return `${key} in ${own.names} ? (${same}) : 'add'`;
}

export const itemVariables = (items: readonly PodItem[]): Variable[] => items.map((item) => ({ name: item.variable, expression: stateOf(item) }));

/** `variables.itemN == state` */
export const itemIs = (item: PodItem, state: 'add' | 'same' | 'conflict') => `variables.${item.variable} == '${state}'`;
