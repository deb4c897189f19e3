/**
 * A small Kubernetes API server over HTTPS on 127.0.0.1, for tests where the number of objects is
 * the point (tens of thousands: more than a real API server creates within a test's budget). It
 * speaks only what Outrigger's caches use, for namespaces and sidecarprofiles: list (with
 * `limit`/`continue`, objects in key order), watch from a resourceVersion (ADDED/MODIFIED/DELETED,
 * `410 Expired` as an ERROR event when the history no longer reaches back), the status subresource
 * by merge patch, `/version`, and event creation. One resourceVersion counter, as etcd has;
 * `generation` moves only when a spec changes, as for a CRD with a status subresource.
 *
 * Unlike a real server, later pages of a list are read from the live store, not from the first
 * page's snapshot; tests do not write while a list is being read.
 */
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { isObject, type JsonObject, type JsonValue } from '../../src/common/json.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { generateCA, generateServingCert } from '../../src/tls/certs.ts';

export type Resource = 'namespaces' | 'sidecarprofiles';

interface Collection {
  apiVersion: string;
  kind: string;
  objects: Map<string, JsonObject>;
  /** The keys in order, kept between list pages (sorting 10,000 keys per page would stall this process). */
  sorted: string[] | undefined;
  history: { rv: number; line: string }[];
  watchers: Set<ServerResponse>;
}

/** Watch events kept for resuming; older resourceVersions get 410 Expired. */
const HISTORY = 20_000;

const ROUTES: { re: RegExp; resource: Resource; status?: boolean }[] = [
  { re: /^\/api\/v1\/namespaces$/, resource: 'namespaces' },
  { re: /^\/apis\/outrigger\.dev\/v1alpha1\/sidecarprofiles$/, resource: 'sidecarprofiles' },
  { re: /^\/apis\/outrigger\.dev\/v1alpha1\/namespaces\/([^/]+)\/sidecarprofiles\/([^/]+)\/status$/, resource: 'sidecarprofiles', status: true },
];

const keyOf = (o: JsonObject) => {
  const m = o.metadata as JsonObject;
  return `${typeof m.namespace === 'string' ? m.namespace : ''}/${String(m.name)}`;
};

