/**
 * Example-based tests of the RFC 6902 differ and applier (src/engine/patch-diff.ts, patch-apply.ts).
 *
 * The applier follows the API server's JSON Patch library (evanphx/json-patch v4) where RFC 6902
 * leaves room, and is stricter where being stricter is safe: array indices must be canonical
 * (RFC 6901), while evanphx parses them with strconv.Atoi and would also take "01", "+1" or "-1".
 * The differ only ever emits canonical indices, so the difference never shows on the wire.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deepFreeze, type JsonObject, type JsonValue } from '../../src/common/json.ts';
import { inject } from '../../src/engine/inject.ts';
import { type AnyPatchOp, applyPatch, PatchApplyError } from '../../src/engine/patch-apply.ts';
import { diff } from '../../src/engine/patch-diff.ts';
import { exampleProfiles } from '../support/profiles.ts';

const frozen = <T>(v: T): T => deepFreeze(structuredClone(v));
const apply = (doc: JsonValue, ...ops: AnyPatchOp[]) => applyPatch(frozen(doc), ops);

/** Asserts that applying fails with a PatchApplyError for the given op index whose message matches. */
function rejects(doc: JsonValue, ops: AnyPatchOp[], message: RegExp, index = ops.length - 1): void {
  assert.throws(
    () => applyPatch(frozen(doc), ops),
    (e: unknown) => {
      assert.ok(e instanceof PatchApplyError, `expected a PatchApplyError, got ${String(e)}`);
      assert.equal(e.index, index);
      assert.match(e.message, message);
      return true;
    },
  );
}

/** diff(a, b) applied to a gives b, without touching a. */
function roundTrip(a: JsonValue, b: JsonValue) {
  const ops = diff(frozen(a), frozen(b));
  assert.deepStrictEqual(applyPatch(frozen(a), ops), b);
  return ops;
}

describe('applyPatch: add', () => {
  test('adds a new key and replaces an existing one (RFC 6902 §4.1)', () => {
    assert.deepStrictEqual(apply({ a: 1 }, { op: 'add', path: '/b', value: [2] }), { a: 1, b: [2] });
    assert.deepStrictEqual(apply({ a: 1 }, { op: 'add', path: '/a', value: { x: null } }), { a: { x: null } });
  });

  test('under a missing parent fails, as in evanphx/json-patch v4 (the classic /spec/volumes/- bug)', () => {
    const pod = { spec: { containers: [] } };
    rejects(pod, [{ op: 'add', path: '/spec/volumes/-', value: { name: 'v' } }], /parent "volumes" does not exist/);
    rejects(pod, [{ op: 'add', path: '/spec/volumes/0', value: { name: 'v' } }], /parent "volumes" does not exist/);
    rejects(pod, [{ op: 'add', path: '/metadata/labels/app', value: 'x' }], /parent "metadata" does not exist/);
    rejects({}, [{ op: 'add', path: '/a/b/c', value: 1 }], /parent "a" does not exist/);
  });

  test('descending into a scalar or null fails', () => {
    rejects({ a: 'text' }, [{ op: 'add', path: '/a/b', value: 1 }], /not an object or array/);
    rejects({ a: null }, [{ op: 'add', path: '/a/b', value: 1 }], /not an object or array/);
  });

  test('array: index == length appends, "-" appends, 0 inserts in front, index > length fails', () => {
    assert.deepStrictEqual(apply({ l: [1, 2] }, { op: 'add', path: '/l/2', value: 3 }), { l: [1, 2, 3] });
    assert.deepStrictEqual(apply({ l: [1, 2] }, { op: 'add', path: '/l/-', value: 3 }), { l: [1, 2, 3] });
    assert.deepStrictEqual(apply({ l: [] }, { op: 'add', path: '/l/0', value: 'x' }), { l: ['x'] });
    assert.deepStrictEqual(apply({ l: [1, 2] }, { op: 'add', path: '/l/0', value: 0 }), { l: [0, 1, 2] });
    assert.deepStrictEqual(apply({ l: [1, 2] }, { op: 'add', path: '/l/1', value: 9 }), { l: [1, 9, 2] });
    rejects({ l: [1, 2] }, [{ op: 'add', path: '/l/3', value: 3 }], /out of range/);
    rejects({ l: [] }, [{ op: 'add', path: '/l/1', value: 3 }], /out of range/);
  });

  test('array indices must be canonical decimals: leading zeros, signs, exponents and spaces are rejected', () => {
    for (const index of ['01', '00', '+1', '-1', '1e0', ' 1', '1 ', '0x1', '', '1.0']) {
      rejects({ l: [1, 2] }, [{ op: 'add', path: `/l/${index}`, value: 3 }], /invalid array index/);
      rejects({ l: [1, 2] }, [{ op: 'replace', path: `/l/${index}`, value: 3 }], /invalid array index/);
      rejects({ l: [1, 2] }, [{ op: 'remove', path: `/l/${index}` }], /invalid array index/);
    }
  });

  test('a value is required', () => {
    rejects({}, [{ op: 'add', path: '/a' }], /missing "value"/);
  });

  test('an empty path replaces the whole document; the input is untouched', () => {
    const doc = frozen({ a: 1 });
    assert.deepStrictEqual(applyPatch(doc, [{ op: 'add', path: '', value: [1] }]), [1]);
    assert.deepStrictEqual(doc, { a: 1 });
  });
});

