import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BodyShare, createBodyBudget } from './body-budget.ts';

const share = (): BodyShare => ({ size: 0, large: false });

test('large bodies together stay within their part; small bodies keep the rest', () => {
  const b = createBodyBudget({ maxBufferedBytes: 100, largeBodyBytes: 10, maxLargeBufferedBytes: 60 });
  const [l1, l2, l3] = [share(), share(), share()];
  assert.equal(b.take(l1, 30), true);
  assert.equal(b.take(l2, 30), true);
  assert.deepEqual(b.held(), { all: 60, large: 60 });
  assert.equal(b.take(l3, 8), true, 'small so far');
  assert.equal(b.take(l3, 5), false, 'would become large: 73 > 60');
  assert.deepEqual(l3, { size: 8, large: false }, 'nothing taken on refusal');
  const small = Array.from({ length: 4 }, share);
  for (const s of small) assert.equal(b.take(s, 8), true);
  assert.deepEqual(b.held(), { all: 100, large: 60 });
  assert.equal(b.take(share(), 1), false, 'the whole budget is full');
  b.release(l1);
  assert.deepEqual(l1, { size: 0, large: false });
  assert.deepEqual(b.held(), { all: 70, large: 30 });
  assert.equal(b.take(l3, 5), true, 'fits once a large body is released');
  assert.deepEqual(b.held(), { all: 75, large: 43 });
});
