import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pod, review } from '../../test/support/webhook.ts';
import { checkJsonBudget, createJsonBudgetScanner, DEFAULT_JSON_BUDGET, type JsonBudget } from './json-budget.ts';

const b = (s: string) => Buffer.from(s);
const budget = (o: Partial<JsonBudget>): JsonBudget => ({ maxContainers: 1e9, maxTokens: 1e9, maxDistinctKeys: 1e9, ...o });

test('counts objects and arrays, tokens and distinct keys outside strings only', () => {
  const text = '{"a":[1,2,{"b":"x{[,:\\"]}"}],"a":{}}';
  // 4 objects and arrays; 10 tokens (4 of them, 3 colons, 3 commas); 2 distinct keys. Exactly at the bounds is fine:
  assert.deepEqual(checkJsonBudget(b(text), budget({ maxContainers: 4, maxTokens: 10, maxDistinctKeys: 2 })), { ok: true });
  assert.deepEqual(checkJsonBudget(b(text), budget({ maxContainers: 3 })), { ok: false, what: 'objects and arrays', limit: 3, offset: text.lastIndexOf('{') });
  assert.equal((checkJsonBudget(b(text), budget({ maxTokens: 9 })) as { what: string }).what, 'structural tokens');
  assert.deepEqual(checkJsonBudget(b(text), budget({ maxDistinctKeys: 1 })), { ok: false, what: 'distinct keys', limit: 1, offset: text.indexOf(':"x') });
});

test('an escaped quote does not end a string; an unterminated string ends the scan', () => {
  assert.deepEqual(checkJsonBudget(b('["\\"{{{{", {}]'), budget({ maxContainers: 2 })), { ok: true });
  assert.deepEqual(checkJsonBudget(b('["\\\\", {}]'), budget({ maxContainers: 1 })).ok, false, 'an escaped backslash does not escape the quote');
  assert.deepEqual(checkJsonBudget(b('["{{{{{'), budget({ maxContainers: 1 })), { ok: true });
});

test('a hostile body is refused after scanning only its start', () => {
  const body = b(`[${'{},'.repeat(2_000_000)}{}]`);
  const r = checkJsonBudget(body, DEFAULT_JSON_BUDGET);
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.offset < 400_000, JSON.stringify(r));
});

test('the default budget admits large pods, also as the object and oldObject of an UPDATE', () => {
  // 1.2 MB of env entries: the densest shape a real pod has in bulk.
  const env = Array.from({ length: 40_000 }, (_, i) => ({ name: `V${i}`, value: 'x' }));
  const big = pod({ 'outrigger.dev/inject': 'envoy' }, { containers: [{ name: 'app', image: 'nginx', env }] });
  const update = { ...review(big, { operation: 'UPDATE' }) };
  (update.request as Record<string, unknown>).oldObject = big;
  const body = b(JSON.stringify(update));
  assert.ok(body.length > 2_000_000, String(body.length));
  assert.deepEqual(checkJsonBudget(body, DEFAULT_JSON_BUDGET), { ok: true });
});

test('fed in chunks, split anywhere (inside strings, escapes and keys), the answer is the same as at once', () => {
  const text = b('{"ab\\"c":[1,"x\\\\",{"ab\\"c":2,"d":{}}],"e":"f:g"}');
  for (const limits of [budget({}), budget({ maxDistinctKeys: 2 }), budget({ maxContainers: 3 }), budget({ maxTokens: 7 })]) {
    const whole = checkJsonBudget(text, limits);
    for (let cut = 0; cut <= text.length; cut++) {
      for (let cut2 = cut; cut2 <= text.length; cut2 += 3) {
        const sc = createJsonBudgetScanner(limits);
        let r = sc.feed(text.subarray(0, cut));
        if (r.ok) r = sc.feed(text.subarray(cut, cut2));
        if (r.ok) r = sc.feed(text.subarray(cut2));
        assert.deepEqual(r, whole, `cut at ${cut}, ${cut2}`);
      }
    }
  }
  assert.equal(checkJsonBudget(text, budget({ maxDistinctKeys: 2 })).ok, false, 'keys ab"c, d, e: three distinct');
  assert.equal(checkJsonBudget(text, budget({ maxDistinctKeys: 3 })).ok, true);
});

test('a long string spanning chunks is not copied; as a key it counts as distinct', () => {
  const sc = createJsonBudgetScanner(budget({ maxDistinctKeys: 2 }));
  const long = 'k'.repeat(10_000);
  const text = b(`{"${long}":1,"${long}":2,"${long}":3}`);
  let r = sc.feed(text.subarray(0, 5000));
  for (let i = 5000; r.ok && i < text.length; i += 5000) r = sc.feed(text.subarray(i, i + 5000));
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.what, 'distinct keys');
});

test('keys whose hashes collide are still counted as distinct (FNV-1a: "costarring" and "liquid")', () => {
  const text = b('{"costarring":1,"liquid":2,"costarring":3}');
  assert.deepEqual(checkJsonBudget(text, budget({ maxDistinctKeys: 2 })), { ok: true });
  assert.deepEqual(checkJsonBudget(text, budget({ maxDistinctKeys: 1 })), { ok: false, what: 'distinct keys', limit: 1, offset: text.indexOf(':2') });
  // Split inside the keys, too.
  for (let cut = 1; cut < text.length; cut++) {
    const sc = createJsonBudgetScanner(budget({ maxDistinctKeys: 1 }));
    const r = sc.feed(text.subarray(0, cut));
    assert.equal((r.ok ? sc.feed(text.subarray(cut)) : r).ok, false, `cut at ${cut}`);
  }
});

test('chunks are counted exactly from the start once the bytes or colons so far could pass a bound: same answer, same offset', () => {
  // Colons inside strings make the native colon count pass the key bound while the exact count does not.
  const text = b('{"a":"::::","b":[{"c":"x"},{"d":"::"}],"b":{}}');
  const limits = [
    budget({ maxDistinctKeys: 4 }),
    budget({ maxDistinctKeys: 3 }),
    budget({ maxContainers: 4 }),
    budget({ maxTokens: 13 }),
    budget({ maxContainers: 30 }),
  ];
  for (const l of limits) {
    const whole = checkJsonBudget(text, l);
    for (const size of [1, 2, 5, 7]) {
      const sc = createJsonBudgetScanner(l);
      let r: ReturnType<typeof sc.feed> = { ok: true };
      for (let i = 0; r.ok && i < text.length; i += size) r = sc.feed(text.subarray(i, i + size));
      assert.deepEqual(r, whole, `${JSON.stringify(l)} in chunks of ${size}`);
    }
  }
  assert.deepEqual(checkJsonBudget(text, budget({ maxDistinctKeys: 4 })), { ok: true }, 'keys a, b, c, d');
  assert.deepEqual(checkJsonBudget(text, budget({ maxDistinctKeys: 3 })), { ok: false, what: 'distinct keys', limit: 3, offset: text.indexOf(':"::"') });
  assert.equal(checkJsonBudget(text, budget({ maxContainers: 4 })).ok, false, '5 objects and arrays');
});
