/**
 * Inputs whose cost once grew faster than their size: globs, quantities, YAML aliases. Each runs
 * through the real engine or parser and must finish within a generous bound.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inject } from '../../src/engine/inject.ts';
import { deepFreeze, type JsonObject } from '../../src/engine/json.ts';
import { profilesFromYaml, profileYaml } from '../support/profiles.ts';

const ctx = { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } };

/** Runs `f` and fails when it takes longer than `ms`; a bound, not a measurement. */
function within<T>(ms: number, what: string, f: () => T): T {
  const start = performance.now();
  const out = f();
  const took = performance.now() - start;
  assert.ok(took < ms, `${what} took ${Math.round(took)} ms, more than the ${ms} ms allowed`);
  return out;
}

const pod = (annotations: Record<string, string>, containers: string[]): JsonObject =>
  deepFreeze({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', annotations },
    spec: { containers: containers.map((name) => ({ name, image: 'app:1' })) },
  }) as JsonObject;

describe('targets globs', () => {
  // As a RegExp (`.*` per star) these took tens of seconds against one 40-character name.
  for (const g of ['*********z', `${'*'.repeat(62)}z`, `${'*?'.repeat(31)}z`]) {
    test(`${g.length}-character glob ${JSON.stringify(g.slice(0, 12))}… against 63-character names`, () => {
      const set = profilesFromYaml(profileYaml('agent', { version: '1', targets: [g], env: [{ name: 'A', value: '1' }] }));
      const names = Array.from({ length: 20 }, (_, i) => `${'a'.repeat(60)}${String(i).padStart(3, '0')}`);
      const d = within(500, 'injection', () => inject(pod({ 'outrigger.dev/inject': 'agent' }, names), set, ctx));
      assert.equal(d.outcome, 'injected', d.message);
      const envs = (d.pod.spec as { containers: { env?: unknown[] }[] }).containers.map((c) => c.env);
      assert.deepEqual(
        envs,
        names.map(() => undefined),
        'no name ends in "z": nothing is targeted',
      );
    });
  }
});
