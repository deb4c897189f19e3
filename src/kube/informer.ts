/**
 * List, then watch, into an in-memory store: the cache the admission path reads instead of the API
 * server. Watches resume from the last resourceVersion (bookmarks keep it fresh); a `410 Gone`
 * means the history is compacted, so the store is re-listed; errors back off exponentially.
 */
import { isObject, type JsonObject } from '../engine/json.ts';
import { KubeApiError, type KubeClient, type WatchEvent } from './client.ts';

export interface InformerEvents {
  /** Called after every change to the store (add, update, delete, or a re-list). */
  onChange?: (store: ReadonlyMap<string, JsonObject>) => void;
  onError?: (error: Error, retryInMs: number) => void;
  onSynced?: () => void;
}

export function keyOf(obj: JsonObject): string {
  const m = isObject(obj.metadata) ? obj.metadata : {};
  return `${typeof m.namespace === 'string' ? m.namespace : ''}/${String(m.name)}`;
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
  #syncedPromise: Promise<void>;
  #resolveSynced!: () => void;
  #running: Promise<void> | undefined;
  /** Backoff bounds; tests shorten them. */
  backoff = { initialMs: 250, maxMs: 30_000 };
  /** Server-side watch timeout; the watch is re-opened from the last resourceVersion after it. */
  watchTimeoutSeconds = 300;

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
    const list = await this.#client.request(`GET`, this.#path, { signal: this.#abort.signal });
    const items = Array.isArray(list.items) ? list.items.filter(isObject) : [];
    const kind = typeof list.kind === 'string' ? list.kind.replace(/List$/, '') : undefined;
    const apiVersion = typeof list.apiVersion === 'string' ? list.apiVersion : undefined;
    // List items come without kind/apiVersion; fill them so consumers see whole objects.
    this.#store = new Map(items.map((i) => [keyOf(i), { ...(apiVersion ? { apiVersion } : {}), ...(kind ? { kind } : {}), ...i }]));
    this.#resourceVersion = String((isObject(list.metadata) && list.metadata.resourceVersion) || '');
    this.#lists++;
    this.#events.onChange?.(this.#store);
    if (!this.#synced) {
      this.#synced = true;
      this.#resolveSynced();
      this.#events.onSynced?.();
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
    const next = new Map(this.#store);
    if (e.type === 'DELETED') next.delete(keyOf(e.object));
    else next.set(keyOf(e.object), e.object);
    this.#store = next;
    this.#events.onChange?.(this.#store);
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
