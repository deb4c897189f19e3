/** Merging a profile's sidecars and init containers into the pod's spec. */
import { type JsonObject, type JsonValue, listOf, nameOf } from '../../common/json.ts';
import { asNativeSidecar } from '../native-sidecar.ts';
import type { Parts } from '../render.ts';
import type { ProfileRecord } from '../status.ts';
import { addTo, markCreated, type Settle } from './settle.ts';

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
  const existingByName = new Map<string, { value: JsonValue; field: 'initContainers' | 'containers' }>();
  for (const field of ['initContainers', 'containers'] as const) {
    for (const c of listOf(spec[field])) {
      const n = nameOf(c);
      if (n !== undefined) existingByName.set(n, { value: c, field });
    }
  }
  const newInit: JsonObject[] = [];
  const newContainers: JsonObject[] = [];
  const add = (c: JsonObject, into: JsonObject[], field: 'initContainers' | 'containers', label: string) => {
    const name = c.name as string;
    const clash = `the pod already has a container or init container named ${JSON.stringify(name)}`;
    const had = existingByName.get(name);
    // The same container counts as present only in the list it would go into: a classic sidecar the
    // pod has as an init container would run to completion before the app, not beside it.
    const existing = had === undefined ? undefined : had.field === field ? had.value : null;
    if (!settle(existing, c, () => [`${label} ${JSON.stringify(name)}`, clash])) return;
    into.push(c);
    existingByName.set(name, { value: c, field });
    addTo(record, field, name);
  };
  for (const c of parts.initContainers) add(c, newInit, 'initContainers', 'init container');
  if (mode === 'native') for (const c of parts.nativeContainers ?? parts.containers.map(asNativeSidecar)) add(c, newInit, 'initContainers', 'native sidecar');
  else for (const c of parts.containers) add(c, newContainers, 'containers', 'container');
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
