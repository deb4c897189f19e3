/** The API server's expression length bound, and the profiles refused for it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import type { JsonObject } from '../common/json.ts';
import { MAX_OBJECT_BYTES } from '../engine/pod-size.ts';
import { compilePolicies } from './compile.ts';
import { codePoints, largestObject, longestExpression, MAX_EXPRESSION_CODE_POINTS, MAX_POLICY_BYTES, MAX_SET_PROFILES } from './size.ts';

const KUBE = { major: 1, minor: 36 };
const compile = (...docs: [string, object][]) => compilePolicies(profilesFromYaml(docs.map(([n, s]) => profileYaml(n, s)).join('\n---\n')), KUBE);
const side = (name: string, extra: object = {}) => ({ version: '1', order: 1, containers: [{ name, image: `example.com/${name}:1` }], ...extra });
/** A profile whose env, given to every container, makes an expression of several hundred thousand code points. */
const huge = (name: string, order: number) =>
  side(name, { order, targets: ['*'], env: Array.from({ length: 3000 }, (_, i) => ({ name: `${name.toUpperCase()}_${i}`, value: 'x' })) });

/** n small profiles, each a sidecar, a volume, and env and a mount in every container. */
const smallProfiles = (n: number) =>
  Array.from({ length: n }, (_, i): [string, object] => [
    `p${i}`,
    side(`side-${i}`, {
      order: i,
      volumes: [{ name: `v${i}`, emptyDir: {} }],
      volumeMounts: [{ name: `v${i}`, mountPath: `/p${i}` }],
      env: [{ name: `P${i}`, value: 'on' }],
      targets: ['*'],
      initContainerTargets: ['*'],
    }),
  ]);

describe('outrigger policy: the API server’s bound on one expression', () => {
  it('counts code points as the API server does: a surrogate pair is one, a lone surrogate one', () => {
    assert.equal(codePoints('abc'), 3);
    assert.equal(codePoints('a😀b'), 3);
    assert.equal(codePoints('\ud83d'), 1);
    assert.equal(codePoints('\ude00\ud83d'), 2);
    assert.equal(codePoints('😀😀'), 2);
  });
  it('finds the longest expression and says where it is', () => {
    const objects: JsonObject[] = [
      {
        kind: 'MutatingAdmissionPolicy',
        metadata: { name: 'm' },
        spec: {
          variables: [
            { name: 'a', expression: 'x' },
            { name: 'b', expression: 'xyz' },
          ],
        },
      },
      { kind: 'ValidatingAdmissionPolicy', metadata: { name: 'v' }, spec: { validations: [{ expression: 'xy', messageExpression: 'xyzw' }] } },
    ];
    assert.deepEqual(longestExpression(objects), { where: 'ValidatingAdmissionPolicy v spec.validations[0].messageExpression', codePoints: 4 });
    assert.equal(longestExpression([{ kind: 'X', spec: {} }]), undefined);
  });
  it('a profile whose policy would be too long is refused, alone or after others; the ones that fit are compiled', () => {
    const alone = compile(['big', huge('big', 1)]);
    assert.deepEqual(alone.compiled, []);
    assert.deepEqual(alone.objects, []);
    assert.equal(alone.refusals.length, 1);
    assert.equal(alone.refusals[0]?.path, 'spec');
    assert.match(alone.refusals[0]?.why ?? '', /^its policy would hold a CEL expression of \d+ code points \(MutatingAdmissionPolicy outrigger-big spec\./);

    const out = compile(['a', side('a', { order: 1 })], ['big', huge('big', 2)], ['c', side('c', { order: 3 })]);
    assert.deepEqual(out.compiled, ['a', 'c']);
    assert.deepEqual(
      out.refusals.map((r) => [r.profile, r.path]),
      [['big', 'spec']],
    );
    assert.match(
      out.refusals[0]?.why ?? '',
      /^with the profiles before it \("a"\), the set's policy would hold a CEL expression of \d+ code points .* at most 100000/,
    );
    const longest = longestExpression(out.objects);
    assert.ok(longest && longest.codePoints <= MAX_EXPRESSION_CODE_POINTS);
    assert.equal(out.objects.length, 6, 'the set of a and c, and the unknown-profiles policy');
  });
  it('a set grows by one profile’s expressions: thirty-two small profiles fit, in objects the API server stores', () => {
    const docs = smallProfiles(MAX_SET_PROFILES);
    const out = compile(...docs);
    assert.deepEqual(out.refusals, []);
    assert.equal(out.compiled.length, 32);
    assert.ok((longestExpression(out.objects)?.codePoints ?? 0) <= MAX_EXPRESSION_CODE_POINTS);
    assert.ok((largestObject(out.objects)?.bytes ?? 0) <= MAX_POLICY_BYTES);
  });
  it('every object compiled fits in what the API server stores (1.5 MiB): a set of 64 small profiles, or the profiles that would not fit refused', () => {
    const docs = smallProfiles(64);
    const out = compile(...docs);
    for (const o of out.objects) {
      const bytes = Buffer.byteLength(JSON.stringify(o));
      assert.ok(bytes <= MAX_OBJECT_BYTES, `${o.kind} ${(o.metadata as JsonObject).name}: ${bytes} bytes, more than ${MAX_OBJECT_BYTES}`);
    }
    assert.equal(out.compiled.length + out.refusals.length, 64);
    // The profiles after the first thirty-two are refused without their set being compiled.
    assert.deepEqual(
      out.refusals.map((r) => r.profile),
      Array.from({ length: 32 }, (_, i) => `p${i + 32}`),
    );
    assert.match(out.refusals[0]?.why ?? '', /^a set holds at most 32 profiles/);
  });
  it('a set whose objects would be too large keeps the profiles that fit, in order', () => {
    // Each profile's env for every container grows the set's record by some thousands of bytes.
    const wide = (i: number) =>
      side(`w-${i}`, { order: i, targets: ['*'], env: Array.from({ length: 120 }, (_, j) => ({ name: `W${i}_${j}`, value: 'x'.repeat(40) })) });
    const out = compile(...Array.from({ length: 24 }, (_, i): [string, object] => [`w${i}`, wide(i)]));
    assert.ok(out.compiled.length > 0 && out.refusals.length > 0, `${out.compiled.length} compiled, ${out.refusals.length} refused`);
    assert.match(out.refusals[0]?.why ?? '', /the set's policy would be \d+ bytes .* stores at most 1507328/);
    assert.ok((largestObject(out.objects)?.bytes ?? 0) <= MAX_POLICY_BYTES);
  });
});
