/**
 * Value rules (engine/template.ts VALUE_RULES) as CEL: whether a value from the pod follows its
 * rule, and when it does not, the engine's message byte for byte — the value cut to 40 UTF-16
 * units and quoted as JSON.stringify quotes it, then the rule's own reason.
 *
 * CEL strings are code points, JavaScript's UTF-16 units: an astral character (U+10000 and up) is
 * one in CEL and two in JavaScript. The API server's strings are valid UTF-8, so a JavaScript
 * value from it holds no lone surrogate; only the engine's cut can make one (its 40th unit the
 * first half of an astral character), which JSON.stringify writes as `\udXXX`.
 */
import { DNS1123_LABEL, DNS1123_SUBDOMAIN, IMAGE_TAG, QUALIFIED_NAME } from '../common/k8s-names.ts';
import { VALUE_RULES, type ValueRule } from '../engine/index.ts';
import { str } from './cel.ts';

/**
 * How each rule checks, in its order: longer than `max` UTF-16 units, then the pattern (`empty`:
 * '' passes). Every pattern is ASCII classes only, so it reads the same in RE2 and JavaScript, and
 * a value it matches has as many code points as UTF-16 units.
 */
export const RULE_CHECKS: Record<ValueRule, { max: number; pattern: string; empty?: true }> = {
  'dns-label': { max: 63, pattern: DNS1123_LABEL.source },
  'dns-subdomain': { max: 253, pattern: DNS1123_SUBDOMAIN.source },
  'label-value': { max: 63, pattern: QUALIFIED_NAME.source, empty: true },
  'image-tag': { max: 128, pattern: IMAGE_TAG.source },
  alphanumeric: { max: 253, pattern: '^[A-Za-z0-9]+$' },
};

/** The engine's two reasons of a rule: for a value too long, and for one its pattern refuses. */
export function ruleReasons(rule: ValueRule): { long: string; pattern: string } {
  const { max } = RULE_CHECKS[rule];
  const reason = (v: string) => VALUE_RULES[rule](v) ?? '';
  return { long: reason('a'.repeat(max + 1)), pattern: reason('!') };
}

/** The code points JavaScript holds as two UTF-16 units. */
export const ASTRAL = '[\\x{10000}-\\x{10FFFF}]';
/** Every astral character is greater than U+FFFF: UTF-8 order is code point order, so no regex is needed per character. */
const isAstral = (c: string) => `${c} > ${str('\uffff')}`;

/** Whether CEL string `v` follows `rule`: the size is checked first, so no regex runs over a long value. */
export function followsRule(rule: ValueRule, v: string): string {
  const { max, pattern, empty } = RULE_CHECKS[rule];
  const check = `(size(${v}) <= ${max} && ${v}.matches(${str(pattern)}))`;
  return empty ? `(${v} == '' || ${check})` : check;
}

/** Longer than `max` UTF-16 units: only a value of at most `max` code points is searched for astral ones. */
const longerThan = (v: string, max: number) => `(size(${v}) > ${max} || size(${v}) + size(${v}.findAll(${str(ASTRAL)})) > ${max})`;

/** Why CEL string `v`, which breaks `rule`, breaks it: the engine's reason. */
export function ruleReason(rule: ValueRule, v: string): string {
  const { long, pattern } = ruleReasons(rule);
  if (long === pattern) return str(long);
  return `(${longerThan(v, RULE_CHECKS[rule].max)} ? ${str(long)} : ${str(pattern)})`;
}

/** What JSON.stringify writes for one character other than a lone surrogate: these, else the character. */
export const JSON_ESCAPES: Record<string, string> = Object.fromEntries(
  ['"', '\\', ...Array.from({ length: 0x20 }, (_, c) => String.fromCharCode(c))].map((c) => [c, JSON.stringify(c).slice(1, -1)]),
);
const ESCAPES = `{${Object.entries(JSON_ESCAPES)
  .map(([c, e]) => `${str(c)}: ${str(e)}`)
  .join(', ')}}`;

/**
 * `\udXXX`, the high surrogate of astral character `c`, from its UTF-8 bytes in hex (`%x` of a
 * string): for bytes F0+a, 80+b, 80+c, … the code point's bits above the 10th are
 * a·256 + b·4 + c>>4, and the high surrogate is 0xD7C0 plus that.
 */
function highSurrogate(c: string): string {
  const digit = (i: number) => `'0123456789abcdef'.indexOf(x.charAt(${i}))`;
  const bits = `${digit(1)} * 256 + (${digit(2)} - 8) * 64 + ${digit(3)} * 4 + ${digit(4)} - 8`;
  return `['%x'.format([${c}])].map(x, ${str('\\u%x')}.format([55232 + ${bits}]))[0]`;
}

/**
 * The engine's `JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)` of CEL string `v`. Of
 * at most its first 41 code points, each becomes its UTF-16 units, each unit as JSON writes it: a
 * BMP character one unit (escaped), an astral one two ('' and the character, which JSON leaves as
 * it is). The first 40 units joined are the cut; when the 40th is the first half of an astral
 * character, the engine's cut ends in its high surrogate alone.
 */
export function cutQuoted(v: string): string {
  const units = `w.findAll('(?s).').map(c, ${isAstral('c')} ? ['', c] : [${ESCAPES}[?c].orValue(c)]).flatten()`;
  const cut = `u.slice(0, 40).join() + (u[39] == '' ? ${highSurrogate('u[40]')} : '')`;
  const quoted = `size(u) <= 40 ? '"' + u.join() + '"' : '"' + ${cut} + ${str('…"')}`;
  return `[size(${v}) > 40 ? ${v}.substring(0, 41) : ${v}].map(w, [${units}].map(u, ${quoted})[0])[0]`;
}
