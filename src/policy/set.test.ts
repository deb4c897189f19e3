/**
 * Sets of several profiles: which profiles meet in the merge and are refused, and how each
 * profile's variables share the set's one policy. What the set's policy does to pods is proven
 * against a real API server (test/e2e/policy.e2e.test.ts, the set of three).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import type { JsonObject } from '../engine/index.ts';
import { compilePolicies } from './compile.ts';
import { WHY } from './refusals.ts';
import { renamed } from './rename.ts';

const KUBE = { major: 1, minor: 36 };
const compile = (...docs: [string, object][]) => compilePolicies(profilesFromYaml(docs.map(([n, s]) => profileYaml(n, s)).join('\n---\n')), KUBE);
const side = (name: string, extra: object = {}) => ({ version: '1', order: 1, containers: [{ name, image: `example.com/${name}:1` }], ...extra });
const refused = (out: ReturnType<typeof compile>) => out.refusals.map((r) => [r.profile, r.path, r.why]);

describe('outrigger policy: sets of several profiles', () => {
  it('a later profile with failurePolicy ignore is refused; after an ignore profile every other is', () => {
    assert.deepEqual(refused(compile(['a', side('a')], ['b', side('b', { failurePolicy: 'ignore' })])), [['b', 'spec.failurePolicy', WHY.ignoreInSet('a')]]);
    const out = compile(['a', side('a', { failurePolicy: 'ignore' })], ['b', side('b')]);
    assert.deepEqual(out.compiled, ['a']);
    assert.deepEqual(refused(out), [['b', 'spec.order', WHY.afterIgnore('a')]]);
  });
  it('an item an earlier profile also adds is compiled: settled against the earlier one where it adds it', () => {
    const out = compile(
      [
        'a',
        side('x', { volumes: [{ name: 'v', emptyDir: {} }], metadata: { labels: { l: '1' }, annotations: { n: '1' } }, imagePullSecrets: [{ name: 's' }] }),
      ],
      [
        'b',
        {
          version: '1',
          order: 2,
          initContainers: [{ name: 'x', image: 'i' }],
          volumes: [{ name: 'v', emptyDir: {} }],
          imagePullSecrets: [{ name: 's' }],
          metadata: { labels: { l: '1' }, annotations: { n: "{{ pod.labels['n'] ?? '1' }}" } },
        },
      ],
    );
    assert.deepEqual(refused(out), []);
    assert.deepEqual(out.compiled, ['a', 'b']);
    const variables = ((out.objects[0] as JsonObject).spec as { variables: { name: string; expression: string }[] }).variables;
    const state = (name: string) => variables.find((v) => v.name === name)?.expression ?? '';
    // b's items: the init container x clashes with a's sidecar x; the volume, the pull secret and
    // the label are a's, identical; the annotation is compared when the pod is known.
    const adds = (item: string) => `(variables.p0_wanted && variables.p0_${item} == 'add' ? `;
    assert.ok(state('p1_item0').startsWith(`${adds('item0')}'conflict' : (`), state('p1_item0'));
    assert.ok(state('p1_item1').startsWith(`${adds('item1')}'same' : (`));
    assert.ok(state('p1_item2').startsWith(`${adds('item2')}'same' : (`));
    assert.ok(state('p1_item3').startsWith(`${adds('item3')}'same' : (`));
    assert.ok(state('p1_item4').startsWith(`${adds('item4')}(dyn("1") == dyn(`), state('p1_item4'));
    // The fallback is b's own state, read from the pod (renamed into b's variables).
    assert.match(state('p1_item1'), /: \(.*variables\.volumeNames.*\)\)$/);
    // a's items read the pod alone.
    assert.ok(!state('p0_item1').includes('p0_wanted'));
  });
  it('env names, mountPaths and envFrom sources an earlier profile gives the same kind of targets are settled against its own', () => {
    let n = 0;
    const targeted = (env: string, path: string, extra: object = {}) => {
      const volume = `v${n++}`;
      return {
        volumes: [{ name: volume, emptyDir: {} }],
        env: [{ name: env, value: '1' }],
        envFrom: [{ configMapRef: { name: 'cm' } }],
        volumeMounts: [{ name: volume, mountPath: path }],
        ...extra,
      };
    };
    const out = compile(['a', side('a', targeted('A', '/a', { targets: ['*'] }))], ['b', side('b', targeted('A', '/a', { targets: ['app'] }))]);
    assert.deepEqual(refused(out), []);
    assert.deepEqual(out.compiled, ['a', 'b']);
    const variables = ((out.objects[0] as JsonObject).spec as { variables: { name: string; expression: string }[] }).variables;
    const targets = variables.find((v) => v.name === 'p1_targets')?.expression ?? '';
    // In a container a gave them to: the env entry compares with a's (equal: 'same'), the mount
    // with a's (another volume: 'conflict'), the envFrom source equal to a's is left out.
    const gave = (list: string) => `variables.p0_wanted && variables.p0_targets.exists(u, u.i == i && ${list})`;
    assert.ok(targets.includes(`(${gave("u.env[0] == 'add'")} ? 'same' : (`), targets);
    assert.ok(targets.includes(`(${gave("u.mounts[0] == 'add'")} ? 'conflict' : (`), targets);
    assert.ok(targets.includes(`(${gave('u.envFrom[0]')} ? false : (`), targets);
    assert.ok(!(variables.find((v) => v.name === 'p0_targets')?.expression ?? '').includes('p0_wanted'), "a's targets read the pod alone");
    // Different env names on the same targets, or the same ones on other kinds of targets, compile.
    assert.deepEqual(
      compile(['a', side('a', targeted('A', '/a', { targets: ['*'] }))], ['b', side('b', targeted('B', '/b', { targets: ['*'], envFrom: [] }))]).compiled,
      ['a', 'b'],
    );
    assert.deepEqual(
      compile(['a', side('a', targeted('A', '/a', { targets: ['*'] }))], ['b', side('b', targeted('A', '/a', { targets: [], initContainerTargets: ['*'] }))])
        .compiled,
      ['a', 'b'],
    );
  });
  it("each profile's variables are its own, after the shared ones, and the set decides before it applies", () => {
    const out = compile(['a', side('a', { targets: ['*'], env: [{ name: 'A', value: 'variables.wanted' }] })], ['b', side('b', { order: 0 })]);
    const map = (out.objects[0] as JsonObject).spec as { variables: { name: string; expression: string }[] };
    const names = map.variables.map((v) => v.name);
    assert.deepEqual(names.slice(0, 10), [
      'injectList',
      'optedOut',
      'injectParts',
      'injectNames',
      'initNames',
      'containerNames',
      'volumeNames',
      'pullSecretNames',
      'unknownRequested',
      'unknownDenial',
    ]);
    assert.ok(names.includes('p0_wanted') && names.includes('p1_targets') && names.includes('p1_denial'));
    assert.deepEqual(names.slice(-14), [
      'tooMany',
      'denial',
      'apply',
      'p0_apply',
      'p1_apply',
      'p0_setTargetPatch',
      'p0_setItemPatch',
      'p0_setRecordEntry',
      'p0_setRecordCreated',
      'p1_setTargetPatch',
      'p1_setItemPatch',
      'p1_setRecordEntry',
      'p1_setRecordCreated',
      'record',
    ]);
    // b (order 0) is the first profile: its sidecar is p0's.
    assert.match(map.variables.find((v) => v.name === 'p0_item0')?.expression ?? '', /"b"/);
    // The profile's own text is not a variable.
    assert.ok(JSON.stringify(map).includes('\\"variables.wanted\\"'));
  });
  it('renames only references outside string literals', () => {
    const own = new Set(['wanted', 'item1']);
    assert.equal(
      renamed(`variables.wanted && "variables.wanted" == 'variables.item1\\'' && variables.item10 == variables.item1 && xvariables.wanted`, own, 'p2_'),
      `variables.p2_wanted && "variables.wanted" == 'variables.item1\\'' && variables.item10 == variables.p2_item1 && xvariables.wanted`,
    );
  });
});
