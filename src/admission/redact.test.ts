import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonValue } from '../common/json.ts';
import { REDACTED, redactEnv } from './redact.ts';

test('redactEnv keeps a __proto__ key as a key, with its env values redacted too', () => {
  const pod = JSON.parse(
    '{"spec":{"__proto__":{"env":[{"name":"T","value":"secret"}]},"containers":[{"name":"a","env":[{"name":"X","value":"v"}]}]}}',
  ) as JsonValue;
  const out = redactEnv(pod) as { spec: Record<string, unknown> };
  assert.equal(Object.getPrototypeOf(out.spec), Object.prototype);
  assert.ok(Object.hasOwn(out.spec, '__proto__'));
  assert.equal(
    JSON.stringify(out),
    `{"spec":{"__proto__":{"env":[{"name":"T","value":"${REDACTED}"}]},"containers":[{"name":"a","env":[{"name":"X","value":"${REDACTED}"}]}]}}`,
  );
});