describe('applyPatch: remove and replace', () => {
  test('need an existing key', () => {
    rejects({ a: 1 }, [{ op: 'replace', path: '/b', value: 2 }], /missing key "b"/);
    rejects({ a: 1 }, [{ op: 'remove', path: '/b' }], /missing key "b"/);
    rejects({ a: 1 }, [{ op: 'remove', path: '/x/y' }], /parent "x" does not exist/);
    assert.deepStrictEqual(apply({ a: 1, b: 2 }, { op: 'remove', path: '/a' }), { b: 2 });
    assert.deepStrictEqual(apply({ a: 1 }, { op: 'replace', path: '/a', value: [1] }), { a: [1] });
  });

  test('need an existing array element: index == length and "-" fail', () => {
    rejects({ l: [1, 2] }, [{ op: 'replace', path: '/l/2', value: 3 }], /out of range/);
    rejects({ l: [1, 2] }, [{ op: 'remove', path: '/l/2' }], /out of range/);
    rejects({ l: [1, 2] }, [{ op: 'remove', path: '/l/-' }], /invalid array index "-"/);
    rejects({ l: [1, 2] }, [{ op: 'replace', path: '/l/-', value: 3 }], /invalid array index "-"/);
    assert.deepStrictEqual(apply({ l: [1, 2, 3] }, { op: 'remove', path: '/l/1' }), { l: [1, 3] });
    assert.deepStrictEqual(apply({ l: [1, 2, 3] }, { op: 'replace', path: '/l/2', value: 9 }), { l: [1, 2, 9] });
  });

  test('a key holding null exists: it can be replaced and removed', () => {
    assert.deepStrictEqual(apply({ a: null }, { op: 'replace', path: '/a', value: 1 }), { a: 1 });
    assert.deepStrictEqual(apply({ a: null }, { op: 'remove', path: '/a' }), {});
  });

  test('removing the document root fails; replace needs a value', () => {
    rejects({ a: 1 }, [{ op: 'remove', path: '' }], /cannot remove the document root/);
    rejects({ a: 1 }, [{ op: 'replace', path: '/a' }], /missing "value"/);
  });
});

