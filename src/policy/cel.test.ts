/**
 * The CEL the compiler writes rests on a few equivalences with JavaScript, checked here where
 * JavaScript can check them: string literals, JavaScript's trim as a regular expression, globs as
 * regular expressions, and which object keys JavaScript orders first. The e2e test runs the CEL.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchesGlob } from '../common/k8s-names.ts';
import { JS_TRIM_PATTERN, literal, NotRepresentable, pointerToken, str } from './cel.ts';
import { jsonQuoted } from './overrides.ts';
import { INDEX_NAME, MAX_INDEX } from './record.ts';
import { CONTAINER_NAME, globsRegex } from './targets.ts';

/** RE2's \x{HHHH} as JavaScript's \u{HHHH} (with the u flag); the rest of the pattern reads the same. */
const asJs = (re2: string) => new RegExp(re2.replaceAll(/\\x\{([0-9A-F]+)\}/g, '\\u{$1}'), 'u');

test('a string literal reads back as the same string, and a lone surrogate is refused', () => {
  for (const s of ['', 'plain', 'quote " backslash \\ newline \n tab \t', '\u0000\u001f\u007f', 'ü 日本 😀', '\u2028\u2029'])
    assert.equal(JSON.parse(str(s)), s);
  assert.throws(
    () => str('a\ud800b', 'spec.env[0].value'),
    (e: unknown) => e instanceof NotRepresentable && e.path === 'spec.env[0].value',
  );
});

test('a JSON literal wraps every element in dyn(), since the API server wants one type per list and map literal', () => {
  assert.equal(
    literal({ name: 'a', ports: [80, 'x'], on: true, off: null }, 'p'),
    '{"name": dyn("a"), "ports": dyn([dyn(80), dyn("x")]), "on": dyn(true), "off": dyn(null)}',
  );
  assert.throws(() => literal(0.5, 'spec.x'), /not an integer/);
  assert.throws(() => literal(2 ** 60, 'spec.x'), NotRepresentable);
});

test("the trim pattern's whitespace is exactly what String.prototype.trim removes", () => {
  const space = asJs(`^[${JS_TRIM_PATTERN.slice(2, JS_TRIM_PATTERN.indexOf(']'))}]$`);
  for (let c = 0; c <= 0xffff; c++) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const ch = String.fromCharCode(c);
    assert.equal(space.test(ch), ch.trim() === '', `U+${c.toString(16).padStart(4, '0')}`);
  }
});

test('finding the trim pattern gives the trimmed string, or none for a blank one', () => {
  const re = asJs(JS_TRIM_PATTERN);
  for (const s of ['', ' ', '\u00a0\ufeff', 'a', ' a ', '\u2003 agent, keeper \t\n', 'a\nb', '\u0085a\u0085', ' x y '])
    assert.equal(s.match(re)?.[0] ?? '', s.trim(), JSON.stringify(s));
});

test('a glob as a regular expression matches what the engine matches, for valid container names', () => {
  const globs = ['*', 'app', 'app-*', '*-sidecar', 'a?p', '?', '*a*b*', 'x-?-*', '--'];
  const names = [
    'app',
    'app-main',
    'apple',
    'a',
    'ab',
    'aap',
    'main-sidecar',
    'x-1-y',
    'x--',
    'ba',
    'abc',
    '--',
    'a-b',
    '0',
    'z'.repeat(63),
    'z'.repeat(64),
    'A',
    'a_b',
  ];
  for (const g of globs)
    for (const n of names) {
      const targeted = n.length <= 63 && new RegExp(CONTAINER_NAME).test(n) && new RegExp(globsRegex([g])).test(n);
      assert.equal(targeted, matchesGlob(g, n), `${g} ~ ${n}`);
    }
  assert.ok(new RegExp(globsRegex(['web', 'app-*'])).test('app-x') && !new RegExp(globsRegex(['web', 'app-*'])).test('webapp'));
});

test('the names JavaScript orders first in an object are the canonical array indices', () => {
  const index = new RegExp(INDEX_NAME);
  for (const n of ['0', '7', '10', '007', '01', '4294967294', '4294967295', '99999999999', 'a1', '1a']) {
    const first = Object.keys({ z: 1, [n]: 1 })[0] === n;
    assert.equal(index.test(n) && Number(n) <= MAX_INDEX, first, n);
  }
});

test('the JSON quoting of a value from the pod escapes what JSON.stringify escapes', () => {
  // Each replace, in order, on the string: what CEL's replace() would do.
  const expr = jsonQuoted('s');
  const steps = [...expr.matchAll(/\.replace\(("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'), ("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\)/g)].map((m) =>
    [m[1], m[2]].map((l) => JSON.parse(l?.startsWith("'") ? `"${l.slice(1, -1).replaceAll('"', '\\"')}"` : (l as string)) as string),
  );
  assert.equal(steps.length, 34);
  for (const s of ['plain', 'quote " and \\ backslash', '\u0000\u0001\b\t\n\f\r\u001f', 'ü 😀 \u007f', '\\"']) {
    const quoted = `"${steps.reduce((acc, [from, to]) => acc.replaceAll(from as string, to as string), s)}"`;
    assert.equal(quoted, JSON.stringify(s), JSON.stringify(s));
  }
});

test('JSON Pointer tokens escape ~ and /', () => {
  assert.equal(pointerToken('outrigger.dev/status'), 'outrigger.dev~1status');
  assert.equal(pointerToken('a~b/c'), 'a~0b~1c');
});
