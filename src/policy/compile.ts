/**
 * `outrigger policy`'s core: a profile set → admission policies that do on the API server exactly
 * what the engine does, or a refusal per profile naming the field that prevents it. Pure: no I/O.
 */
import type { JsonObject } from '../common/json.ts';
import { type KubeVersion, type ProfileSet, type SidecarProfile, sidecarModeFor } from '../engine/index.ts';
import { NotRepresentable } from './cel.ts';
import { denialVariables } from './denial.ts';
import { interactionRefusals } from './interactions.ts';
import { itemVariables, NAME_VARIABLES, podItems } from './items.ts';
import { policyName, policyObjects, unknownProfilesObjects } from './objects.ts';
import { tagErrors, withImageTag } from './overrides.ts';
import { patchExpression } from './patch.ts';
import { recordExpression } from './record.ts';
import { kubeVersionRefusal, profileRefusals, type Refusal } from './refusals.ts';
import { injectVariables, selectionVariables, unknownVariables } from './select.ts';
import { type ProfileParts, SET_POLICY, setObjects } from './set.ts';
import { active, targetings, targetVariable } from './targets.ts';
import { renderedProfile } from './templates.ts';

export interface CompiledPolicies {
  /** The admission policies and bindings: four for a profile compiled alone or for the set of several (set.ts), then the set's two (unknown profiles). */
  objects: JsonObject[];
  /** The profiles compiled, in order. */
  compiled: string[];
  refusals: Refusal[];
  /** Per compiled profile, the MutatingAdmissionPolicy that injects it: its own, or the set's. */
  policies: Record<string, string>;
}

/** Thrown when no profile can be compiled for this cluster version at all. */
export class UnsupportedKubeVersion extends Error {}

/** The parts of one profile that has no refusal of its own. */
function profileParts(own: SidecarProfile, kube: KubeVersion): ProfileParts {
  const rendered = renderedProfile(own);
  const p = withImageTag(rendered.profile);
  const mode = sidecarModeFor(p, kube);
  const items = podItems(p, mode);
  const targets = targetings(p);
  const shared = new Set([...injectVariables(), ...unknownVariables([])].map((v) => v.name));
  const ownVariables = [
    ...selectionVariables(p).filter((v) => !shared.has(v.name)),
    ...itemVariables(items),
    ...targets.filter(active).map(targetVariable),
    ...denialVariables(p, items, targets, rendered.errors, tagErrors(p)),
  ];
  return { p, mode, items, targets, own: ownVariables };
}

/** The four objects of a profile compiled alone. */
function aloneObjects({ p, mode, items, targets, own }: ProfileParts): JsonObject[] {
  const selection = selectionVariables(p);
  const selected = new Set(selection.map((v) => v.name));
  const decide = [...selection, ...NAME_VARIABLES, ...own.filter((v) => !selected.has(v.name))];
  const record = { name: 'record', expression: recordExpression(p, mode, items, targets) };
  return policyObjects(p, { decide, mutate: [record], patch: patchExpression(items, targets, 'variables.record') });
}

/** The profile's parts, or why it cannot be compiled even alone. */
function partsOrRefusals(p: SidecarProfile, kube: KubeVersion): ProfileParts | Refusal[] {
  const refusals = profileRefusals(p);
  if (refusals.length > 0) return refusals;
  try {
    return profileParts(p, kube);
  } catch (e) {
    if (!(e instanceof NotRepresentable)) throw e;
    return [{ profile: p.name, source: p.source, path: e.path, why: e.message }];
  }
}

export function compilePolicies(set: ProfileSet, kube: KubeVersion): CompiledPolicies {
  const unsupported = kubeVersionRefusal(kube);
  if (unsupported) throw new UnsupportedKubeVersion(unsupported);
  const out: CompiledPolicies = { objects: [], compiled: [], refusals: [], policies: {} };
  const accepted: ProfileParts[] = [];
  for (const p of set.profiles) {
    // The profile's own reasons first: how it meets the others is said only of a profile that would compile alone.
    const parts = partsOrRefusals(p, kube);
    const refusals = Array.isArray(parts) ? parts : interactionRefusals(parts, accepted);
    if (refusals.length > 0) {
      out.refusals.push(...refusals);
      continue;
    }
    accepted.push(parts as ProfileParts);
  }
  const alone = accepted.length === 1;
  if (alone) out.objects.push(...aloneObjects(accepted[0] as ProfileParts));
  else if (accepted.length > 1) out.objects.push(...setObjects(accepted));
  for (const x of accepted) {
    out.compiled.push(x.p.name);
    out.policies[x.p.name] = alone ? policyName(x.p) : SET_POLICY;
  }
  if (out.compiled.length > 0) out.objects.push(...unknownProfilesObjects(out.compiled, [...injectVariables(), ...unknownVariables(out.compiled)]));
  return out;
}