describe('applyPatch: test, move, copy', () => {
  test('test compares structurally (key order does not matter) and fails on a difference or a missing path', () => {
    const doc = { a: { x: 1, y: [1, { z: null }] }, n: 1 };
    assert.deepStrictEqual(apply(doc, { op: 'test', path: '/a', value: { y: [1, { z: null }], x: 1 } }), doc);
    assert.deepStrictEqual(apply(doc, { op: 'test', path: '/n', value: 1.0 }), doc);
    assert.deepStrictEqual(apply(doc, { op: 'test', path: '/a/y/1/z', value: null }), doc);
    rejects(doc, [{ op: 'test', path: '/a/x', value: '1' }], /test failed/);
    rejects(doc, [{ op: 'test', path: '/a/y', value: [1] }], /test failed/);
    rejects(doc, [{ op: 'test', path: '/missing', value: 1 }], /missing key "missing"/);
    rejects(doc, [{ op: 'test', path: '/a/y/2', value: 1 }], /out of range/);
  });

  test('a failed test stops the patch, and the input is unchanged (nothing is applied in place)', () => {
    const doc = frozen({ a: 1 });
    assert.throws(
      () =>
        applyPatch(doc, [
          { op: 'add', path: '/b', value: 2 },
          { op: 'test', path: '/a', value: 2 },
        ]),
      PatchApplyError,
    );
    assert.deepStrictEqual(doc, { a: 1 });
  });

  test('move removes from "from" and adds at "path"', () => {
    assert.deepStrictEqual(apply({ a: { x: 1 }, b: {} }, { op: 'move', from: '/a/x', path: '/b/y' }), { a: {}, b: { y: 1 } });
    assert.deepStrictEqual(apply({ l: [1, 2, 3] }, { op: 'move', from: '/l/0', path: '/l/-' }), { l: [2, 3, 1] });
    assert.deepStrictEqual(apply({ a: 1 }, { op: 'move', from: '/a', path: '/a' }), { a: 1 });
    rejects({ a: 1 }, [{ op: 'move', from: '/missing', path: '/b' }], /missing key "missing"/);
    rejects({ a: { b: {} } }, [{ op: 'move', from: '/a', path: '/a/b/c' }], /into itself/);
    rejects({ a: 1 }, [{ op: 'move', path: '/b' }], /missing "from"/);
  });

  test('copy duplicates a value; changing the copy later leaves the source alone', () => {
    const out = apply(
      { a: { x: [1] } },
      { op: 'copy', from: '/a', path: '/b' },
      { op: 'add', path: '/b/x/-', value: 2 },
      { op: 'add', path: '/b/y', value: true },
    );
    assert.deepStrictEqual(out, { a: { x: [1] }, b: { x: [1, 2], y: true } });
    rejects({ a: 1 }, [{ op: 'copy', from: '/nope', path: '/b' }], /missing key "nope"/);
    rejects({ a: 1 }, [{ op: 'copy', from: '/a', path: '/x/y' }], /parent "x" does not exist/);
  });

  test('a copy of a value already changed in the same patch is its own value', () => {
    const out = apply(
      { a: { x: [1] } },
      { op: 'add', path: '/a/y', value: 1 },
      { op: 'add', path: '/a/x/-', value: 2 },
      { op: 'copy', from: '/a', path: '/b' },
      { op: 'add', path: '/b/z', value: true },
      { op: 'add', path: '/b/x/-', value: 3 },
      { op: 'replace', path: '/a/y', value: 0 },
    );
    assert.deepStrictEqual(out, { a: { x: [1, 2], y: 0 }, b: { x: [1, 2, 3], y: 1, z: true } });
  });

  test('unknown operations and malformed pointers are rejected, naming the failing operation', () => {
    rejects({}, [{ op: 'merge', path: '/a', value: 1 }], /unknown operation "merge"/);
    rejects({}, [{ op: 'add', path: 'a', value: 1 }], /must start with "\/"/);
    rejects(
      { a: 1 },
      [
        { op: 'replace', path: '/a', value: 2 },
        { op: 'remove', path: '/zz' },
      ],
      /patch operation 1 \(remove \/zz\)/,
      1,
    );
  });
});

describe('applyPatch: JSON Pointer escaping', () => {
  test('~1 is "/" and ~0 is "~", decoded in that order', () => {
    const doc = { labels: {} };
    assert.deepStrictEqual(apply(doc, { op: 'add', path: '/labels/example.com~1role', value: 'x' }), { labels: { 'example.com/role': 'x' } });
    assert.deepStrictEqual(apply(doc, { op: 'add', path: '/labels/a~0b', value: 'x' }), { labels: { 'a~b': 'x' } });
    assert.deepStrictEqual(apply(doc, { op: 'add', path: '/labels/~01', value: 'x' }), { labels: { '~1': 'x' } });
    assert.deepStrictEqual(apply(doc, { op: 'add', path: '/labels/', value: 'x' }), { labels: { '': 'x' } });
  });
});

