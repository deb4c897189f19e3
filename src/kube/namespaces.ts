/** Namespace labels, watched into memory for profile selectors (never read from the API per request). */
import { isObject, stringMap } from '../engine/json.ts';
import type { KubeClient } from './client.ts';
import { Informer, type InformerEvents } from './informer.ts';

export class NamespaceCache {
  readonly informer: Informer;
  #labels = new Map<string, Readonly<Record<string, string>>>();

  constructor(client: KubeClient, events: Pick<InformerEvents, 'onError'> = {}) {
    this.informer = new Informer(client, '/api/v1/namespaces', {
      ...events,
      onChange: (store) => {
        const next = new Map<string, Readonly<Record<string, string>>>();
        for (const ns of store.values()) {
          const meta = isObject(ns.metadata) ? ns.metadata : {};
          if (typeof meta.name === 'string') next.set(meta.name, Object.freeze(stringMap(meta.labels)));
        }
        this.#labels = next;
      },
    });
  }

  labels(namespace: string): Readonly<Record<string, string>> | undefined {
    return this.#labels.get(namespace);
  }
}
