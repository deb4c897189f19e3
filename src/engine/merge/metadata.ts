/** Merging the profile's pod labels and annotations. */
import { isObject, type JsonObject, setOwn } from '../../common/json.ts';
import type { Parts } from '../render.ts';
import type { ProfileRecord } from '../status.ts';
import { addTo, markCreated, type Settle } from './settle.ts';

/** Adds the profile's labels and annotations to `pod` (a copy the caller owns). */
export function mergeMetadata(pod: JsonObject, parts: Parts, settle: Settle, record: ProfileRecord, created: string[]): void {
  for (const kind of ['labels', 'annotations'] as const) {
    const entries = Object.entries(parts[kind]);
    if (entries.length === 0) continue;
    const meta: JsonObject = isObject(pod.metadata) ? { ...pod.metadata } : {};
    const map: JsonObject = isObject(meta[kind]) ? { ...meta[kind] } : {};
    const noun = kind === 'labels' ? 'label' : 'annotation';
    let changed = false;
    for (const [k, v] of entries) {
      const existing = Object.hasOwn(map, k) ? map[k] : undefined;
      if (!settle(existing, v, () => [`${noun} ${JSON.stringify(k)}`, 'the pod already has it with another value'])) continue;
      setOwn(map, k, v);
      addTo(record, kind, k);
      changed = true;
    }
    if (changed) {
      if (!isObject(pod.metadata)) created.push('metadata');
      markCreated(created, `metadata.${kind}`, meta, kind);
      meta[kind] = map;
      pod.metadata = meta;
    }
  }
}