describe('diff', () => {
  test('equal documents give no operations', () => {
    assert.deepStrictEqual(diff({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }), []);
    assert.deepStrictEqual(diff([], []), []);
  });

  test('a pod without volumes gets `add /spec/volumes [..]`, never `/spec/volumes/-`', () => {
    const pod = { spec: { containers: [{ name: 'app', image: 'a' }] } };
    const ops = roundTrip(pod, { spec: { ...pod.spec, volumes: [{ name: 'v', emptyDir: {} }] } });
    assert.deepStrictEqual(ops, [{ op: 'add', path: '/spec/volumes', value: [{ name: 'v', emptyDir: {} }] }]);
  });

  test('a pod with `volumes: []` gets the items added by index; one with volumes gets them appended', () => {
    const v = { name: 'v', emptyDir: {} };
    assert.deepStrictEqual(roundTrip({ spec: { volumes: [] } }, { spec: { volumes: [v] } }), [{ op: 'add', path: '/spec/volumes/0', value: v }]);
    const w = { name: 'w' };
    assert.deepStrictEqual(roundTrip({ spec: { volumes: [w] } }, { spec: { volumes: [w, v] } }), [{ op: 'add', path: '/spec/volumes/1', value: v }]);
  });

  test('injecting log-shipper and envoy into a pod without volumes, init containers or labels creates those lists whole', () => {
    const pod = frozen({
      metadata: { name: 'p', annotations: { 'outrigger.dev/inject': 'log-shipper, envoy' } },
      spec: { containers: [{ name: 'app', image: 'app:1' }] },
    });
    const d = inject(pod as JsonObject, exampleProfiles(), { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } });
    assert.equal(d.outcome, 'injected', d.message);
    assert.deepStrictEqual(applyPatch(pod, d.patch), d.pod);
    const paths = d.patch.map((o) => `${o.op} ${o.path}`);
    for (const p of ['add /spec/volumes', 'add /spec/initContainers', 'add /metadata/labels']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
    assert.ok(!paths.some((p) => p.endsWith('/-')), paths.join(', '));
  });

  test('inserting in front of an array and appending to it', () => {
    const own = { name: 'own-init', image: 'i' };
    const side = { name: 'envoy', image: 'e', restartPolicy: 'Always' };
    assert.deepStrictEqual(roundTrip({ l: [own] }, { l: [side, own] }), [{ op: 'add', path: '/l/0', value: side }]);
    assert.deepStrictEqual(roundTrip({ l: [1, 2] }, { l: [1, 2, 3, 4] }), [
      { op: 'add', path: '/l/2', value: 3 },
      { op: 'add', path: '/l/3', value: 4 },
    ]);
  });

  test('same-length arrays are changed element by element (env appended to each app container)', () => {
    const a: JsonValue = { containers: [{ name: 'a', env: [{ name: 'X' }] }, { name: 'b' }] };
    const b: JsonValue = {
      containers: [
        { name: 'a', env: [{ name: 'X' }, { name: 'Y' }] },
        { name: 'b', env: [{ name: 'Y' }] },
      ],
    };
    assert.deepStrictEqual(roundTrip(a, b), [
      { op: 'add', path: '/containers/0/env/1', value: { name: 'Y' } },
      { op: 'add', path: '/containers/1/env', value: [{ name: 'Y' }] },
    ]);
  });

  test('a changed middle of a different length is removed back to front, then re-added in order', () => {
    const ops = roundTrip({ l: [0, 1, 2, 3, 9] }, { l: [0, 7, 9] });
    assert.deepStrictEqual(ops, [
      { op: 'remove', path: '/l/3' },
      { op: 'remove', path: '/l/2' },
      { op: 'remove', path: '/l/1' },
      { op: 'add', path: '/l/1', value: 7 },
    ]);
    roundTrip({ l: [1, 2, 3] }, { l: [] });
    roundTrip({ l: [] }, { l: [1, 2, 3] });
    roundTrip({ l: [1, 1, 1] }, { l: [1, 1] });
    roundTrip({ l: [1, 2, 1] }, { l: [2, 1, 2, 1, 2] });
  });

  test('removed keys, changed leaves and changed types', () => {
    assert.deepStrictEqual(roundTrip({ a: 1, b: { c: 1, d: 2 } }, { b: { c: 2, d: 2 } }), [
      { op: 'remove', path: '/a' },
      { op: 'replace', path: '/b/c', value: 2 },
    ]);
    assert.deepStrictEqual(roundTrip({ a: [1] }, { a: { 0: 1 } }), [{ op: 'replace', path: '/a', value: { 0: 1 } }]);
    assert.deepStrictEqual(roundTrip({ a: null }, { a: {} }), [{ op: 'replace', path: '/a', value: {} }]);
    assert.deepStrictEqual(roundTrip({ a: 1 }, [1]), [{ op: 'replace', path: '', value: [1] }]);
  });

  test('keys needing escaping are escaped in paths', () => {
    const ops = roundTrip({ metadata: { labels: { 'a~b': 'x' } } }, { metadata: { labels: { 'a~b': 'y', 'example.com/role': 'r', '~1/~0': 'z' } } });
    assert.deepStrictEqual(
      ops.map((o) => o.path),
      ['/metadata/labels/a~0b', '/metadata/labels/example.com~1role', '/metadata/labels/~01~1~00'],
    );
  });

  test('never emits move, copy or test', () => {
    const ops = roundTrip({ a: { x: [1, 2, 3] }, b: 1 }, { b: { x: [1, 2, 3] }, a: 1 });
    assert.ok(ops.every((o) => o.op === 'add' || o.op === 'remove' || o.op === 'replace'));
  });
});

