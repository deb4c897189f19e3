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

test('every suffix, decimal and binary, against the plain number it stands for', () => {
  const same: [string, string][] = [
    ['1n', '0.000000001'],
    ['1u', '0.000001'],
    ['1m', '0.001'],
    ['1k', '1000'],
    ['1M', '1000000'],
    ['1G', '1e9'],
    ['1T', '1e12'],
    ['1P', '1e15'],
    ['1E', '1e18'],
    ['1Ki', '1024'],
    ['1Mi', '1048576'],
    ['1Gi', '1073741824'],
    ['1Ti', '1099511627776'],
    ['1Pi', '1125899906842624'],
    ['1Ei', '1152921504606846976'],
  ];
  for (const [a, b] of same) {
    assert.notEqual(parseQuantity(a), undefined, a);
    assert.equal(parseQuantity(a), parseQuantity(b), `${a} = ${b}`);
  }
  // Scaled by 10^30: one is 10^30, a milli is 10^27.
  assert.equal(parseQuantity('1'), 10n ** 30n);
  assert.equal(parseQuantity('1m'), 10n ** 27n);
  assert.equal(parseQuantity('0'), 0n);
});

test('signs, fractions and exponents', () => {
  assert.equal(parseQuantity('-1'), -(10n ** 30n));
  assert.equal(parseQuantity('+1'), 10n ** 30n);
  assert.equal(parseQuantity('-1.5Gi'), -(3n * 512n * 1024n * 1024n * 10n ** 30n));
  assert.equal(parseQuantity('.5'), parseQuantity('500m'));
  assert.equal(parseQuantity('5.'), parseQuantity('5'));
  assert.equal(parseQuantity('0.1'), parseQuantity('100m'));
  assert.equal(parseQuantity('1E3'), parseQuantity('1000'));
  assert.equal(parseQuantity('15e-1'), parseQuantity('1.5'));
  assert.equal(parseQuantity('1e+2'), parseQuantity('100'));
  assert.equal(parseQuantity('1e60'), 10n ** 90n);
  assert.equal(parseQuantity('1e-60'), 0n, 'below the scale: rounds towards zero');
  assert.equal(parseQuantity('1e61'), undefined, 'an exponent past 60 is refused');
  assert.equal(parseQuantity('1e-61'), undefined);
  // Below 10^-30 the fraction is cut, never rounded up.
  assert.equal(parseQuantity(`0.${'0'.repeat(30)}9`), 0n);
  assert.equal(parseQuantity(`0.${'0'.repeat(29)}19`), 1n);
});

test('requests above limits compare as the API server compares them', () => {
  const gt = (a: string, b: string) => (parseQuantity(a) as bigint) > (parseQuantity(b) as bigint);
  assert.equal(gt('101m', '0.1'), true);
  assert.equal(gt('100m', '0.1'), false);
  assert.equal(gt('1Gi', '1G'), true);
  assert.equal(gt('1000Mi', '1Gi'), false);
});

test('what is not a quantity', () => {
  for (const q of ['', ' ', '1 ', '1.2.3', '1Kb', 'Ki', '1ki', '--1', '1e', '1e1.5', '0x10', '1Mi1', 'e3', '.', '1K', '+-1'])
    assert.equal(parseQuantity(q), undefined, JSON.stringify(q));
});

test('the answer is the same the second time (and for a long string that is not remembered)', () => {
  for (const q of ['250m', `${'0'.repeat(45)}1`, '12x']) assert.equal(parseQuantity(q), parseQuantity(q), q);
  assert.equal(parseQuantity(`${'0'.repeat(45)}1`), 10n ** 30n);
});
