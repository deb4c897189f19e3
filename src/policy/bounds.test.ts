/**
 * What compiling one namespace's set may cost the reconciler: a tenant can write as many
 * SidecarProfiles in their namespace as the API server takes, and `serve --admission policy`
 * compiles that namespace's set in a process whose heap the bundle bounds (deploy/manifests.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { NODE_MEMORY_FLAGS } from '../deploy/manifests.ts';

/** Compiles `count` small profiles (an init container, a volume, env for every container, a label each) in a child with the bundle's heap; prints how many it decided and the milliseconds it took. */
const SCRIPT = (count: number) => `
import { profilesFromYaml, profileYaml } from './test/support/profiles.ts';
import { compilePolicies } from './src/policy/compile.ts';
const docs = Array.from({ length: ${count} }, (_, i) => profileYaml('p' + i, {
  version: '1', order: i % 1000, targets: ['*'],
  initContainers: [{ name: 'i' + i, image: 'example.com/i:1' }],
  volumes: [{ name: 'v' + i, emptyDir: {} }],
  env: [{ name: 'E' + i, value: 'x' }],
  metadata: { labels: { ['example.com/l' + i]: 'x' } },
}));
const set = profilesFromYaml(docs.join('\\n---\\n'));
const start = Date.now();
const out = compilePolicies(set, { major: 1, minor: 37 });
console.log(out.compiled.length + out.refusals.length, Date.now() - start);
`;
const run = (count: number) =>
  spawnSync(process.execPath, [...NODE_MEMORY_FLAGS, '--input-type=module', '-e', SCRIPT(count)], { encoding: 'utf8', timeout: 120_000 });

describe('outrigger policy: the cost of compiling a namespace with many profiles', () => {
  it("a namespace with 200 small profiles compiles within the bundle's heap", () => {
    const r = run(200);
    assert.equal(r.status, 0, `exit ${r.status} ${r.signal ?? ''}: ${r.stderr.split('\n').slice(0, 8).join('\n')}`);
    assert.equal(r.stdout.split(' ')[0], '200');
  });
  it('a namespace with 6,000 small profiles compiles in a few seconds, not minutes: the work grows with the profiles, not with their square', () => {
    const r = run(6000);
    assert.equal(r.status, 0, `exit ${r.status} ${r.signal ?? ''}: ${r.stderr.split('\n').slice(0, 8).join('\n')}`);
    const [decided, ms] = r.stdout.trim().split(' ').map(Number);
    assert.equal(decided, 6000);
    // Quadratic, it took 30 s on the machine where 6,000 small profiles now take about 2.
    assert.ok((ms ?? Infinity) < 10_000, `${ms} ms`);
  });
});
