/**
 * `outrigger policy`'s core: a profile set → admission policies that do on the API server exactly
 * what the engine does, or a refusal per profile naming the field that prevents it. Pure: no I/O.
 */
import type { JsonObject } from '../common/json.ts';
import { type KubeVersion, type ProfileSet, type SidecarProfile, sidecarModeFor } from '../engine/index.ts';
import { NotRepresentable } from './cel.ts';
import { denialVariables } from './denial.ts';
import { itemVariables, NAME_VARIABLES, podItems } from './items.ts';
import { policyObjects, unknownProfilesObjects } from './objects.ts';
import { tagErrors, withImageTag } from './overrides.ts';
import { patchExpression } from './patch.ts';
import { recordExpression } from './record.ts';
import { kubeVersionRefusal, profileRefusals, type Refusal, WHY } from './refusals.ts';
import { injectVariables, selectionVariables, unknownVariables } from './select.ts';
import { active, targetings, targetVariable } from './targets.ts';
import { renderedProfile } from './templates.ts';

export interface CompiledPolicies {
  /** The admission policies and bindings: four per compiled profile, then the set's two (unknown profiles). */
  objects: JsonObject[];
  /** The profiles compiled, in order. */
  compiled: string[];
  refusals: Refusal[];
}

/** Thrown when no profile can be compiled for this cluster version at all. */
export class UnsupportedKubeVersion extends Error {}

/** The four objects of one profile that has no refusal. */
function compileProfile(own: SidecarProfile, kube: KubeVersion): JsonObject[] {
  const rendered = renderedProfile(own);
  const p = withImageTag(rendered.profile);
  const errors = [...rendered.errors, ...tagErrors(p)];
  const mode = sidecarModeFor(p, kube);
  const items = podItems(p, mode);
  const targets = targetings(p);
  const decide = [
    ...selectionVariables(p),
    ...NAME_VARIABLES,
    ...itemVariables(items),
    ...targets.filter(active).map(targetVariable),
    ...denialVariables(p, items, targets, errors),
  ];
  const record = { name: 'record', expression: recordExpression(p, mode, items, targets) };
  return policyObjects(p, { decide, mutate: [record], patch: patchExpression(items, targets, 'variables.record') });
}

export function compilePolicies(set: ProfileSet, kube: KubeVersion): CompiledPolicies {
  const unsupported = kubeVersionRefusal(kube);
  if (unsupported) throw new UnsupportedKubeVersion(unsupported);
  const out: CompiledPolicies = { objects: [], compiled: [], refusals: [] };
  for (const p of set.profiles) {
    // The profile's own reasons first: "several" is said only of a profile that would compile alone.
    const refusals = profileRefusals(p);
    let objects: JsonObject[] = [];
    if (refusals.length === 0) {
      try {
        objects = compileProfile(p, kube);
      } catch (e) {
        if (!(e instanceof NotRepresentable)) throw e;
        refusals.push({ profile: p.name, source: p.source, path: e.path, why: e.message });
      }
    }
    const first = out.compiled[0];
    if (refusals.length === 0 && first !== undefined) refusals.push({ profile: p.name, source: p.source, path: 'spec.order', why: WHY.several(first) });
    if (refusals.length > 0) {
      out.refusals.push(...refusals);
      continue;
    }
    out.objects.push(...objects);
    out.compiled.push(p.name);
  }
  if (out.compiled.length > 0) out.objects.push(...unknownProfilesObjects(out.compiled, [...injectVariables(), ...unknownVariables(out.compiled)]));
  return out;
}