describe('__proto__ and other prototype names are plain keys', () => {
  const parsed = (text: string) => JSON.parse(text) as JsonObject;
  const clean = () => {
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is not polluted');
    assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
  };

  test('add /__proto__ creates an own key and leaves the prototype alone', () => {
    const out = apply({ a: 1 }, { op: 'add', path: '/__proto__', value: { polluted: true } }) as JsonObject;
    assert.ok(Object.hasOwn(out, '__proto__'));
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.equal((out as Record<string, unknown>).polluted, undefined);
    assert.deepStrictEqual(Object.keys(out), ['a', '__proto__']);
    clean();
  });

  test('a path through a missing __proto__ or constructor is a missing parent, not the prototype', () => {
    rejects({ a: {} }, [{ op: 'add', path: '/a/__proto__/polluted', value: true }], /parent "__proto__" does not exist/);
    rejects({}, [{ op: 'add', path: '/constructor/prototype/polluted', value: true }], /parent "constructor" does not exist/);
    rejects({}, [{ op: 'replace', path: '/__proto__', value: {} }], /missing key "__proto__"/);
    rejects({}, [{ op: 'remove', path: '/toString' }], /missing key "toString"/);
    rejects({}, [{ op: 'test', path: '/hasOwnProperty', value: null }], /missing key "hasOwnProperty"/);
    clean();
  });

  test('an own __proto__ key (as JSON.parse makes it) can be written through, replaced and removed', () => {
    const doc = parsed('{"__proto__": {"x": 1}, "b": 2}');
    const through = applyPatch(frozen(doc), [{ op: 'add', path: '/__proto__/polluted', value: true }]) as JsonObject;
    assert.deepStrictEqual(through, parsed('{"__proto__": {"x": 1, "polluted": true}, "b": 2}'));
    const replaced = applyPatch(frozen(doc), [{ op: 'replace', path: '/__proto__', value: 'v' }]) as JsonObject;
    assert.deepStrictEqual(replaced, parsed('{"__proto__": "v", "b": 2}'));
    const removed = applyPatch(frozen(doc), [{ op: 'remove', path: '/__proto__' }]) as JsonObject;
    assert.deepStrictEqual(removed, { b: 2 });
    assert.equal(Object.getPrototypeOf(removed), Object.prototype);
    clean();
  });

  test('diff treats __proto__ as a key and its patch reproduces the document', () => {
    const to = parsed('{"a": 1, "__proto__": {"polluted": true}}');
    const ops = roundTrip({ a: 1 }, to);
    assert.deepStrictEqual(ops, [{ op: 'add', path: '/__proto__', value: { polluted: true } }]);
    assert.deepStrictEqual(roundTrip(to, { a: 1 }), [{ op: 'remove', path: '/__proto__' }]);
    assert.deepStrictEqual(roundTrip(to, parsed('{"a": 1, "__proto__": {"polluted": false}}')), [{ op: 'replace', path: '/__proto__/polluted', value: false }]);
    roundTrip({ constructor: { prototype: 1 } }, { constructor: { prototype: 2 }, toString: 'x', hasOwnProperty: null });
    clean();
  });
});
