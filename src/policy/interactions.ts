/**
 * Where two profiles of one set would meet in the engine's merge in a way a compiled policy does
 * not reproduce: the later one is refused, naming its field and the earlier profile. A targeted
 * key (an env name, a mountPath, an envFrom source) of a later profile then reads the pod as it
 * came; pod-level items both add are settled against each other (shared.ts).
 */
import { deepEqual } from '../common/json.ts';
import type { Refusal } from './refusals.ts';
import { WHY } from './refusals.ts';
import type { ProfileParts } from './set.ts';
import { active } from './targets.ts';

/** Every reason `next` cannot join the profiles `before` it in the set, first the most fundamental. */
export function interactionRefusals(next: ProfileParts, before: readonly ProfileParts[]): Refusal[] {
  const out: Refusal[] = [];
  const { p } = next;
  const refuse = (path: string, why: string) => out.push({ profile: p.name, source: p.source, path, why });
  const first = before[0];
  if (first === undefined) return out;
  if (p.failurePolicy === 'ignore') refuse('spec.failurePolicy', WHY.ignoreInSet(first.p.name));
  else if (first.p.failurePolicy === 'ignore') refuse('spec.order', WHY.afterIgnore(first.p.name));
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
