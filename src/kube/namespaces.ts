/**
 * Namespace labels, watched into memory for profile selectors (never read from the API per request).
 * Each watch event updates the one namespace it is about: its cost does not grow with the cluster.
 */
import { isObject, type JsonObject, stringMap } from '../common/json.ts';
import type { KubeClient } from './client.ts';
import { Informer, type InformerEvents, type StoreChange } from './informer.ts';

type Labels = Readonly<Record<string, string>>;

const nameOf = (ns: JsonObject): string | undefined => {
  const meta = isObject(ns.metadata) ? ns.metadata : {};
  return typeof meta.name === 'string' ? meta.name : undefined;
};
/** All of a namespace the cache needs: in a large cluster the rest would be most of the memory. */
const nameAndLabels = (ns: JsonObject): JsonObject => {
  const m = isObject(ns.metadata) ? ns.metadata : {};
  return { metadata: { name: m.name ?? null, resourceVersion: m.resourceVersion ?? null, labels: m.labels ?? {} } };
};
const labelsOf = (ns: JsonObject): Labels => Object.freeze(stringMap(isObject(ns.metadata) ? ns.metadata.labels : undefined));

export class NamespaceCache {
  readonly informer: Informer;
  #labels = new Map<string, Labels>();

  constructor(client: KubeClient, events: Pick<InformerEvents, 'onError'> = {}) {
    this.informer = new Informer(client, '/api/v1/namespaces', { ...events, transform: nameAndLabels, onChange: (change) => this.#apply(change) });
  }

  labels(namespace: string): Labels | undefined {
    return this.#labels.get(namespace);
  }

  #apply(change: StoreChange): void {
    if (change.type === 'replaced') {
      const next = new Map<string, Labels>();
      for (const ns of change.store.values()) {
        const name = nameOf(ns);
        if (name !== undefined) next.set(name, labelsOf(ns));
      }
      this.#labels = next;
      return;
    }
    const name = nameOf(change.object);
    if (name === undefined) return;
    if (change.type === 'set') this.#labels.set(name, labelsOf(change.object));
    else this.#labels.delete(name);
  }
}
