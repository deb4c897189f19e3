/**
 * Where two profiles of one set would meet in the engine's merge in a way a compiled policy does
 * not reproduce: the later one is refused, naming its field and the earlier profile. The merge of
 * a later profile then reads the pod as it came for every item and targeted key (set.ts).
 */
import { deepEqual } from '../common/json.ts';
import type { PodItem } from './items.ts';
import type { Refusal } from './refusals.ts';
import { WHY } from './refusals.ts';
import type { ProfileParts } from './set.ts';
import { active } from './targets.ts';

/** Containers and init containers share one name space (merge/containers.ts). */
const space = (i: PodItem) => (i.field === 'initContainers' || i.field === 'containers' ? 'containers' : i.field);

/** Every reason `next` cannot join the profiles `before` it in the set, first the most fundamental. */
export function interactionRefusals(next: ProfileParts, before: readonly ProfileParts[]): Refusal[] {
  const out: Refusal[] = [];
  const { p } = next;
  const refuse = (path: string, why: string) => out.push({ profile: p.name, source: p.source, path, why });
  const first = before[0];
  if (first === undefined) return out;
  if (p.failurePolicy === 'ignore') refuse('spec.failurePolicy', WHY.ignoreInSet(first.p.name));
  else if (first.p.failurePolicy === 'ignore') refuse('spec.order', WHY.afterIgnore(first.p.name));
  for (const item of next.items)
    for (const other of before) {
      const same = other.items.find((o) => space(o) === space(item) && o.key === item.key);
      if (same) refuse(item.path, WHY.sharedItem(item.what, other.p.name));
    }
  for (const t of next.targets) {
    if (!active(t)) continue;
    for (const other of before) {
      const u = other.targets.find((x) => x.field === t.field);
      if (!u || !active(u)) continue;
      const where = t.field === 'containers' ? 'spec.targets' : 'spec.initContainerTargets';
      for (const [j, e] of t.env.entries())
        if (u.env.some((x) => x.name === e.name)) refuse(`spec.env[${j}].name`, WHY.sharedTarget(`env ${JSON.stringify(e.name)}`, where, other.p.name));
      for (const [j, m] of t.mounts.entries())
        if (u.mounts.some((x) => x.mountPath === m.mountPath))
          refuse(`spec.volumeMounts[${j}].mountPath`, WHY.sharedTarget(`a volumeMount at ${JSON.stringify(m.mountPath)}`, where, other.p.name));
      for (const [j, f] of t.envFrom.entries())
        if (u.envFrom.some((x) => deepEqual(x, f))) refuse(`spec.envFrom[${j}]`, WHY.sharedTarget('this envFrom source', where, other.p.name));
    }
  }
  return out;
}
