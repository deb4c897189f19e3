/**
 * Where two profiles of one set would meet in a way a compiled set does not reproduce: a
 * failurePolicy ignore profile among several (its warning would be lost). The later one is
 * refused, naming its field and the earlier profile. Items and targeted keys both add are settled
 * against each other (shared.ts).
 */
import type { Refusal } from './refusals.ts';
import { WHY } from './refusals.ts';
import type { ProfileParts } from './set.ts';

/** Every reason `next` cannot join the profiles `before` it in the set, first the most fundamental. */
export function interactionRefusals(next: ProfileParts, before: readonly ProfileParts[]): Refusal[] {
  const out: Refusal[] = [];
  const { p } = next;
  const refuse = (path: string, why: string) => out.push({ profile: p.name, source: p.source, path, why });
  const first = before[0];
  if (first === undefined) return out;
  if (p.failurePolicy === 'ignore') refuse('spec.failurePolicy', WHY.ignoreInSet(first.p.name));
  else if (first.p.failurePolicy === 'ignore') refuse('spec.order', WHY.afterIgnore(first.p.name));
  return out;
}
