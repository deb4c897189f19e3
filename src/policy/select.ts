/**
 * Whether the engine would select the profile for a pod (engine/select.ts), as CEL variables:
 * the `outrigger.dev/inject` list (trimmed as JavaScript trims, empty and repeated names skipped,
 * only the first 64 distinct names read), opt-out, and the profile's namespace and pod selectors.
 */
import { INJECT_ANNOTATION, UNKNOWN_PROFILES_LABEL } from '../common/labels.ts';
import { type LabelSelector, MAX_REQUESTED, type SidecarProfile } from '../engine/index.ts';
import { hasAnnotation, jsTrim, str } from './cel.ts';
import type { Variable } from './variables.ts';

/** One label selector over a CEL map expression that may be absent (`has(...)` guards it). */
export function selectorCel(sel: LabelSelector, labels: string, present: string): string {
  const has = (k: string) => `(${present} && ${str(k)} in ${labels})`;
  const value = (k: string) => `${labels}[${str(k)}]`;
  const terms: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) terms.push(`(${has(k)} && ${value(k)} == ${str(v)})`);
  for (const e of sel.matchExpressions ?? []) {
    const values = `[${(e.values ?? []).map((v) => str(v)).join(', ')}]`;
    if (e.operator === 'In') terms.push(`(${has(e.key)} && ${value(e.key)} in ${values})`);
    else if (e.operator === 'NotIn') terms.push(`(!${has(e.key)} || !(${value(e.key)} in ${values}))`);
    else if (e.operator === 'Exists') terms.push(has(e.key));
    else terms.push(`!${has(e.key)}`);
  }
  return terms.length === 0 ? 'true' : terms.join(' && ');
}

function selectorMatch(p: SidecarProfile): string {
  if (!p.selector) return 'false';
  const parts: string[] = [];
  if (p.selector.namespaceSelector)
    parts.push(`(${selectorCel(p.selector.namespaceSelector, 'namespaceObject.metadata.labels', 'has(namespaceObject.metadata.labels)')})`);
  if (p.selector.podSelector) parts.push(`(${selectorCel(p.selector.podSelector, 'object.metadata.labels', 'has(object.metadata.labels)')})`);
  return parts.length === 0 ? 'true' : parts.join(' && ');
}

/** The engine's denial of a pod that requests a profile the set lacks, in a namespace labelled to deny them. */
function unknownDenial(): string {
  const label = `namespaceObject.metadata.labels[${str(UNKNOWN_PROFILES_LABEL)}]`;
  const deny = `has(namespaceObject.metadata.labels) && ${str(UNKNOWN_PROFILES_LABEL)} in namespaceObject.metadata.labels && ${label} == 'deny'`;
  const before = `${INJECT_ANNOTATION} requests profile "`;
  const after = `", which does not exist; pods that request an unknown profile are denied by the namespace's label ${UNKNOWN_PROFILES_LABEL}=deny`;
  return `${deny} && size(variables.unknownRequested) > 0 ? ${str(before)} + variables.unknownRequested[0] + ${str(after)} : ''`;
}

/** The `outrigger.dev/inject` list: `injectNames` are its distinct non-empty trimmed names in order (distinct() keeps first occurrences). */
export function injectVariables(): Variable[] {
  const raw = `object.metadata.annotations[${str(INJECT_ANNOTATION)}]`;
  return [
    { name: 'injectList', expression: `${hasAnnotation(INJECT_ANNOTATION)} ? ${jsTrim(raw)} : ''` },
    { name: 'optedOut', expression: `variables.injectList.lowerAscii() == 'false'` },
    { name: 'injectParts', expression: `variables.injectList.split(',').map(s, ${jsTrim('s')})` },
    { name: 'injectNames', expression: `variables.injectParts.filter(s, s != '').distinct()` },
  ];
}

/** Requested names the set lacks (of the MAX_REQUESTED read, valid names only), and the engine's denial of them where the namespace says so (inject.ts). */
export function unknownVariables(known: readonly string[]): Variable[] {
  const others = known.map((n) => ` && s != ${str(n)}`).join('');
  return [
    {
      name: 'unknownRequested',
      expression: `!variables.optedOut && variables.injectList.lowerAscii() != 'true' ? variables.injectNames.filter(s, variables.injectNames.indexOf(s) < ${MAX_REQUESTED} && size(s) <= 63 && s.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')${others}) : []`,
    },
    { name: 'unknownDenial', expression: unknownDenial() },
  ];
}

/** The variables that decide `wanted`; the engine reads only the first MAX_REQUESTED names. */
export function selectionVariables(p: SidecarProfile): Variable[] {
  const name = str(p.name);
  return [
    ...injectVariables(),
    {
      name: 'requested',
      expression: `!variables.optedOut && variables.injectList.lowerAscii() != 'true' && variables.injectNames.exists(s, s == ${name}) && variables.injectNames.indexOf(${name}) < ${MAX_REQUESTED}`,
    },
    ...unknownVariables([p.name]),
    { name: 'selected', expression: selectorMatch(p) },
    { name: 'wanted', expression: `(variables.requested || variables.selected) && ${p.mandatory ? 'true' : '!variables.optedOut'}` },
  ];
}
