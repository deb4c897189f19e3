/**
 * How a merge treats an item whose key the pod already uses, and the bookkeeping every part of a
 * merge shares: what it records and which fields it created.
 */
import { deepEqual, type JsonObject, type JsonValue } from '../../common/json.ts';
import type { SidecarProfile } from '../profile.ts';
import { NULL_SUFFIX } from '../status.ts';

/**
 * Settles a same-key item: true to add the new item, false to skip it. `describe` gives `what`
 * (names the item) and `clash` (what the pod has instead), for a message a person can act on;
 * it is called only on a clash, as most items clash with nothing.
 */
export type Settle = (existing: JsonValue | undefined, incoming: JsonValue, describe: () => [what: string, clash: string]) => boolean;

/** Thrown by a Settle to stop the whole merge: the profile cannot be injected. */
export class Conflict extends Error {}

/**
 * The profile's conflictPolicy as a Settle: an identical item is left alone, a different one is
 * kept with a warning (`keep-pod`) or stops the merge (`fail`).
 */
export function settleByPolicy(profile: SidecarProfile, warnings: string[]): Settle {
  return (existing, incoming, describe) => {
    if (existing === undefined) return true;
    if (deepEqual(existing, incoming)) return false;
    const [what, clash] = describe();
    if (profile.conflictPolicy === 'keep-pod') {
      warnings.push(`profile ${JSON.stringify(profile.name)}: kept the pod's own ${what} (conflictPolicy: keep-pod)`);
      return false;
    }
    throw new Conflict(`it adds ${what}, but ${clash} (conflictPolicy: fail)`);
  };
}

/** Appends to an optional list field of a record, creating it on first use. */
export function addTo<T, K extends keyof T>(obj: T, key: K, value: NonNullable<T[K]> extends (infer E)[] ? E : never): void {
  const current = (obj[key] ?? []) as unknown[];
  current.push(value);
  obj[key] = current as T[K];
}

/** Notes `field` in `created` when injection is about to create `obj[key]` (absent, or null). */
export function markCreated(created: string[], field: string, obj: JsonObject, key: string): void {
  if (!Object.hasOwn(obj, key)) created.push(field);
  else if (obj[key] === null) created.push(`${field}${NULL_SUFFIX}`);
}
