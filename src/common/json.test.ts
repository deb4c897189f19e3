import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deepEqual, deepFreeze, type JsonValue, nameOf, setOwn } from './json.ts';

test('deepEqual compares structure, not identity', () => {
  assert.equal(deepEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }), true);
  assert.equal(deepEqual({ a: 1, b: 2 }, { b: 2, a: 1 }), true);
  assert.equal(deepEqual([1, 2], [1, 2]), true);
  assert.equal(deepEqual([1, 2], [1, 3]), false);
  assert.equal(deepEqual([1, 2], [1]), false);
  assert.equal(deepEqual({ a: 1 }, { a: 1, b: 2 }), false);
  assert.equal(deepEqual({ a: { b: 1 } }, { a: { b: 2 } }), false);
});

test('deepEqual: an object equals no scalar, null or array, whichever side it is on', () => {
  const pairs: [unknown, unknown][] = [
    [{}, 1],
    [1, {}],
    [{}, 'x'],
    [{}, null],
    [null, {}],
    [[], null],
    [null, []],
    [{}, []],
    [[], {}],
    [{ 0: 1 }, [1]],
    [[1], { 0: 1 }],
  ];
  for (const [a, b] of pairs) assert.equal(deepEqual(a, b), false, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
});

test('deepEqual: objects with as many keys but different ones differ, even when their values are undefined', () => {
  assert.equal(deepEqual({ a: 1 }, { b: 1 }), false);
  assert.equal(deepEqual({ a: undefined }, { b: undefined }), false);
  assert.equal(deepEqual({ a: undefined }, { a: undefined }), true);
});

test('deepFreeze freezes every nested object and array in place and returns the value', () => {
  const v = { a: { b: [{ c: 1 }] }, d: [[2]] };
  assert.equal(deepFreeze(v), v);
  for (const x of [v, v.a, v.a.b, v.a.b[0], v.d, v.d[0]]) assert.equal(Object.isFrozen(x), true, JSON.stringify(x));
  assert.throws(() => {
    (v.a.b[0] as { c: number }).c = 2;
  }, TypeError);
});

test('deepFreeze passes scalars and null through', () => {
  assert.equal(deepFreeze(null), null);
  assert.equal(deepFreeze(3), 3);
  assert.equal(deepFreeze('x'), 'x');
});

test('deepFreeze takes a frozen value as frozen throughout and does not walk it again', () => {
  const inner = { b: 1 };
  const shared = Object.freeze({ inner });
  deepFreeze({ shared });
  assert.equal(Object.isFrozen(inner), false);
});

test('setOwn sets __proto__ as an ordinary own property: enumerable, writable and deletable', () => {
  const o: Record<string, unknown> = {};
  setOwn(o, '__proto__', { polluted: true });
  assert.equal(Object.getPrototypeOf(o), Object.prototype);
  assert.deepEqual(Object.keys(o), ['__proto__']);
  assert.equal(JSON.stringify(o), '{"__proto__":{"polluted":true}}');
  setOwn(o, '__proto__', 1);
  assert.equal(Object.getOwnPropertyDescriptor(o, '__proto__')?.value, 1);
  assert.deepEqual(Object.getOwnPropertyDescriptor(o, '__proto__'), { value: 1, writable: true, enumerable: true, configurable: true });
  assert.equal(Reflect.deleteProperty(o, '__proto__'), true);
  assert.deepEqual(Object.keys(o), []);
  setOwn(o, 'a', 2);
  assert.deepEqual(o, { a: 2 });
});

test('nameOf: the string name of an object, else undefined', () => {
  assert.equal(nameOf({ name: 'app' }), 'app');
  const others: JsonValue[] = [{ name: 1 }, { name: null }, {}, null, 'app', ['app'], 3];
  for (const v of others) assert.equal(nameOf(v), undefined, JSON.stringify(v));
});
