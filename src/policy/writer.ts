/**
 * The writes of policy mode's reconciler (sync.ts): server-side apply of Outrigger's own objects,
 * skipped when this replica applied the same object and the cluster still holds it as it was
 * left; listing what this installation owns (metadata only: the policies' CEL stays on the API
 * server); deleting what no profile needs. Only the elected replica writes, and it checks that it
 * still is before each write.
 */
import { createHash } from 'node:crypto';
import type { JsonObject } from '../common/json.ts';
import { POLICY_RESOURCES, SYNCED_BY_LABEL } from '../common/labels.ts';
import { KubeApiError, type KubeClient } from '../kube/client.ts';
import { POLICY_API_VERSION } from './objects.ts';

export const FIELD_MANAGER = 'outrigger';
const BASE = `/apis/${POLICY_API_VERSION}`;
const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
export const POLICIES = POLICY_RESOURCES.filter((r) => !r.kind.endsWith('Binding'));
export const BINDINGS = POLICY_RESOURCES.filter((r) => r.kind.endsWith('Binding'));
export type Resources = readonly (typeof POLICY_RESOURCES)[number][];

/** What one pass has found out: what the cluster holds (path → resourceVersion), and the units the API server refused. */
export interface Pass {
  held: Map<string, unknown>;
  failed: Map<string, string>;
  /** The failed units whose failure was not a refusal (400, 422): they may succeed when retried. */
  passing?: Set<string>;
  retry?: string;
  /** The paths this pass may delete. */
  inScope: (path: string) => boolean;
}

export class NotLeader extends Error {}

export type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export const nameOf = (o: JsonObject) => (o.metadata as JsonObject).name as string;
export const pathOf = (o: JsonObject) => {
  const r = POLICY_RESOURCES.find((x) => x.kind === o.kind);
  if (!r) throw new Error(`policy sync: unexpected kind ${String(o.kind)}`);
  return `${BASE}/${r.plural}/${nameOf(o)}`;
};
export const isBindingPath = (path: string) => BINDINGS.some((r) => path.startsWith(`${BASE}/${r.plural}/`));
const digest = (text: string) => createHash('sha256').update(text).digest('base64');

export class PolicyWriter {
  readonly #client: KubeClient;
  readonly #owner: string;
  readonly #leader: () => boolean;
  readonly #log: Log | undefined;
  /** A digest of what was applied to each path and the resourceVersion it got (a digest: a namespace's policies are large, and there may be many). */
  readonly #applied = new Map<string, { digest: string; resourceVersion: unknown }>();

  constructor(client: KubeClient, owner: string, leader: () => boolean, log?: Log) {
    this.#client = client;
    this.#owner = owner;
    this.#leader = leader;
    this.#log = log;
  }

  /** The metadata of every object this installation owns. */
  async list(): Promise<Map<string, unknown>> {
    const held = new Map<string, unknown>();
    for (const r of POLICY_RESOURCES) {
      const list = await this.#client.request<{ items?: JsonObject[] }>('GET', `${BASE}/${r.plural}`, {
        query: { labelSelector: `${SYNCED_BY_LABEL}=${this.#owner}` },
        accept: METADATA_LIST,
      });
      for (const o of list.items ?? []) held.set(`${BASE}/${r.plural}/${nameOf(o)}`, (o.metadata as JsonObject).resourceVersion);
    }
    return held;
  }

  /** What this replica wrote, for a pass that lists nothing (the periodic pass lists, and puts back hand edits). */
  known(): Map<string, unknown> {
    return new Map([...this.#applied].map(([path, a]) => [path, a.resourceVersion]));
  }

  /** Whether the cluster holds these paths as this replica left them. */
  intact(paths: readonly string[], held: ReadonlyMap<string, unknown>): boolean {
    return paths.every((p) => held.has(p) && held.get(p) === this.#applied.get(p)?.resourceVersion);
  }

  /** Applies a unit's objects of these kinds, in that order; false (and the unit failed) when one cannot be. */
  async applyUnit(pass: Pass, key: string, objects: readonly JsonObject[], resources: Resources, shape = (o: JsonObject) => o): Promise<boolean> {
    if (pass.failed.has(key)) return false;
    try {
      for (const r of resources) for (const o of objects.filter((x) => x.kind === r.kind)) await this.#apply(shape(o), pass.held);
      return true;
    } catch (e) {
      if (e instanceof NotLeader || !this.#leader()) throw new NotLeader();
      // Refused (400, 422): the unit is removed with everything else not wanted, a profile served whole
      // or not at all. Anything else may pass: the unit is kept as served and the pass retried.
      pass.failed.set(key, (e as Error).message);
      if (!(e instanceof KubeApiError && (e.status === 400 || e.status === 422))) {
        pass.retry ??= (e as Error).message;
        pass.passing ??= new Set();
        pass.passing.add(key);
      }
      return false;
    }
  }

  async #apply(o: JsonObject, held: Map<string, unknown>): Promise<void> {
    const path = pathOf(o);
    const sum = digest(JSON.stringify(o));
    const last = this.#applied.get(path);
    // Unchanged since this replica applied it, and still there as it left it: nothing to write.
    if (last && last.digest === sum && held.has(path) && held.get(path) === last.resourceVersion) return;
    if (!this.#leader()) throw new NotLeader();
    // Server-side apply, forced: these objects are Outrigger's own, whoever edited them since.
    const r = await this.#client.request('PATCH', path, {
      query: { fieldManager: FIELD_MANAGER, force: true },
      body: o,
      contentType: 'application/apply-patch+yaml',
    });
    const resourceVersion = (r.metadata as JsonObject | undefined)?.resourceVersion;
    this.#applied.set(path, { digest: sum, resourceVersion });
    held.set(path, resourceVersion);
    this.#log?.('info', 'applied an admission policy', { path });
  }

  /** Deletes what the pass covers (and `also`: what failed units left) and `keep` lacks: bindings only, or everything, bindings first. */
  async deleteUnwanted(pass: Pass, keep: ReadonlySet<string>, bindingsOnly: boolean, also: readonly string[] = []): Promise<void> {
    const candidates = new Set([...pass.held.keys()].filter(pass.inScope));
    for (const p of also) if (pass.held.has(p)) candidates.add(p);
    const order = [...candidates].filter((p) => !keep.has(p) && (!bindingsOnly || isBindingPath(p)));
    // Bindings first, the validating ones before the mutating ones: a validating policy left bound
    // without its mutating one would deny the pods it expects injected.
    const rank = (p: string) => (isBindingPath(p) ? (p.includes('/validatingadmissionpolicybindings/') ? 0 : 1) : 2);
    for (const path of order.sort((a, b) => rank(a) - rank(b))) {
      if (!this.#leader()) throw new NotLeader();
      await this.#client.request('DELETE', path).catch((e) => {
        if (!(e instanceof KubeApiError && e.status === 404)) throw e;
      });
      this.#applied.delete(path);
      pass.held.delete(path);
      this.#log?.('info', 'deleted an admission policy no profile needs', { path });
    }
  }
}
