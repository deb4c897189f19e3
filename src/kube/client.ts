/**
 * A small Kubernetes API client on node:https: JSON requests and streaming watches, nothing else.
 * Outrigger needs list, watch, get, create and patch on a handful of resources; a full generated
 * client would bring far more code (and dependencies) into a process that can change every pod.
 */

import { type ClientRequest, Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { JsonObject, JsonValue } from '../common/json.ts';
import type { KubeConfig } from './config.ts';

export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly body: JsonValue | undefined;
  constructor(method: string, path: string, status: number, body: JsonValue | undefined) {
    const b = body as { message?: string; reason?: string } | undefined;
    super(`${method} ${path}: ${status}${b?.reason ? ` ${b.reason}` : ''}${b?.message ? `: ${b.message}` : ''}`);
    this.status = status;
    this.reason = b?.reason ?? '';
    this.body = body;
  }
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: JsonValue;
  contentType?:
    | 'application/json'
    | 'application/merge-patch+json'
    | 'application/json-patch+json'
    | 'application/strategic-merge-patch+json'
    | 'application/apply-patch+yaml';
  /** Another representation than JSON objects, such as metadata only (`application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`). */
  accept?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: JsonObject;
}

const MAX_RESPONSE = 64 * 1024 * 1024;

/** The error an aborted request or wait ends with, shaped as Node's own. */
const abortError = () => Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });

/**
 * Aborts the request, or its response once there is one. Node's own `signal` option destroys the
 * request even when the response has just been read in full and its keep-alive socket is back in
 * the pool with no error listener: an informer stopping a watch on a 410 event then raised an
 * uncaught exception. A response destroyed after it is complete leaves its socket alone.
 */
function abortWith(req: ClientRequest, signal: AbortSignal | undefined): void {
  if (!signal) return;
  let res: IncomingMessage | undefined;
  const abort = () => {
    const e = abortError();
    if (res) res.destroy(e);
    else req.destroy(e);
  };
  req.once('response', (r: IncomingMessage) => {
    res = r;
    // The reader sees errors while it reads; after it has finished, nobody is left to tell.
    r.on('error', () => {});
    r.once('close', () => signal.removeEventListener('abort', abort));
  });
  if (signal.aborted) abort();
  else signal.addEventListener('abort', abort, { once: true });
}

