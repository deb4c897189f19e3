/**
 * List, then watch, into an in-memory store: the cache the admission path reads instead of the API
 * server. Lists come in pages (`limit`/`continue`, as client-go's reflector reads them); a continue
 * token that expires (`410`) restarts the list from the first page. Watches resume from the last
 * resourceVersion (bookmarks keep it fresh); a `410 Gone` means the history is compacted, so the
 * store is re-listed; errors back off exponentially. Consumers get each change as it happens, so
 * one event costs them one object, not the whole store.
 */
import { isObject, type JsonObject } from '../common/json.ts';
import { KubeApiError, type KubeClient, type WatchEvent } from './client.ts';

/** One change to the store: a whole new list, or one object set or deleted. */
export type StoreChange =
  | { type: 'replaced'; store: ReadonlyMap<string, JsonObject>; previous: ReadonlyMap<string, JsonObject> }
  | { type: 'set'; key: string; object: JsonObject; previous: JsonObject | undefined }
  | { type: 'deleted'; key: string; object: JsonObject; previous: JsonObject | undefined };

export interface InformerEvents {
  /** Called after every change to the store, with what changed. */
  onChange?: (change: StoreChange) => void;
  onError?: (error: Error, retryInMs: number) => void;
  onSynced?: () => void;
  /** What of each object to keep in the store (client-go's transform); default: all but managedFields. */
  transform?: (obj: JsonObject) => JsonObject;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * An object without the server's bookkeeping that Outrigger never reads: managedFields and kubectl's
 * last-applied copy of the whole object, which in a real cluster are often most of its size.
 */
export function withoutBookkeeping(obj: JsonObject): JsonObject {
  const meta = isObject(obj.metadata) ? obj.metadata : undefined;
  if (!meta || (meta.managedFields === undefined && !(isObject(meta.annotations) && LAST_APPLIED in meta.annotations))) return obj;
  const { managedFields: _m, ...rest } = meta;
  if (isObject(rest.annotations) && LAST_APPLIED in rest.annotations) {
    const { [LAST_APPLIED]: _l, ...annotations } = rest.annotations;
    rest.annotations = annotations;
  }
  return { ...obj, metadata: rest };
}

export function keyOf(obj: JsonObject): string {
  const m = isObject(obj.metadata) ? obj.metadata : {};
  return `${typeof m.namespace === 'string' ? m.namespace : ''}/${String(m.name)}`;
}

/** A list whose continue token keeps expiring is given up after this many starts (then backoff). */
const MAX_LIST_RESTARTS = 5;

/** One list page's items into the store; list items come without kind/apiVersion, so they are filled in. */
function addItems(store: Map<string, JsonObject>, page: JsonObject, transform: (o: JsonObject) => JsonObject): void {
  const kind = typeof page.kind === 'string' ? page.kind.replace(/List$/, '') : undefined;
  const apiVersion = typeof page.apiVersion === 'string' ? page.apiVersion : undefined;
  const items = Array.isArray(page.items) ? page.items.filter(isObject) : [];
  for (const i of items) store.set(keyOf(i), transform({ ...(apiVersion ? { apiVersion } : {}), ...(kind ? { kind } : {}), ...i }));
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

export class Informer {
  readonly #client: KubeClient;
  readonly #path: string;
  readonly #events: InformerEvents;
  readonly #abort = new AbortController();
  #store = new Map<string, JsonObject>();
  #resourceVersion = '';
  #synced = false;
  #lists = 0;
  #expiredLists = 0;
  #syncedPromise: Promise<void>;
  #resolveSynced!: () => void;
  #running: Promise<void> | undefined;
  /** Backoff bounds; tests shorten them. */
  backoff = { initialMs: 250, maxMs: 30_000 };
  /** Server-side watch timeout; the watch is re-opened from the last resourceVersion after it. */
  watchTimeoutSeconds = 300;
  /** Objects per list page (client-go's reflector uses 500). */
  pageSize = 500;

  constructor(client: KubeClient, path: string, events: InformerEvents = {}) {
    this.#client = client;
    this.#path = path;
    this.#events = events;
    this.#syncedPromise = new Promise((r) => {
      this.#resolveSynced = r;
    });
  }

  get store(): ReadonlyMap<string, JsonObject> {
    return this.#store;
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Completed lists: 1 after the first sync, one more for each re-list (after a 410 Gone). */
  get lists(): number {
    return this.#lists;
  }

  /** Lists whose continue token expired (410) part-way, each restarted from the first page. */
  get expiredLists(): number {
    return this.#expiredLists;
  }

  /** Resolves once the first list has been loaded. */
  waitForSync(): Promise<void> {
    return this.#syncedPromise;
  }

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }

