/**
 * The `outrigger.dev/status` annotation as a CEL string expression, byte for byte what the engine
 * writes: JSON.stringify({v: 1, profiles: [record], created?}) with the record's keys in the order
 * the merge sets them (engine/merge.ts: name, version, hash, mode, then initContainers, containers,
 * volumes, imagePullSecrets, targets, initTargets, labels, annotations), each present only when
 * something was added to it. Everything but the pod's container names is known when compiling.
 */
import type { SidecarProfile } from '../engine/index.ts';
import { chosen, joined, str } from './cel.ts';
import { type ItemField, itemIs, type PodItem } from './items.ts';
import { ALONE, type Earlier } from './patch.ts';
import { active, type Targeting } from './targets.ts';

/** JSON text, as a CEL string literal. */
const json = (v: unknown) => str(JSON.stringify(v));

/** `"name"` entries of the items of `field` that are added. */
const added = (items: readonly PodItem[], field: ItemField, fromPath: (p: string) => boolean) =>
  chosen(items.filter((i) => i.field === field && fromPath(i.path)).map((i) => `${itemIs(i, 'add')} ? ${json(i.key)} : ''`));

/** `,"key":[...]` when the list is not empty. */
const listPart = (key: string, list: string) => `(size(${list}) > 0 ? ${str(`,"${key}":[`)} + ${joined(list)} + ']' : '')`;

/**
 * One targeted container's record, `"name":{"env":[...],"envFrom":[...],"volumeMounts":[...]}`, or
 * '' when nothing was added to it. `t` is an entry of the targets variable.
 */
function targetRecord(t: Targeting): string {
  const env = chosen(t.env.map((e, j) => `t.env[${j}] == 'add' ? ${json(e.name)} : ''`));
  const envFrom = chosen(t.envFrom.map((f, j) => `t.envFrom[${j}] ? ${json(f)} : ''`));
  const mounts = chosen(t.mounts.map((m, j) => `t.mounts[${j}] == 'add' ? ${json(m.mountPath)} : ''`));
  const part = (key: string, list: string) => `(size(${list}) > 0 ? ${str(`"${key}":[`)} + ${joined(list)} + ']' : '')`;
  const parts = `[${part('env', env)}, ${part('envFrom', envFrom)}, ${part('volumeMounts', mounts)}].filter(s, s != '')`;
  return `(size(${parts}) > 0 ? '"' + t.name + '":{' + ${joined(parts)} + '}' : '')`;
}

/**
 * JavaScript puts an object's integer-like keys ("0" to "4294967294", no leading zero) first, in
 * numeric order, then the others in insertion order: a container may be named "8".
 */
export const INDEX_NAME = '^(0|[1-9][0-9]{0,9})$';
export const MAX_INDEX = 4294967294;
const INDEX_KEY = `t.name.matches('${INDEX_NAME}') && int(t.name) <= ${MAX_INDEX}`;

function targetsPart(t: Targeting, key: string): string {
  if (!active(t)) return "''";
  const v = `variables.${t.variable}`;
  const ordered = `(${v}.filter(t, ${INDEX_KEY}).sortBy(t, int(t.name)) + ${v}.filter(t, !(${INDEX_KEY})))`;
  const entries = `${ordered}.map(t, ${targetRecord(t)}).filter(s, s != '')`;
  return `(size(${entries}) > 0 ? ${str(`,"${key}":{`)} + ${joined(entries)} + '}' : '')`;
}

/** `created` entries for one targeting, in pod order: the fields a container gets for the first time. */
function createdTargets(t: Targeting, earlier: Earlier): string {
  if (!active(t)) return '[]';
  const at = (f: string) => `'"spec.${t.field}[' + t.name + '].${f}"'`;
  const not = (f: 'env' | 'envFrom' | 'volumeMounts') => {
    const has = earlier.targetHas(t, f);
    return has.startsWith('t.') ? `!${has}` : `!(${has})`;
  };
  const entries = [
    t.env.length > 0 ? `${not('env')} ? ${at('env')} : ''` : undefined,
    t.envFrom.length > 0 ? `${not('envFrom')} ? ${at('envFrom')} : ''` : undefined,
    t.mounts.length > 0 ? `${not('volumeMounts')} ? ${at('volumeMounts')} : ''` : undefined,
  ].filter((e) => e !== undefined);
  return `variables.${t.variable}.map(t, ${chosen(entries)}).flatten()`;
}

/**
 * Fields injection creates, in the order the merge notes them (StatusRecord.created). Alone, the
 * record itself creates absent annotations; in a set, a profile notes only those its own items create.
 */
export function created(items: readonly PodItem[], targetings: readonly Targeting[], earlier: Earlier = ALONE): string {
  const firstOf = (field: ItemField, path: string) => {
    const of = items.filter((i) => i.field === field);
    if (of.length === 0) return undefined;
    return `!${earlier.has(field)} && (${of.map((i) => itemIs(i, 'add')).join(' || ')}) ? ${json(path)} : ''`;
  };
  const lists = (['initContainers', 'containers', 'volumes', 'imagePullSecrets'] as const).map((f) => firstOf(f, `spec.${f}`));
  const labels = firstOf('labels', 'metadata.labels');
  const annotations =
    earlier === ALONE ? `!has(object.metadata.annotations) ? ${json('metadata.annotations')} : ''` : firstOf('annotations', 'metadata.annotations');
  const defined = (l: (string | undefined)[]) => l.filter((e) => e !== undefined);
  return [chosen(defined(lists)), ...targetings.map((t) => createdTargets(t, earlier)), chosen(defined([labels, annotations]))].join(' + ');
}

/** One profile's entry of the record's `profiles`, as CEL string expressions to be joined with ` + `. */
function entryParts(p: SidecarProfile, mode: 'native' | 'classic', items: readonly PodItem[], targetings: readonly Targeting[]): string[] {
  const head = `{"name":${JSON.stringify(p.name)},"version":${JSON.stringify(p.version)},"hash":${JSON.stringify(p.hash)},"mode":"${mode}"`;
  const fromContainers = (path: string) => path.startsWith('spec.containers');
  const fromInit = (path: string) => path.startsWith('spec.initContainers');
  const any = () => true;
  // Init containers are recorded before native sidecars, which share their list.
  const init = `${added(items, 'initContainers', fromInit)} + ${added(items, 'initContainers', fromContainers)}`;
  return [
    head,
    listPart('initContainers', `(${init})`),
    listPart('containers', added(items, 'containers', any)),
    listPart('volumes', added(items, 'volumes', any)),
    listPart('imagePullSecrets', added(items, 'imagePullSecrets', any)),
    targetsPart(targetings[0] as Targeting, 'targets'),
    targetsPart(targetings[1] as Targeting, 'initTargets'),
    listPart('labels', added(items, 'labels', any)),
    listPart('annotations', added(items, 'annotations', any)),
  ];
}

/** One profile's entry of the record's `profiles`, as a CEL string expression. */
export function profileEntry(p: SidecarProfile, mode: 'native' | 'classic', items: readonly PodItem[], targetings: readonly Targeting[]): string {
  const [head, ...parts] = entryParts(p, mode, items, targetings);
  return [str(head as string), ...parts, "'}'"].join(' + ');
}

const createdPart = (createdList: string) => `(size(${createdList}) > 0 ? ',"created":[' + ${joined(createdList)} + ']' : '')`;

/** The whole record around `profiles` (a CEL string of comma-joined entries) and `createdList` (a CEL list of JSON strings). */
export const wholeRecord = (profiles: string, createdList: string) =>
  [str('{"v":1,"profiles":['), profiles, "']'", createdPart(createdList), "'}'"].join(' + ');

export function recordExpression(p: SidecarProfile, mode: 'native' | 'classic', items: readonly PodItem[], targetings: readonly Targeting[]): string {
  const [head, ...parts] = entryParts(p, mode, items, targetings);
  const createdList = `(${created(items, targetings)})`;
  return [str(`{"v":1,"profiles":[${head}`), ...parts, `'}]'`, createdPart(createdList), `'}'`].join(' + ');
}