/** `p`, or an AbortError as soon as `signal` aborts (what `p` waits for keeps its own bound). */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise((resolve, reject) => {
    const abort = () => reject(abortError());
    signal.addEventListener('abort', abort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

export class KubeClient {
  readonly config: KubeConfig;
  #agent: Agent | HttpAgent;

  constructor(config: KubeConfig) {
    this.config = config;
    this.#agent = this.#newAgent();
  }

  /** A plain-HTTP server (`kubectl proxy` on loopback) has no TLS to set up. */
  get #plain(): boolean {
    return this.config.server.startsWith('http:');
  }

  #newAgent(): Agent | HttpAgent {
    const c = this.config;
    const pool = { keepAlive: true, maxSockets: 8, proxyEnv: c.proxyEnv ?? {} };
    if (this.#plain) return new HttpAgent(pool);
    return new Agent({
      ...pool,
      ...(c.tlsServerName ? { servername: c.tlsServerName } : {}),
      ...(c.ca ? { ca: c.ca } : {}),
      ...(c.cert ? { cert: c.cert } : {}),
      ...(c.key ? { key: c.key } : {}),
      rejectUnauthorized: c.insecureSkipTlsVerify !== true,
    });
  }

  /**
   * The credentials for the next request. An exec plugin's client certificate goes on the request:
   * the agent pools sockets per certificate, so a rotated one opens new connections and leaves
   * watches on the old ones running. A static token in the kubeconfig wins over the plugin's, as in kubectl.
   */
  async #credentials(signal: AbortSignal | undefined): Promise<{ token?: string; cert?: string; key?: string }> {
    const exec = this.config.exec;
    const token = this.config.token?.();
    if (!exec) return token ? { token } : {};
    const cred = await abortable(exec.get(), signal);
    return { ...cred, ...(token ? { token } : {}) };
  }

  /** Drops pooled connections and picks up changed credentials (a rotated client certificate). */
  resetConnections(): void {
    this.#agent.destroy();
    this.#agent = this.#newAgent();
  }

  #url(path: string, query?: RequestOptions['query']): URL {
    const url = new URL(this.config.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /** Sends one request; an exec credential the API server refuses (401) is fetched again once. */
  async #open(method: string, path: string, opts: RequestOptions): Promise<IncomingMessage> {
    const cred = await this.#credentials(opts.signal);
    const res = await this.#send(method, path, opts, cred);
    if (res.statusCode !== 401 || !this.config.exec) return res;
    res.resume();
    this.config.exec.invalidate(cred.token);
    return this.#send(method, path, opts, await this.#credentials(opts.signal));
  }

  #send(method: string, path: string, opts: RequestOptions, cred: { token?: string; cert?: string; key?: string }): Promise<IncomingMessage> {
    const url = this.#url(path, opts.query);
    const body = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    return new Promise((resolve, reject) => {
      const req = (this.#plain ? httpRequest : httpsRequest)(url, {
        method,
        agent: this.#agent,
        ...(cred.cert && cred.key && !this.#plain ? { cert: cred.cert, key: cred.key } : {}),
        headers: {
          accept: opts.accept ?? 'application/json',
          'user-agent': 'outrigger',
          ...(cred.token ? { authorization: `Bearer ${cred.token}` } : {}),
          ...(body ? { 'content-type': opts.contentType ?? 'application/json', 'content-length': body.length } : {}),
        },
        ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
      });
      abortWith(req, opts.signal);
      req.on('response', resolve);
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out after ${opts.timeoutMs} ms`)));
      req.end(body);
    });
  }

  /** One JSON request; non-2xx answers throw KubeApiError with the API server's Status message. */
  async request<T = JsonObject>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.#open(method, path, { timeoutMs: 30_000, ...opts });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res) {
      size += (c as Buffer).length;
      if (size > MAX_RESPONSE) {
        res.destroy();
        throw new Error(`${method} ${path}: response larger than ${MAX_RESPONSE} bytes`);
      }
      chunks.push(c as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    let parsed: JsonValue | undefined;
    try {
      parsed = text ? (JSON.parse(text) as JsonValue) : undefined;
    } catch {
      parsed = undefined;
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw new KubeApiError(method, path, status, parsed ?? text);
    return parsed as T;
  }

  /**
   * Streams watch events until the server ends the watch, `signal` aborts, or an error occurs.
   * Resolves when the stream ends normally; a 410 comes as an ERROR event whose object is a Status.
   */
  /**
   * `idleTimeoutMs`: a connection silent for that long is dropped (a dead peer never says so); the
   * server sends bookmarks and ends watches itself well before.
   */
  async watch(path: string, query: RequestOptions['query'], onEvent: (e: WatchEvent) => void, signal?: AbortSignal, idleTimeoutMs?: number): Promise<void> {
    const res = await this.#open('GET', path, {
      query: { ...query, watch: true },
      ...(signal ? { signal } : {}),
      ...(idleTimeoutMs ? { timeoutMs: idleTimeoutMs } : {}),
    });
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      let body: JsonValue | undefined;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonValue;
      } catch {
        body = undefined;
      }
      throw new KubeApiError('WATCH', path, status, body);
    }
    let buffered = '';
    res.setEncoding('utf8');
    for await (const chunk of res) {
      buffered += chunk as string;
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) onEvent(JSON.parse(line) as WatchEvent);
        nl = buffered.indexOf('\n');
      }
    }
  }

  close(): void {
    this.config.exec?.stop();
    this.#agent.destroy();
  }
}
