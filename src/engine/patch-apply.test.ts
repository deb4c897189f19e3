import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deepEqual, type JsonObject, type JsonValue } from '../common/json.ts';
import { type AnyPatchOp, applyPatch, PatchApplyError, patchReproduces } from './patch-apply.ts';
import { diff } from './patch-diff.ts';

const original = (): JsonObject => ({
  metadata: { name: 'p', labels: { app: 'a' }, annotations: { x: '1' } },
  spec: {
    containers: [
      { name: 'app', image: 'nginx', env: [{ name: 'A', value: '1' }] },
      { name: 'other', image: 'busybox' },
    ],
    volumes: [{ name: 'data', emptyDir: {} }],
  },
});

/** The injected pod as the engine builds it: new objects along the changed paths, the rest shared. */
function injected(pod: JsonObject): JsonObject {
  const spec = pod.spec as JsonObject;
  const [app, other] = spec.containers as [JsonObject, JsonObject];
  return {
    ...pod,
    metadata: { ...(pod.metadata as JsonObject), annotations: { x: '1', status: '{}' } },
    spec: {
      ...spec,
      containers: [{ ...app, env: [...(app.env as JsonObject[]), { name: 'B', value: '2' }] }, other],
      initContainers: [{ name: 'sidecar', image: 'envoy', restartPolicy: 'Always' }],
    },
  };
}

test('the self-check accepts the patch the differ derives, also when the expected pod shares nothing with the input', () => {
  const pod = original();
  const want = injected(pod);
  const ops = diff(pod, want);
  assert.ok(ops.length > 0);
  assert.equal(patchReproduces(pod, ops, want), true);
  assert.equal(patchReproduces(pod, ops, structuredClone(want)), true);
  assert.deepEqual(pod, original(), 'the input is not modified');
});

test('the self-check refuses a patch that changes a part the expected pod leaves as it was', () => {
  const pod = original();
  const want = injected(pod);
  const ops = diff(pod, want);
  const wrong: AnyPatchOp[][] = [
    [...ops, { op: 'replace', path: '/spec/containers/1/image', value: 'evil' }],
    [...ops, { op: 'add', path: '/metadata/labels/extra', value: 'x' }],
    [...ops, { op: 'remove', path: '/spec/volumes/0' }],
    [{ op: 'replace', path: '/spec/containers/1/image', value: 'busybox' }, ...ops], // the same value: unchanged, so accepted
  ];
  for (const w of wrong.slice(0, 3)) assert.equal(patchReproduces(pod, w, want), false, JSON.stringify(w.at(-1)));
  assert.equal(patchReproduces(pod, wrong[3] as AnyPatchOp[], want), true);
});

test('the self-check refuses a patch that misses a change, or makes it wrongly', () => {
  const pod = original();
  const want = injected(pod);
  const ops: AnyPatchOp[] = diff(pod, want);
  for (let i = 0; i < ops.length; i++) {
    assert.equal(patchReproduces(pod, ops.toSpliced(i, 1), want), false, `without operation ${i}`);
    const op = ops[i] as AnyPatchOp;
    if ('value' in op) assert.equal(patchReproduces(pod, ops.with(i, { ...op, value: 'other' }), want), false, `operation ${i} with another value`);
  }
  // A change the patch never touches, in a part the expected pod does not share with the input.
  const labels = { ...want, metadata: { ...(want.metadata as JsonObject), labels: { app: 'b' } } };
  assert.equal(patchReproduces(pod, ops, labels), false);
});

test('the self-check refuses a result whose touched object is not an object in the expected pod', () => {
  const ops: AnyPatchOp[] = [{ op: 'replace', path: '/a/b', value: 2 }];
  for (const other of [null, [2], 'b', 2]) assert.equal(patchReproduces({ a: { b: 1 } }, ops, { a: other }), false, JSON.stringify(other));
  assert.equal(patchReproduces({ a: { b: 1 } }, ops, { a: { b: 2 } }), true);
});

test('the self-check refuses an untouched value that the expected pod has as an object or array', () => {
  const ops: AnyPatchOp[] = [{ op: 'add', path: '/b', value: 2 }];
  for (const a of [1, null, 'x']) {
    for (const other of [{}, []]) assert.equal(patchReproduces({ a }, ops, { a: other, b: 2 }), false, `${JSON.stringify(a)} against ${JSON.stringify(other)}`);
  }
});

test('a patch that does not apply is an error, as in applyPatch', () => {
  assert.throws(() => patchReproduces(original(), [{ op: 'add', path: '/spec/missing/x', value: 1 }], original()), PatchApplyError);
});

test('the self-check says what applying and comparing in full says, for random patches and expected pods', () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const paths = [
    '/metadata/labels/app',
    '/metadata/labels/new',
    '/spec/containers/0/image',
    '/spec/containers/1',
    '/spec/containers/0/env/0/value',
    '/spec/volumes/0/emptyDir',
    '/spec/volumes/-',
  ];
  const values: JsonValue[] = ['v', 1, null, { a: [1] }, ['x'], 'nginx'];
  for (let n = 0; n < 500; n++) {
    const pod = original();
    const ops: AnyPatchOp[] = Array.from({ length: 1 + rand(4) }, () => {
      const kind = ['add', 'replace', 'remove', 'copy', 'move', 'test'][rand(6)] as string;
      return {
        op: kind,
        path: paths[rand(paths.length)] as string,
        value: values[rand(values.length)] as JsonValue,
        from: paths[rand(paths.length - 1)] as string,
      };
    });
    let applied: JsonValue;
    try {
      applied = applyPatch(pod, ops);
    } catch {
      assert.throws(() => patchReproduces(pod, ops, pod), PatchApplyError);
      continue;
    }
    const expected = [applied, injected(pod), pod, structuredClone(applied)][rand(4)] as JsonValue;
    assert.equal(patchReproduces(pod, ops, expected), deepEqual(applied, expected), JSON.stringify(ops));
  }
});
