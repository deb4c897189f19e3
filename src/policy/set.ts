/**
 * Several profiles as one MutatingAdmissionPolicy. The API server runs separate policies in no
 * defined order (it ranges over a Go map), and the engine merges profiles in the set's order
 * (spec.order, then name), each seeing the pod as the ones before left it: so the set is one
 * policy whose patch does the first profile's injection, then the second's, and writes one
 * record. Each profile's variables are prefixed (`p1_wanted`); what a profile reads of the ones
 * before it (a list they created, a field they gave a targeted container, where its init
 * containers go) is spelled out in Earlier; an item an earlier profile also adds is settled
 * against that profile's (shared.ts). Profiles whose targeted keys would meet are refused
 * (interactions.ts).
 *
 * Denials move to one ValidatingAdmissionPolicy of the set: the engine denies with the first
 * failing profile's message, and separate policies would answer in no defined order. Every
 * profile of a set has failurePolicy fail (interactions.ts), so a denial of any wanted profile
 * denies the pod and the mutation applies nothing.
 */
import type { JsonObject } from '../common/json.ts';
import { STATUS_ANNOTATION } from '../common/labels.ts';
import { MAX_TARGET_CHECKS, type SidecarProfile } from '../engine/index.ts';
import { chosen, joined, pointerToken, str } from './cel.ts';
import { type ItemField, itemIs, NAME_VARIABLES, type PodItem } from './items.ts';
import { mutatingPolicy, notInjected, validatingPolicy } from './objects.ts';
import { ALONE, concat, type Earlier, ENTRY_OP, itemOps, PATCH_OP, targetOps } from './patch.ts';
import { created, profileEntry, wholeRecord } from './record.ts';
import { renamed } from './rename.ts';
import { injectVariables, unknownVariables } from './select.ts';
import { sharedStates, sharedTargets } from './shared.ts';
import { active, type Targeting } from './targets.ts';
import type { Variable } from './variables.ts';

/** One profile ready to compile: its parts and its own variables (selection, items, targets, denial). */
export interface ProfileParts {
  p: SidecarProfile;
  mode: 'native' | 'classic';
  items: PodItem[];
  targets: Targeting[];
  own: Variable[];
}

export const SET_POLICY = 'outrigger.profiles';
export const SET_DENY_POLICY = 'outrigger.profiles-deny';

const prefixOf = (k: number) => `p${k}_`;
const applied = (k: number) => `variables.${prefixOf(k)}apply`;
const TARGET_LIST = { env: 'env', envFrom: 'envFrom', volumeMounts: 'mounts' } as const;

/** What the profiles before the k-th leave in the pod, as CEL over their (prefixed) variables. */
function earlierOf(parts: readonly ProfileParts[], k: number): Earlier {
  const before = parts.slice(0, k).map((x, j) => ({ ...x, j, items: x.items.map((i) => ({ ...i, variable: `${prefixOf(j)}${i.variable}` })) }));
  const any = (terms: string[], base: string) => (terms.length === 0 ? base : `(${[base, ...terms].join(' || ')})`);
  const has = (field: ItemField) => {
    const terms = before.flatMap(({ items, j }) => {
      const of = items.filter((i) => i.field === field);
      return of.length === 0 ? [] : [`(${applied(j)} && (${of.map((i) => itemIs(i, 'add')).join(' || ')}))`];
    });
    return any(terms, ALONE.has(field));
  };
  const targetHas = (t: Targeting, field: 'env' | 'envFrom' | 'volumeMounts') => {
    const terms = before.flatMap(({ targets, j }) => {
      const u = targets.find((x) => x.field === t.field) as Targeting;
      const count = { env: u.env, envFrom: u.envFrom, volumeMounts: u.mounts }[field].length;
      if (!active(u) || count === 0) return [];
      const added = field === 'envFrom' ? 's' : "s == 'add'";
      return [`(${applied(j)} && variables.${prefixOf(j)}${u.variable}.exists(u, u.i == t.i && u.${TARGET_LIST[field]}.exists(s, ${added})))`];
    });
    return any(terms, ALONE.targetHas(t, field));
  };
  const offsets = before.flatMap(({ items, j }) => {
    const init = items.filter((i) => i.field === 'initContainers');
    return init.length === 0 ? [] : [`(${applied(j)} ? ${init.map((i) => `(${itemIs(i, 'add')} ? 1 : 0)`).join(' + ')} : 0)`];
  });
  return { has, targetHas, initOffset: offsets.length === 0 ? '0' : offsets.join(' + ') };
}

