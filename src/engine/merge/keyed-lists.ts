/** Merging the profile's pod-level lists keyed by name: volumes and imagePullSecrets. */
import { type JsonObject, listOf, nameOf } from '../../common/json.ts';
import type { Parts } from '../render.ts';
import type { ProfileRecord } from '../status.ts';
import { addTo, markCreated, type Settle } from './settle.ts';

/** Adds the profile's volumes and imagePullSecrets to `spec` (a copy the caller owns). */
export function mergePodLists(spec: JsonObject, parts: Parts, settle: Settle, record: ProfileRecord, created: string[]): void {
  for (const field of ['volumes', 'imagePullSecrets'] as const) {
    const items = parts[field];
    if (items.length === 0) continue;
    const current = listOf(spec[field]);
    const byName = new Map(current.map((v) => [nameOf(v), v]));
    const added: JsonObject[] = [];
    for (const item of items) {
      const name = item.name as string;
      const noun = () => `${field === 'volumes' ? 'volume' : 'imagePullSecret'} ${JSON.stringify(name)}`;
      if (!settle(byName.get(name), item, () => [noun(), `the pod already has a different ${noun()}`])) continue;
      added.push(item);
      byName.set(name, item);
      addTo(record, field, name);
    }
    if (added.length > 0) {
      markCreated(created, `spec.${field}`, spec, field);
      spec[field] = [...current, ...added];
    }
  }
}
