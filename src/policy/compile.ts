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
import { kubeVersionRefusal, profileRefusals, type Refusal, WHY } from './refusals.ts';
import { injectVariables, selectionVariables, unknownVariables } from './select.ts';
import { type ProfileParts, SET_POLICY, setObjects } from './set.ts';
import { largestObject, longestExpression, MAX_EXPRESSION_CODE_POINTS, MAX_POLICY_BYTES, MAX_SET_PROFILES } from './size.ts';
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
    ...targets.filter(active).map((t) => targetVariable(t)),
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

/** The objects for these profiles (none compiled: none), and why the API server would refuse them: an expression too long, or an object too large. */
function objectsFor(accepted: readonly ProfileParts[], before: readonly string[]): { objects: JsonObject[]; refused?: string } {
  if (accepted.length === 0) return { objects: [] };
  const names = accepted.map((x) => x.p.name);
  const objects = [
    ...(accepted.length === 1 ? aloneObjects(accepted[0] as ProfileParts) : setObjects(accepted)),
    ...unknownProfilesObjects(names, [...injectVariables(), ...unknownVariables(names)]),
  ];
  const longest = longestExpression(objects);
  if (longest && longest.codePoints > MAX_EXPRESSION_CODE_POINTS) return { objects, refused: WHY.tooLong(before, longest) };
  const largest = largestObject(objects);
  if (largest && largest.bytes > MAX_POLICY_BYTES) return { objects, refused: WHY.tooLarge(before, largest) };
  return { objects };
}

/** A refusal of the whole profile, for a reason its set gives. */
const refusal = (x: ProfileParts, why: string): Refusal => ({ profile: x.p.name, source: x.p.source, path: 'spec', why });

/**
 * The profiles whose policies the API server accepts: all of them, or, when some expression would
 * be too long or some object too large, each in order if it still fits with the ones kept before
 * it. At most MAX_SET_PROFILES are given (compilePolicies), so the work stays bounded.
 */
function fitting(accepted: readonly ProfileParts[]): { kept: ProfileParts[]; objects: JsonObject[]; refusals: Refusal[] } {
  const all = objectsFor(accepted, []);
  if (!all.refused) return { kept: [...accepted], objects: all.objects, refusals: [] };
  const kept: ProfileParts[] = [];
  const refusals: Refusal[] = [];
  let objects: JsonObject[] = [];
  for (const x of accepted) {
    const tried = objectsFor(
      [...kept, x],
      kept.map((k) => k.p.name),
    );
    if (tried.refused) {
      refusals.push(refusal(x, tried.refused));
      continue;
    }
    kept.push(x);
    objects = tried.objects;
  }
  return { kept, objects, refusals };
}

export function compilePolicies(set: ProfileSet, kube: KubeVersion): CompiledPolicies {
  const unsupported = kubeVersionRefusal(kube);
  if (unsupported) throw new UnsupportedKubeVersion(unsupported);
  const out: CompiledPolicies = { objects: [], compiled: [], refusals: [], policies: {} };
  const accepted: ProfileParts[] = [];
  for (const p of set.profiles) {
    // The profile's own reasons first: how it meets the others is said only of a profile that would compile alone.
    const parts = partsOrRefusals(p, kube);
    // Past a full set, only its own reasons are looked for: meeting the others would cost each
    // profile as much as all before it, and fitting refuses it anyway.
    const full = accepted.length >= MAX_SET_PROFILES;
    const refusals = Array.isArray(parts) ? parts : full ? [] : interactionRefusals(parts, accepted);
    if (refusals.length > 0) {
      out.refusals.push(...refusals);
      continue;
    }
    if (full) out.refusals.push(refusal(parts as ProfileParts, WHY.tooMany(MAX_SET_PROFILES)));
    else accepted.push(parts as ProfileParts);
  }
  const { kept, objects, refusals } = fitting(accepted);
  out.objects = objects;
  out.refusals.push(...refusals);
  for (const x of kept) {
    out.compiled.push(x.p.name);
    out.policies[x.p.name] = kept.length === 1 ? policyName(x.p) : SET_POLICY;
  }
  return out;
}