/** The engine's failAll for too many target checks, over every wanted profile of the set (target-bound.ts). */
function tooMany(parts: readonly ProfileParts[]): string {
  const size = (l: string) => `(has(object.spec.${l}) ? size(object.spec.${l}) : 0)`;
  const terms = parts.flatMap(({ p }, k) =>
    p.env.length + p.envFrom.length + p.volumeMounts.length === 0
      ? []
      : [`(variables.${prefixOf(k)}wanted ? ${size('containers')} * ${p.targets.length} + ${size('initContainers')} * ${p.initContainerTargets.length} : 0)`],
  );
  if (terms.length === 0) return "''";
  const n = `(${terms.join(' + ')})`;
  const names = joined(chosen(parts.map(({ p }, k) => `variables.${prefixOf(k)}wanted ? ${str(p.name)} : ''`)), ', ');
  const before = ": matching the pod's containers against the profiles' targets globs takes ";
  const after = ` checks, more than the ${MAX_TARGET_CHECKS} Outrigger does for one pod (fewer containers or fewer globs)`;
  return `${n} > ${MAX_TARGET_CHECKS} ? 'cannot inject ' + ${names} + ${str(before)} + string(${n}) + ${str(after)} : ''`;
}

/** Every variable both policies read: the shared ones, each profile's, and the set's denial. */
function decideVariables(parts: readonly ProfileParts[]): Variable[] {
  const own = parts.flatMap((x, k) => {
    const names = new Set(x.own.map((v) => v.name));
    const rename = (e: string) => renamed(e, names, prefixOf(k));
    const expressions = new Map(x.own.map((v) => [v.name, v.expression]));
    // An item an earlier profile also adds is settled against that profile's (shared.ts).
    const shared = new Map([
      ...sharedStates(parts, k, (item) => rename(expressions.get(item.variable) as string), prefixOf),
      ...sharedTargets(parts, k, prefixOf),
    ]);
    return x.own.map((v) => ({ name: `${prefixOf(k)}${v.name}`, expression: shared.get(v.name) ?? rename(v.expression) }));
  });
  const first = parts.map((_, k) => `variables.${prefixOf(k)}wanted && variables.${prefixOf(k)}denial != '' ? variables.${prefixOf(k)}denial : `).join('');
  return [
    ...injectVariables(),
    ...NAME_VARIABLES,
    ...unknownVariables(parts.map((x) => x.p.name)),
    ...own,
    { name: 'tooMany', expression: tooMany(parts) },
    { name: 'denial', expression: `variables.tooMany != '' ? variables.tooMany : ${first}''` },
  ];
}

/** The set's own per-profile variables: named so that no profile variable (prefixed the same) can take them. */
const PER_PROFILE = { targetPatch: 'setTargetPatch', itemPatch: 'setItemPatch', entry: 'setRecordEntry', created: 'setRecordCreated' } as const;
const perProfile = (k: number, what: keyof typeof PER_PROFILE) => `${prefixOf(k)}${PER_PROFILE[what]}`;

/**
 * The record and the patch: every profile's targeted containers first (init containers shift
 * indices), then each profile's items, then the record. Each profile's part of the patch and of
 * the record is a variable of its own: the API server bounds the length of one expression
 * (size.ts), and so the set's longest expression grows with one profile, not with all of them.
 */
