/**
 * The equivalences the value rules' CEL (rules.ts) rests on, checked against the engine's own
 * functions over adversarial strings: each rule's size and pattern, its two reasons, the JSON
 * escapes and the 40-unit cut with its high surrogate, computed the way the CEL computes them.
 * The CEL itself runs on a real API server in the e2e test (test/e2e/policy.e2e.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMOJI, ruleValues as values } from '../../test/support/rule-values.ts';
import { VALUE_RULE_NAMES, VALUE_RULES } from '../engine/index.ts';
import { ASTRAL, cutQuoted, followsRule, JSON_ESCAPES, RULE_CHECKS, ruleReason, ruleReasons } from './rules.ts';

const codePoints = (v: string) => [...v].length;
const utf16 = (v: string) => v.length;

test("each rule's checks are the engine's: the size in code points, then the pattern, '' where the rule allows it", () => {
  assert.deepEqual(Object.keys(RULE_CHECKS).sort(), [...VALUE_RULE_NAMES].sort());
  for (const rule of VALUE_RULE_NAMES) {
    const { max, pattern, empty } = RULE_CHECKS[rule];
    assert.match(pattern, /^\^[ -~]*\$$/, 'anchored, ASCII');
    assert.doesNotMatch(
      pattern.replaceAll(/\\.|\[[^\]]*\]/g, ''),
      /\./,
      'no "." outside a class: it would read a code point in RE2, a UTF-16 unit in JavaScript',
    );
    for (const v of values()) {
      const follows = (empty === true && v === '') || (codePoints(v) <= max && new RegExp(pattern).test(v));
      assert.equal(follows, VALUE_RULES[rule](v) === undefined, `${rule} ${JSON.stringify(v)}`);
    }
  }
});

test("each rule's reason is the engine's: too long in UTF-16 units first, then the pattern's", () => {
  for (const rule of VALUE_RULE_NAMES) {
    const { long, pattern } = ruleReasons(rule);
    assert.ok(long !== '' && pattern !== '', rule);
    for (const v of values()) {
      const want = VALUE_RULES[rule](v);
      if (want === undefined) continue;
      // The CEL's test: more code points than max, or code points plus astral ones (findAll ASTRAL).
      const astral = v.match(new RegExp(ASTRAL.replaceAll(/\\x\{([0-9A-F]+)\}/g, '\\u{$1}'), 'gu'))?.length ?? 0;
      const tooLong = codePoints(v) > RULE_CHECKS[rule].max || codePoints(v) + astral > RULE_CHECKS[rule].max;
      assert.equal(tooLong, utf16(v) > RULE_CHECKS[rule].max);
      assert.equal(tooLong ? long : pattern, want, `${rule} ${JSON.stringify(v)}`);
    }
  }
  assert.equal(ruleReason('alphanumeric', 'v'), JSON.stringify('must be 1 to 253 letters and digits'), 'one reason, no test');
});

test('the JSON escapes are what JSON.stringify escapes, for every BMP character', () => {
  for (let c = 0; c <= 0xffff; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const ch = String.fromCharCode(c);
    assert.equal(`"${JSON_ESCAPES[ch] ?? ch}"`, JSON.stringify(ch), `U+${c.toString(16)}`);
  }
});

/** The CEL's high surrogate: from the UTF-8 bytes in hex, 0xD7C0 + a·256 + (b-8)·64 + c·4 + d - 8 of hex digits 1 to 4. */
function highSurrogate(ch: string): string {
  const x = Buffer.from(ch).toString('hex');
  const d = (i: number) => '0123456789abcdef'.indexOf(x.charAt(i));
  return `\\u${(55232 + d(1) * 256 + (d(2) - 8) * 64 + d(3) * 4 + d(4) - 8).toString(16)}`;
}

test('the high surrogate from the UTF-8 hex is the one JSON.stringify writes, for every astral block', () => {
  for (let cp = 0x10000; cp <= 0x10ffff; cp += 0x3ff) {
    for (const at of [cp, Math.min(cp + 0x3fe, 0x10ffff)]) {
      const ch = String.fromCodePoint(at);
      assert.equal(highSurrogate(ch), JSON.stringify(ch.slice(0, 1)).slice(1, -1), `U+${at.toString(16)}`);
    }
  }
});

test("the cut as the CEL makes it (units of the first 41 code points) is the engine's, quoted", () => {
  const cel = (v: string) => {
    const w = [...v].slice(0, 41);
    const u = w.flatMap((c) => (c.length === 2 ? ['', c] : [JSON_ESCAPES[c] ?? c]));
    if (u.length <= 40) return `"${u.join('')}"`;
    return `"${u.slice(0, 40).join('')}${u[39] === '' ? highSurrogate(u[40] as string) : ''}…"`;
  };
  const engine = (v: string) => JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  for (const v of values()) assert.equal(cel(v), engine(v), JSON.stringify(v));
  assert.equal(cel(`${'a'.repeat(39)}${EMOJI}`), '"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\ud83d…"');
});

test('the CEL reads a long value only through its size and a 41-character prefix', () => {
  const v = 'object.metadata.annotations["k"]';
  assert.ok(followsRule('dns-label', v).startsWith(`(size(${v}) <= 63 && `), 'no regex before the size');
  assert.match(ruleReason('dns-label', v), /^\(\(size\(.*\) > 63 \|\| /, 'no findAll before the size');
  assert.ok(cutQuoted(v).startsWith(`[size(${v}) > 40 ? ${v}.substring(0, 41) : ${v}]`));
});
