import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { linesOf, sideBySide } from './diff.ts';

/** The length of the longest common subsequence, by the textbook table (one row at a time). */
function lcs(a: readonly string[], b: readonly string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    const row = [0];
    b.forEach((y, j) => {
      row.push(x === y ? (prev[j] as number) + 1 : Math.max(prev[j + 1] as number, row[j] as number));
    });
    prev = row;
  }
  return prev[b.length] as number;
}

test('sideBySide: both sides read back whole, in order, numbered, and the unchanged lines are a longest common subsequence', () => {
  const text = fc.array(fc.constantFrom('a', 'b', 'c', 'd', ''), { maxLength: 30 }).map((l) => (l.length ? `${l.join('\n')}\n` : ''));
  fc.assert(
    fc.property(text, text, (before, after) => {
      const rows = sideBySide(before, after);
      const left = rows.flatMap((r) => (r.kind === 'added' ? [] : [[r.left, r.leftNo] as const]));
      const right = rows.flatMap((r) => (r.kind === 'removed' ? [] : [[r.right, r.rightNo] as const]));
      assert.deepEqual(
        left.map((l) => l[0]),
        linesOf(before),
      );
      assert.deepEqual(
        right.map((r) => r[0]),
        linesOf(after),
      );
      assert.deepEqual(
        left.map((l) => l[1]),
        linesOf(before).map((_, i) => i + 1),
      );
      assert.deepEqual(
        right.map((r) => r[1]),
        linesOf(after).map((_, i) => i + 1),
      );
      assert.equal(rows.filter((r) => r.kind === 'same').length, lcs(linesOf(before), linesOf(after)));
    }),
    { numRuns: 400 },
  );
});

test('sideBySide: an insertion is added lines between the same ones; a replaced line is a change', () => {
  assert.deepEqual(
    sideBySide('a\nb\n', 'a\nx\nb\n').map((r) => r.kind),
    ['same', 'added', 'same'],
  );
  assert.deepEqual(
    sideBySide('a\nb\nc\n', 'a\nB\nc\n').map((r) => r.kind),
    ['same', 'changed', 'same'],
  );
  assert.deepEqual(sideBySide('', ''), []);
});

test('sideBySide: an input that differs everywhere is diffed in bounded time and memory, still exactly', () => {
  // A one-line JSON pod turned into thousands of lines of YAML: once ~2 GB of saved frontiers.
  const before = `{"spec":{"containers":[${'{"name":"x"},'.repeat(20_000)}]}}\n`;
  const after = Array.from({ length: 20_000 }, (_, i) => `  - name: x${i}`).join('\n');
  const heap = process.memoryUsage().heapUsed;
  const rows = sideBySide(before, after);
  assert.ok(process.memoryUsage().heapUsed - heap < 200 * 1024 * 1024);
  // Both sides read back whole, in order.
  assert.deepEqual(rows.flatMap((r) => ('left' in r ? [r.left] : [])).join('\n'), before.replace(/\n$/, ''));
  assert.deepEqual(rows.flatMap((r) => ('right' in r ? [r.right] : [])).join('\n'), after);
  // Common ends are still found.
  assert.deepEqual(
    sideBySide(`a\n${'p\n'.repeat(3000)}z\n`, `a\n${'q\n'.repeat(3000)}z\n`)
      .map((r) => r.kind)
      .filter((k, i, all) => i === 0 || k !== all[i - 1]),
    ['same', 'changed', 'same'],
  );
});