function mutation(parts: readonly ProfileParts[]): { variables: Variable[]; patch: string } {
  const rename = (x: ProfileParts, k: number, e: string) => renamed(e, new Set(x.own.map((v) => v.name)), prefixOf(k));
  const when = (k: number, list: string) => `(${applied(k)} ? ${list} : [])`;
  const own = parts.flatMap((x, k) => {
    const earlier = earlierOf(parts, k);
    return [
      { name: perProfile(k, 'targetPatch'), expression: when(k, rename(x, k, concat(x.targets.flatMap((t) => targetOps(t, earlier, ENTRY_OP))))) },
      { name: perProfile(k, 'itemPatch'), expression: when(k, rename(x, k, concat(itemOps(x.items, undefined, earlier, ENTRY_OP)))) },
      { name: perProfile(k, 'entry'), expression: `${applied(k)} ? ${rename(x, k, profileEntry(x.p, x.mode, x.items, x.targets))} : ''` },
      { name: perProfile(k, 'created'), expression: when(k, `(${rename(x, k, created(x.items, x.targets, earlier))})`) },
    ];
  });
  const each = (what: keyof typeof PER_PROFILE) => parts.map((_, k) => `variables.${perProfile(k, what)}`);
  const annotations = earlierOf(parts, parts.length).has('annotations');
  const last = `(!${annotations} ? [${str(JSON.stringify('metadata.annotations'))}] : [])`;
  const record = wholeRecord(joined(chosen(each('entry'))), `(${[...each('created'), last].join(' + ')})`);
  const op = (path: string, value: string) => PATCH_OP(str(path), value);
  const recordOp = `(${annotations} ? [${op(`/metadata/annotations/${pointerToken(STATUS_ANNOTATION)}`, 'variables.record')}] : [${op('/metadata/annotations', `{${str(STATUS_ANNOTATION)}: variables.record}`)}])`;
  const patches = (what: 'targetPatch' | 'itemPatch') => each(what).map((v) => `${v}.map(o, ${PATCH_OP('o.path', 'o.value')})`);
  const applies = parts.map((_, k) => ({ name: `${prefixOf(k)}apply`, expression: `variables.apply && variables.${prefixOf(k)}wanted` }));
  const anyApplied = parts.map((_, k) => applied(k)).join(' || ');
  return {
    variables: [
      { name: 'apply', expression: "variables.unknownDenial == '' && variables.denial == ''" },
      ...applies,
      ...own,
      { name: 'record', expression: record },
    ],
    patch: `${anyApplied} ? ${concat([...patches('targetPatch'), ...patches('itemPatch'), recordOp])} : []`,
  };
}

function meta(name: string, parts: readonly ProfileParts[]): JsonObject {
  const each = (f: (p: SidecarProfile) => string) => parts.map((x) => f(x.p)).join(',');
  return {
    name,
    labels: { 'app.kubernetes.io/managed-by': 'outrigger' },
    annotations: {
      'outrigger.dev/profiles': each((p) => p.name),
      'outrigger.dev/profile-versions': each((p) => p.version),
      'outrigger.dev/profile-hashes': each((p) => p.hash),
    },
  };
}

/** The set's four objects. They carry no profile label: sync.ts applies them with the set's own, as one unit. */
export function setObjects(parts: readonly ProfileParts[]): JsonObject[] {
  const decide = decideVariables(parts);
  const mutate = mutation(parts);
  return [
    ...mutatingPolicy(meta(SET_POLICY, parts), [...decide, ...mutate.variables], mutate.patch),
    // A request for an unknown profile is the set's other policy's denial, and comes first in the engine.
    ...validatingPolicy(
      meta(SET_DENY_POLICY, parts),
      decide,
      { expression: "variables.unknownDenial != '' || variables.denial == ''", messageExpression: 'variables.denial' },
      'Deny',
      [notInjected(parts.map((_, k) => `variables.${prefixOf(k)}wanted`).join(' || '))],
    ),
  ];
}