  async #list(): Promise<void> {
    const { store, resourceVersion } = await this.#listPages();
    const previous = this.#store;
    this.#store = store;
    this.#resourceVersion = resourceVersion;
    this.#lists++;
    this.#events.onChange?.({ type: 'replaced', store, previous });
    if (!this.#synced) {
      this.#synced = true;
      this.#resolveSynced();
      this.#events.onSynced?.();
    }
  }

  /**
   * Every page of one list into a new store. A continue token the server no longer honours (410:
   * the snapshot it points into was compacted) restarts the list from the first page; client-go's
   * pager falls back to one unpaginated list instead, which is what paging exists to avoid.
   */
  async #listPages(): Promise<{ store: Map<string, JsonObject>; resourceVersion: string }> {
    for (let attempt = 1; ; attempt++) {
      const store = new Map<string, JsonObject>();
      let token = '';
      try {
        for (;;) {
          const page = await this.#client.request('GET', this.#path, {
            query: { limit: this.pageSize, ...(token ? { continue: token } : {}) },
            signal: this.#abort.signal,
          });
          addItems(store, page, this.#events.transform ?? withoutBookkeeping);
          const meta = isObject(page.metadata) ? page.metadata : {};
          token = typeof meta.continue === 'string' ? meta.continue : '';
          if (!token) return { store, resourceVersion: String(meta.resourceVersion || '') };
        }
      } catch (e) {
        // Only an expired continue token is retried here; anything else goes to the caller's backoff.
        if (!(token && e instanceof KubeApiError && e.status === 410) || attempt >= MAX_LIST_RESTARTS) throw e;
        this.#expiredLists++;
      }
    }
  }

  #apply(e: WatchEvent): 'gone' | undefined {
    if (e.type === 'ERROR') {
      const code = isObject(e.object) ? e.object.code : undefined;
      if (code === 410) return 'gone';
      throw new Error(`watch ${this.#path}: ${isObject(e.object) ? String(e.object.message) : 'error event'}`);
    }
    const rv = isObject(e.object.metadata) ? e.object.metadata.resourceVersion : undefined;
    if (typeof rv === 'string') this.#resourceVersion = rv;
    if (e.type === 'BOOKMARK') return undefined;
    const key = keyOf(e.object);
    const object = (this.#events.transform ?? withoutBookkeeping)(e.object);
    const previous = this.#store.get(key);
    if (e.type === 'DELETED') {
      this.#store.delete(key);
      this.#events.onChange?.({ type: 'deleted', key, object, previous });
    } else {
      this.#store.set(key, object);
      this.#events.onChange?.({ type: 'set', key, object, previous });
    }
    return undefined;
  }

  async #run(): Promise<void> {
    let delay = this.backoff.initialMs;
    let needList = true;
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.#list();
          needList = false;
        }
        // A 410 inside the stream ends this watch at once and re-lists.
        const watchAbort = new AbortController();
        const stopWatch = () => watchAbort.abort();
        signal.addEventListener('abort', stopWatch, { once: true });
        let gone = false;
        const opened = Date.now();
        try {
          await this.#client.watch(
            this.#path,
            { resourceVersion: this.#resourceVersion, allowWatchBookmarks: true, timeoutSeconds: this.watchTimeoutSeconds },
            (e) => {
              if (gone) return;
              if (this.#apply(e) === 'gone') {
                gone = true;
                watchAbort.abort();
              }
            },
            watchAbort.signal,
            (this.watchTimeoutSeconds + 60) * 1000,
          );
        } catch (e) {
          if (!gone) throw e;
        } finally {
          signal.removeEventListener('abort', stopWatch);
        }
        if (gone) needList = true;
        // A watch that the server ends at once (again and again) must not become a busy loop.
        if (!gone && Date.now() - opened < 1000) {
          await sleep(delay, signal);
          delay = Math.min(delay * 2, this.backoff.maxMs);
        } else delay = this.backoff.initialMs;
      } catch (e) {
        if (signal.aborted) break;
        if (e instanceof KubeApiError && e.status === 410) needList = true;
        this.#events.onError?.(e as Error, delay);
        await sleep(delay, signal);
        delay = Math.min(delay * 2, this.backoff.maxMs);
      }
    }
  }
}
