import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bugMessage, guardNesting, isStackOverflow, MAX_DEPTH, nestsDeeperThan, sentence } from './errors.ts';

/** A value nesting `depth` arrays deep. */
const nested = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};
const overflow = (): never => {
  throw new RangeError('Maximum call stack size exceeded');
};

test('guardNesting: a stack overflow on a value deeper than MAX_DEPTH answers tooDeep', () => {
  assert.equal(
    guardNesting(nested(MAX_DEPTH + 1), overflow, () => 'too deep'),
    'too deep',
  );
});

test('guardNesting: the result when nothing fails; any other failure is thrown on', () => {
  assert.equal(
    guardNesting(
      nested(3),
      () => 'done',
      () => 'too deep',
    ),
    'done',
  );
  assert.throws(() => guardNesting(nested(3), overflow, () => 'too deep'), RangeError, 'an overflow on a shallow value is not about nesting');
  assert.throws(
    () =>
      guardNesting(
        nested(MAX_DEPTH + 1),
        () => assert.fail('boom'),
        () => 'too deep',
      ),
    /boom/,
  );
});

test('nestsDeeperThan counts objects and arrays, not scalars', () => {
  assert.equal(nestsDeeperThan(nested(MAX_DEPTH), MAX_DEPTH), false);
  assert.equal(nestsDeeperThan(nested(MAX_DEPTH + 1), MAX_DEPTH), true);
  assert.equal(nestsDeeperThan(undefined, 0), false);
});

test('the bug message names the failure; sentences come from the table', () => {
  assert.equal(bugMessage(new Error('x is undefined')), 'Outrigger failed on this pod (a bug; please report it): x is undefined');
  assert.equal(bugMessage('thrown text'), 'Outrigger failed on this pod (a bug; please report it): thrown text');
  assert.equal(sentence('internal-error'), 'Outrigger failed while handling the request; this is a bug. Nothing was changed.');
});

test('nestsDeeperThan: a scalar or null nests no deeper than 0, an empty object or array does', () => {
  for (const v of [1, 'x', null, true]) assert.equal(nestsDeeperThan(v, 0), false, JSON.stringify(v));
  assert.equal(nestsDeeperThan({}, 0), true);
  assert.equal(nestsDeeperThan([], 0), true);
  assert.equal(nestsDeeperThan({ a: null, b: 1, c: [] }, 1), true);
  assert.equal(nestsDeeperThan({ a: null, b: 1, c: 'x' }, 1), false);
});

test('isStackOverflow: only a RangeError about the call stack', () => {
  assert.equal(isStackOverflow(new RangeError('Maximum call stack size exceeded')), true);
  assert.equal(isStackOverflow(new RangeError('Invalid array length')), false);
  assert.equal(isStackOverflow(new Error('Maximum call stack size exceeded')), false);
  assert.equal(isStackOverflow('Maximum call stack size exceeded'), false);
});
