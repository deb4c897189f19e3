/**
 * Adversarial values for the value rules and the engine's 40-unit cut of a value in its message:
 * every boundary of every rule (63, 128, 253 units) and of the cut, astral characters on both sides
 * of it (counted twice in UTF-16, once as code points), everything JSON.stringify escapes, and the
 * characters near what it does not. Shared by the compiler's unit test and the policy e2e test.
 */
export const EMOJI = '😀';
export const ODD = [
  '\u0000',
  '\u0001',
  '\b',
  '\t',
  '\n',
  '\u000b',
  '\f',
  '\r',
  '\u001f',
  ' ',
  '"',
  "'",
  '\\',
  '/',
  '\u007f',
  '\u0080',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\u2029',
  '\u200d',
  'ü',
  '…',
  '\ue000',
  '\ufeff',
  '\ufffd',
  '\uffff',
];
export const ASTRALS = [EMOJI, '\u{10000}', '\u{10FFFF}', '𝄞', '\u{1F9D1}\u{200D}\u{1F4BB}', '\u{E0001}'];

export function ruleValues(): string[] {
  const out = ['', 'a', 'A', 'a-b', '-a', 'a-', 'a.b', 'a..b', 'a_b', '_a', '.v', '0', 'UPPER', 'Web_App', '1.2.3', 'v1.0-rc_1', 'a\nb', 'a b'];
  for (const n of [39, 40, 41, 62, 63, 64, 127, 128, 129, 252, 253, 254, 1000]) out.push('x'.repeat(n), `_${'v'.repeat(n - 1)}`, `${'a'.repeat(n - 1)}.`);
  for (let n = 35; n <= 42; n++) for (const e of ASTRALS) out.push('a'.repeat(n) + e, `${'a'.repeat(n)}${e}b`, 'a'.repeat(n) + e + e);
  for (let k = 18; k <= 22; k++) out.push(EMOJI.repeat(k), `${EMOJI.repeat(k)}a`, `a${EMOJI.repeat(k)}`);
  for (const k of [31, 32, 33, 63, 64, 65, 126, 127, 128]) out.push(EMOJI.repeat(k), 'a'.repeat(128 - k) + EMOJI.repeat(k));
  for (const c of ODD) for (const n of [0, 1, 38, 39, 40, 41, 60]) out.push(`${'a'.repeat(n)}${c}zzz`, c.repeat(n + 1));
  out.push(ODD.join(''), ASTRALS.join(''), `${ODD.join('')}${ASTRALS.join('')}`.repeat(3));
  return [...new Set(out)];
}
