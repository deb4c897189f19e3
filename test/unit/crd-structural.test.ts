import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonObject } from '../../src/common/json.ts';
import { sidecarProfileCrd } from '../../src/profiles/crd.ts';

test('the CRD schema is structural: every node has a type, or is int-or-string or preserves unknown fields; well under the etcd limit', () => {
  const crd = sidecarProfileCrd() as JsonObject;
  const root = ((crd.spec as JsonObject).versions as JsonObject[])[0]?.schema as JsonObject;
  const untyped: string[] = [];
  const walk = (n: JsonObject, p: string) => {
    if (n.type === undefined && n['x-kubernetes-int-or-string'] !== true && n['x-kubernetes-preserve-unknown-fields'] !== true) untyped.push(p);
    for (const [k, v] of Object.entries((n.properties as Record<string, JsonObject>) ?? {})) walk(v, `${p}.${k}`);
    if (n.items) walk(n.items as JsonObject, `${p}[]`);
    if (n.additionalProperties && typeof n.additionalProperties === 'object') walk(n.additionalProperties as JsonObject, `${p}{}`);
  };
  walk(root.openAPIV3Schema as JsonObject, '');
  assert.deepEqual(untyped, []);
  assert.ok(JSON.stringify(crd).length < 512 * 1024);
});