/** RFC 7386 JSON merge patch. */
function mergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class FakeApiServer {
  readonly caPem: string;
  readonly #server: Server;
  #rv = 1;
  readonly #collections: Record<Resource, Collection> = {
    namespaces: { apiVersion: 'v1', kind: 'Namespace', objects: new Map(), sorted: undefined, history: [], watchers: new Set() },
    sidecarprofiles: {
      apiVersion: 'outrigger.dev/v1alpha1',
      kind: 'SidecarProfile',
      objects: new Map(),
      sorted: undefined,
      history: [],
      watchers: new Set(),
    },
  };
  /** Continue tokens carry the epoch they were issued in; an older epoch is answered with 410 Expired. */
  #tokenEpoch = 0;
  /** What was asked, for assertions: list pages, watches opened, status patches. */
  readonly requests = { listPages: 0, expiredContinues: 0, watches: 0, statusPatches: 0 };
  /** Status patches per object key (`namespace/name`). */
  readonly statusPatchesByKey = new Map<string, number>();
  /** Called before each list page is answered, with the number of pages asked for so far. */
  onListPage?: (pages: number) => void;

  private constructor(caPem: string, server: Server) {
    this.caPem = caPem;
    this.#server = server;
  }

  static async start(): Promise<FakeApiServer> {
    const ca = generateCA({ commonName: 'fake-apiserver-ca' });
    const leaf = generateServingCert({ ca, commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const server = createServer({ cert: leaf.certPem, key: leaf.keyPem });
    const self = new FakeApiServer(ca.certPem, server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => self.#handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return self;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  client(): KubeClient {
    return new KubeClient({ server: this.url, ca: this.caPem, namespace: 'default' });
  }

  /** Writes a kubeconfig for this server to `path`. */
  writeKubeconfig(path: string): string {
    const data = Buffer.from(this.caPem).toString('base64');
    writeFileSync(
      path,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: this.url, 'certificate-authority-data': data } }],
        users: [{ name: 'fake', user: { token: 'fake' } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
        'current-context': 'fake',
      }),
    );
    return path;
  }

  get(resource: Resource, key: string): JsonObject | undefined {
    return this.#collections[resource].objects.get(key);
  }

  /** Creates or replaces an object (its status kept, as an update of the main resource does), and tells the watchers. */
  put(resource: Resource, obj: JsonObject): JsonObject {
    const c = this.#collections[resource];
    const key = keyOf(obj);
    const before = c.objects.get(key);
    const beforeMeta = (before?.metadata ?? {}) as JsonObject;
    const specChanged = !before || JSON.stringify(before.spec) !== JSON.stringify(obj.spec);
    const generation = (typeof beforeMeta.generation === 'number' ? beforeMeta.generation : 0) + (specChanged ? 1 : 0);
    const stored: JsonObject = {
      ...obj,
      metadata: { ...(obj.metadata as JsonObject), uid: String(beforeMeta.uid ?? `uid-${key}`), generation, resourceVersion: String(++this.#rv) },
      ...(before?.status !== undefined ? { status: before.status } : {}),
    };
    c.objects.set(key, stored);
    if (!before) c.sorted = undefined;
    this.#emit(c, before ? 'MODIFIED' : 'ADDED', stored);
    return stored;
  }

  delete(resource: Resource, key: string): void {
    const c = this.#collections[resource];
    const before = c.objects.get(key);
    if (!before) return;
    c.objects.delete(key);
    c.sorted = undefined;
    this.#emit(c, 'DELETED', { ...before, metadata: { ...(before.metadata as JsonObject), resourceVersion: String(++this.#rv) } });
  }

  /** Every continue token issued so far expires (as when etcd compacts past the list's snapshot). */
  expireContinueTokens(): void {
    this.#tokenEpoch++;
  }

  /** Drops the watch history, so every watch resumed from an older resourceVersion gets 410 Expired. */
  compact(): void {
    for (const c of Object.values(this.#collections)) c.history = [];
    this.#rv++;
  }

  /** Ends every open watch (as a server does at its watch timeout); informers resume from their resourceVersion. */
  endWatches(): void {
    for (const c of Object.values(this.#collections)) {
      for (const w of c.watchers) w.end();
      c.watchers.clear();
    }
  }

  async stop(): Promise<void> {
    for (const c of Object.values(this.#collections)) for (const w of c.watchers) w.destroy();
    this.#server.closeAllConnections();
    await new Promise((r) => this.#server.close(r));
  }

  #emit(c: Collection, type: string, object: JsonObject): void {
    const line = `${JSON.stringify({ type, object: { apiVersion: c.apiVersion, kind: c.kind, ...object } })}\n`;
    c.history.push({ rv: this.#rv, line });
    if (c.history.length > HISTORY) c.history.splice(0, c.history.length - HISTORY);
    for (const w of c.watchers) w.write(line);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://x');
    const send = (code: number, body: JsonValue) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const route = ROUTES.find((r) => r.re.test(url.pathname));
    const c = route ? this.#collections[route.resource] : undefined;
    if (url.pathname === '/version') send(200, { major: '1', minor: '33', gitVersion: 'v1.33.0-fake' });
    else if (req.method === 'POST' && /\/events$/.test(url.pathname)) req.resume().on('end', () => send(201, {}));
    else if (!route || !c) send(404, status(404, 'NotFound', `${url.pathname} is not served here`));
    else if (route.status && req.method === 'PATCH') this.#patchStatus(req, c, route.re.exec(url.pathname) as RegExpExecArray, send);
    else if (req.method !== 'GET') send(405, status(405, 'MethodNotAllowed', `${req.method} ${url.pathname}`));
    else if (url.searchParams.get('watch') === 'true') this.#watch(c, url, res);
    else this.#list(c, url, send);
  }

  #list(c: Collection, url: URL, send: (code: number, body: JsonValue) => void): void {
    this.requests.listPages++;
    this.onListPage?.(this.requests.listPages);
    const limit = Number(url.searchParams.get('limit') ?? 0);
    const token = url.searchParams.get('continue');
    let after = '';
    if (token) {
      const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { epoch: number; after: string };
      if (t.epoch !== this.#tokenEpoch) {
        this.requests.expiredContinues++;
        send(410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.'));
        return;
      }
      after = t.after;
    }
    c.sorted ??= [...c.objects.keys()].sort();
    const keys = c.sorted;
    let from = 0;
    for (let hi = keys.length; from < hi; ) {
      const mid = (from + hi) >> 1;
      if ((keys[mid] as string) <= after) from = mid + 1;
      else hi = mid;
    }
    const page = keys.slice(from, limit > 0 ? from + limit : undefined);
    const more = limit > 0 && keys.length > from + limit;
    const last = page.at(-1) ?? '';
    send(200, {
      apiVersion: c.apiVersion,
      kind: `${c.kind}List`,
      metadata: {
        resourceVersion: String(this.#rv),
        ...(more ? { continue: Buffer.from(JSON.stringify({ epoch: this.#tokenEpoch, after: last })).toString('base64url') } : {}),
      },
      items: page.map((k) => c.objects.get(k) as JsonObject),
    });
  }

  #watch(c: Collection, url: URL, res: ServerResponse): void {
    this.requests.watches++;
    const from = Number(url.searchParams.get('resourceVersion') ?? 0);
    res.writeHead(200, { 'content-type': 'application/json' });
    const oldest = c.history[0]?.rv ?? this.#rv + 1;
    if (from > 0 && from < oldest - 1 && from < this.#rv) {
      res.end(`${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from}`) })}\n`);
      return;
    }
    for (const h of c.history) if (h.rv > from) res.write(h.line);
    c.watchers.add(res);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      c.watchers.delete(res);
    });
  }

  #patchStatus(req: IncomingMessage, c: Collection, m: RegExpExecArray, send: (code: number, body: JsonValue) => void): void {
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => {
      this.requests.statusPatches++;
      const key = `${m[1]}/${m[2]}`;
      this.statusPatchesByKey.set(key, (this.statusPatchesByKey.get(key) ?? 0) + 1);
      const before = c.objects.get(key);
      if (!before) {
        send(404, status(404, 'NotFound', `sidecarprofiles ${JSON.stringify(m[2])} not found`));
        return;
      }
      const patch = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonObject;
      const stored: JsonObject = {
        ...before,
        metadata: { ...(before.metadata as JsonObject), resourceVersion: String(++this.#rv) },
        status: mergePatch(before.status, patch.status ?? null) as JsonValue,
      };
      c.objects.set(key, stored);
      this.#emit(c, 'MODIFIED', stored);
      send(200, stored);
    });
  }
}

function status(code: number, reason: string, message: string): JsonObject {
  return { apiVersion: 'v1', kind: 'Status', status: 'Failure', code, reason, message };
}
