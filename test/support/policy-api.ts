/**
 * An in-memory fake of the calls PolicySync makes (server-side apply, list by label, delete), so
 * each path of the reconciler is driven exactly (src/policy/sync*.test.ts);
 * test/e2e/policy-cluster.e2e.test.ts runs it against a real API server.
 */
import assert from 'node:assert/strict';
import type { JsonObject } from '../../src/common/json.ts';
import { KubeApiError, type RequestOptions } from '../../src/kube/client.ts';
import { FIELD_MANAGER } from '../../src/policy/sync.ts';

export class FakeApi {
  readonly objects = new Map<string, JsonObject>();
  readonly calls: string[] = [];
  /** The representation each list asked for. */
  readonly accepts: (string | undefined)[] = [];
  failNext = 0;
  /** Paths whose apply the API server refuses, with the status it answers. */
  readonly refuse = new Map<string, number>();
  version = 0;
  readonly client = {
    request: async (method: string, path: string, opts: RequestOptions = {}): Promise<JsonObject> => {
      this.calls.push(`${method} ${path}`);
      if (this.failNext > 0) {
        this.failNext--;
        throw new KubeApiError(method, path, 503, { reason: 'ServiceUnavailable', message: 'try again' });
      }
      if (method === 'PATCH') {
        assert.equal(opts.contentType, 'application/apply-patch+yaml');
        assert.deepEqual(opts.query, { fieldManager: FIELD_MANAGER, force: true });
        const refused = this.refuse.get(path);
        if (refused) throw new KubeApiError(method, path, refused, { reason: 'Invalid', message: 'spec.variables[3].expression: compilation failed' });
        const body = opts.body as JsonObject;
        const stored = { ...body, metadata: { ...(body.metadata as JsonObject), resourceVersion: String(++this.version) } };
        this.objects.set(path, stored);
        return stored;
      }
      if (method === 'DELETE') {
        if (!this.objects.delete(path)) throw new KubeApiError(method, path, 404, { reason: 'NotFound' });
        return {};
      }
      assert.equal(method, 'GET');
      this.accepts.push(opts.accept);
      const [key, value] = String(opts.query?.labelSelector).split('=');
      const items = [...this.objects]
        .filter(([p, o]) => p.startsWith(`${path}/`) && ((o.metadata as JsonObject).labels as JsonObject)[key as string] === value)
        .map(([, o]) => o);
      return { items } as unknown as JsonObject;
    },
  };
  /** `Kind/name` of every object held, sorted. */
  kinds = () => [...this.objects.values()].map((o) => `${o.kind}/${(o.metadata as JsonObject).name}`).sort();
}
