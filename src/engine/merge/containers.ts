/** Merging a profile's sidecars and init containers into the pod's spec. */
import { type JsonObject, type JsonValue, listOf, nameOf } from '../json.ts';
import type { Parts } from '../render.ts';
import type { ProfileRecord } from '../status.ts';
import { addTo, markCreated, type Settle } from './settle.ts';

/**
 * A rendered container as a native sidecar. Kept per rendered container (profile-owned, frozen) so
 * pods get the same object each time, and its validation (memoised per object) runs once.
 */
const nativeForms = new WeakMap<JsonObject, JsonObject>();
function asNativeSidecar(c: JsonObject): JsonObject {
  if (c.restartPolicy === 'Always') return c;
  let native = nativeForms.get(c);
  if (!native) {
    native = Object.freeze({ ...c, restartPolicy: 'Always' });
    nativeForms.set(c, native);
  }
  return native;
}

/**
 * Adds the profile's containers to `spec` (a copy the caller owns): init containers and native
 * sidecars at `initInsertAt` (after earlier profiles', before the pod's own), classic sidecars at
 * the end. Returns how many init containers were added.
 */
export function mergeContainers(
  spec: JsonObject,
  parts: Parts,
  mode: 'native' | 'classic',
  initInsertAt: number,
  settle: Settle,
  record: ProfileRecord,
  created: string[],
): number {
  // Containers and init containers share one name space.
  const existingByName = new Map<string, JsonValue>();
  for (const c of [...listOf(spec.initContainers), ...listOf(spec.containers)]) {
    const n = nameOf(c);
    if (n !== undefined) existingByName.set(n, c);
  }
  const newInit: JsonObject[] = [];
  const newContainers: JsonObject[] = [];
  const add = (c: JsonObject, into: JsonObject[], field: 'initContainers' | 'containers', label: string) => {
    const name = c.name as string;
    const clash = `the pod already has a container or init container named ${JSON.stringify(name)}`;
    if (!settle(existingByName.get(name), c, () => [`${label} ${JSON.stringify(name)}`, clash])) return;
    into.push(c);
    existingByName.set(name, c);
    addTo(record, field, name);
  };
  for (const c of parts.initContainers) add(c, newInit, 'initContainers', 'init container');
  for (const c of parts.containers) {
    if (mode === 'native') add(asNativeSidecar(c), newInit, 'initContainers', 'native sidecar');
    else add(c, newContainers, 'containers', 'container');
  }
  if (newInit.length > 0) {
    markCreated(created, 'spec.initContainers', spec, 'initContainers');
    const init = listOf(spec.initContainers).slice();
    init.splice(initInsertAt, 0, ...newInit);
    spec.initContainers = init;
  }
  if (newContainers.length > 0) {
    markCreated(created, 'spec.containers', spec, 'containers');
    spec.containers = [...listOf(spec.containers), ...newContainers];
  }
  return newInit.length;
}
