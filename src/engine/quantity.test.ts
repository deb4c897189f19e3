import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_QUANTITY_LENGTH, parseQuantity } from './quantity.ts';

test('quantities compare the way the API server compares them', () => {
  assert.equal(parseQuantity('1500m'), parseQuantity('1.5'));
  assert.equal(parseQuantity('1Ki'), parseQuantity('1024'));
  assert.equal(parseQuantity('1e3'), parseQuantity('1k'));
  assert.equal(parseQuantity('12x'), undefined);
});

test('the widest int64 quantity with nano precision fits; anything past the length cap is not a quantity', () => {
  assert.notEqual(parseQuantity('-9223372036854775807.999999999'), undefined);
  assert.notEqual(parseQuantity(`${'0'.repeat(MAX_QUANTITY_LENGTH - 3)}1Gi`), undefined);
  assert.equal(parseQuantity(`${'0'.repeat(MAX_QUANTITY_LENGTH - 2)}1Gi`), undefined);
});
