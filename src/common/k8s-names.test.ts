import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  dns1123Label,
  dns1123Subdomain,
  envName,
  glob,
  globList,
  imageReference,
  labelValue,
  MAX_GLOB_LENGTH,
  matchesByNfa,
  matchesGlob,
  portName,
  qualifiedName,
} from './k8s-names.ts';

/** The glob meaning, written the obvious (exponential) way, for short inputs only. */
function reference(g: string, name: string): boolean {
  if (g === '') return name === '';
  if (g[0] === '*') return reference(g.slice(1), name) || (name !== '' && reference(g, name.slice(1)));
  return name !== '' && (g[0] === '?' || g[0] === name[0]) && reference(g.slice(1), name.slice(1));
}

test('globs match as documented', () => {
  const cases: [string, string, boolean][] = [
    ['*', 'app', true],
    ['*', '', false],
    ['app', 'app', true],
    ['app', 'apps', false],
    ['app-*', 'app-main', true],
    ['app-*', 'app-0', true],
    ['app-*', 'app-', false],
    ['*', 'App', false],
    ['*', 'a'.repeat(64), false],
    ['*', 'a'.repeat(63), true],
    [`${'*'.repeat(31)}?${'a'.repeat(31)}`, 'b'.repeat(32) + 'a'.repeat(31), true],
    [`${'a?'.repeat(31)}a`, `${'ab'.repeat(31)}a`, true],
    [`${'a?'.repeat(31)}a`, `${'ab'.repeat(31)}b`, false],
    ['app-*', 'ap-main', false],
    ['*-proxy', 'envoy-proxy', true],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['*a*b', 'xaxxbab', true],
    ['*a*b', 'xaxxba', false],
    ['**', 'x', true],
  ];
  for (const [g, name, want] of cases) {
    assert.equal(matchesGlob(g, name), want, `${g} vs ${name}`);
    assert.equal(matchesByNfa(g, name), want, `${g} vs ${name} (NFA)`);
  }
});

test('matching agrees with the reference meaning', () => {
  const chars = fc.constantFrom('a', 'b', '-', '*', '?');
  fc.assert(
    fc.property(fc.string({ unit: chars, maxLength: 8 }), fc.string({ unit: fc.constantFrom('a', 'b', '-'), maxLength: 10 }), (g, name) => {
      const want = dns1123Label(name) === undefined && reference(g, name);
      assert.equal(matchesGlob(g, name), want);
      assert.equal(matchesByNfa(g, name), want);
    }),
    { seed: 20261202, numRuns: 3000 },
  );
});

test('long globs agree with the reference meaning across both halves of the state mask', () => {
  // Few stars keep the reference fast; lengths around 32 and 63 cross the boundary between halves.
  const unit = fc.constantFrom('a', 'a', 'a', 'b', '?', '*');
  fc.assert(
    fc.property(
      fc.string({ unit, minLength: 28, maxLength: MAX_GLOB_LENGTH }),
      fc.string({ unit: fc.constantFrom('a', 'b'), minLength: 28, maxLength: 63 }),
      (g, name) => {
        fc.pre((g.match(/\*/g) ?? []).length <= 3);
        const want = reference(g, name);
        assert.equal(matchesGlob(g, name), want);
        assert.equal(matchesByNfa(g, name), want);
      },
    ),
    { seed: 20261202, numRuns: 1000 },
  );
});

test('names that are no container name match nothing, and cost nothing however long', () => {
  const list = globList([`*${'a'.repeat(60)}b`, '*']);
  assert.equal(list.test('a'.repeat(100_000)), false);
  assert.equal(list.test('app'), true);
  assert.equal(list.test('-app'), false);
  assert.equal(globList([]).test('app'), false);
});

test('a glob is at most as long as a container name', () => {
  assert.equal(glob('*'.repeat(MAX_GLOB_LENGTH)), undefined);
  assert.equal(glob('*'.repeat(MAX_GLOB_LENGTH + 1)), `must be no more than ${MAX_GLOB_LENGTH} characters`);
  // The matcher refuses what validation refuses, rather than wrap its state mask and match wrongly.
  const tooLong = `${'a'.repeat(MAX_GLOB_LENGTH)}?`;
  const refusal = { name: 'RangeError', message: `glob of ${MAX_GLOB_LENGTH + 1} characters: globs hold at most ${MAX_GLOB_LENGTH}` };
  assert.throws(() => matchesGlob(tooLong, 'a'.repeat(38)), refusal);
  assert.throws(() => matchesByNfa('a'.repeat(70), 'a'.repeat(38)), { name: 'RangeError' });
  assert.throws(() => globList(['app', tooLong]), refusal);
  // Runs of stars collapse first, so a glob within the limit once collapsed still compiles.
  assert.equal(matchesByNfa(`${'*'.repeat(40)}${'a'.repeat(40)}?`, 'a'.repeat(41)), true);
});

test('DNS-1123 labels and subdomains: their length limits, to the character, and their alphabet', () => {
  assert.equal(dns1123Label('a'.repeat(63)), undefined);
  assert.equal(dns1123Label('a'.repeat(64)), 'must be no more than 63 characters');
  const subdomain = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
  assert.equal(subdomain.length, 253);
  assert.equal(dns1123Subdomain(subdomain), undefined);
  assert.equal(dns1123Subdomain(`${subdomain}d`), 'must be no more than 253 characters');
  assert.equal(dns1123Subdomain('example.com'), undefined);
  for (const bad of ['Example.com', 'example..com', '-example.com', ''])
    assert.equal(dns1123Subdomain(bad), 'must be a DNS-1123 subdomain (lower case alphanumerics, "-" and ".")', bad);
});

test('qualified names: an optional subdomain prefix, then a name part of at most 63 characters', () => {
  assert.equal(qualifiedName('app.kubernetes.io/name'), undefined);
  assert.equal(qualifiedName('Name_1.x'), undefined);
  assert.equal(qualifiedName(`example.com/${'n'.repeat(63)}`), undefined);
  assert.equal(qualifiedName(`example.com/${'n'.repeat(64)}`), 'name part must be no more than 63 characters');
  assert.equal(qualifiedName('n'.repeat(64)), 'name part must be no more than 63 characters');
  assert.equal(qualifiedName('/name'), 'prefix must not be empty');
  assert.equal(qualifiedName('Example.com/name'), 'prefix must be a DNS-1123 subdomain (lower case alphanumerics, "-" and ".")');
  assert.equal(qualifiedName(`${'a'.repeat(254)}/name`), 'prefix must be no more than 253 characters');
  assert.equal(qualifiedName('example.com/'), 'name part must not be empty');
  assert.equal(qualifiedName(''), 'name part must not be empty');
  assert.equal(qualifiedName('example.com/-name'), 'name part must consist of alphanumerics, "-", "_" or ".", starting and ending with an alphanumeric');
});

test('label values: empty, or at most 63 characters of the qualified-name alphabet', () => {
  assert.equal(labelValue(''), undefined);
  assert.equal(labelValue('v'.repeat(63)), undefined);
  assert.equal(labelValue('v'.repeat(64)), 'must be no more than 63 characters');
  assert.equal(labelValue('a b'), 'must be empty or consist of alphanumerics, "-", "_" or ".", starting and ending with an alphanumeric');
});

test('port names: at most 15 characters, lower case, no "--", at least one letter', () => {
  assert.equal(portName('http'), undefined);
  assert.equal(portName('p'.repeat(15)), undefined);
  assert.equal(portName('p'.repeat(16)), 'must be no more than 15 characters');
  for (const bad of ['HTTP', '-http', 'http-', 'h_p'])
    assert.equal(portName(bad), 'must contain only lower case alphanumerics and "-", starting and ending with an alphanumeric', bad);
  assert.equal(portName('h--p'), 'must not contain consecutive hyphens');
  assert.equal(portName('8080'), 'must contain at least one letter');
  assert.equal(portName('8-0'), 'must contain at least one letter');
});

test('env names: any printable ASCII but "=", not empty', () => {
  assert.equal(envName('MY_VAR.1-x'), undefined);
  assert.equal(envName(''), 'must not be empty');
  assert.equal(envName('A=B'), 'must consist of printable ASCII characters other than "="');
  assert.equal(envName('A\tB'), 'must consist of printable ASCII characters other than "="');
});

test('a glob is not empty and uses only the container-name alphabet, "*" and "?"', () => {
  assert.equal(glob('app-?-*'), undefined);
  assert.equal(glob(''), 'must not be empty');
  for (const bad of ['App', 'app_1', 'app.*']) assert.equal(glob(bad), 'must be a container name or a glob of lower case alphanumerics, "-", "*" and "?"', bad);
});

test('stars and "?" past the 32nd glob character match as they do before it', () => {
  const head = 'a'.repeat(40);
  const cases: [string, string, boolean][] = [
    [`${head}*?`, `${head}bcd`, true],
    [`${head}*?`, `${head}b`, true],
    [`${head}*?`, head, false],
    [`${head}*b`, `${head}xyzb`, true],
    [`${head}*b`, `${head}xyz`, false],
    [`${head}?*`, `${head}b`, true],
    [`${'?'.repeat(32)}`, 'a'.repeat(32), true],
    [`${'?'.repeat(32)}`, 'a'.repeat(31), false],
    [`${'?'.repeat(32)}`, 'a'.repeat(33), false],
    [`?${'a'.repeat(31)}`, `b${'a'.repeat(31)}`, true],
  ];
  for (const [g, name, want] of cases) {
    assert.equal(matchesGlob(g, name), want, `${g} vs ${name}`);
    assert.equal(matchesByNfa(g, name), want, `${g} vs ${name} (NFA)`);
  }
});

test('a glob character no container name holds matches nothing', () => {
  assert.equal(matchesByNfa('a\u00e9', 'ab'), false);
  assert.equal(matchesByNfa('a?\u00e9', 'aab'), false);
  assert.equal(matchesGlob('a?\u00e9', 'aab'), false);
  assert.equal(matchesGlob('a*\u00e9', 'aab'), false);
});

test('a middle segment must end before the last segment starts', () => {
  const cases: [string, string, boolean][] = [
    ['*ab*b', 'xab', false],
    ['*ab*b', 'xabb', true],
    ['*ab*b', 'ab', false],
    ['*ab*b', 'abb', true],
    ['a*bc*c', 'abc', false],
    ['a*bc*c', 'abcc', true],
    ['a*b*c*d', 'abcd', true],
    ['a*b*c*d', 'acbd', false],
  ];
  for (const [g, name, want] of cases) {
    assert.equal(matchesGlob(g, name), want, `${g} vs ${name}`);
    assert.equal(matchesByNfa(g, name), want, `${g} vs ${name} (NFA)`);
  }
});

test('a glob of literal segments longer than any container name matches none', () => {
  // Profiles hold globs of at most MAX_GLOB_LENGTH characters; matching a longer one still answers no.
  assert.equal(matchesGlob('a'.repeat(70), 'a'.repeat(38)), false);
  assert.equal(matchesGlob('a'.repeat(70), 'a'.repeat(63)), false);
  assert.equal(matchesGlob(`${'a'.repeat(64)}*`, 'a'.repeat(63)), false);
  assert.equal(globList(['a'.repeat(70)]).test('a'.repeat(38)), false);
});

test('imageReference: what a container runtime pulls, and why the rest is refused', () => {
  const sha = 'a'.repeat(64);
  for (const ok of [
    'nginx',
    'nginx:1.27',
    'registry.example.com:5000/team/app:1.2',
    `team/app@sha256:${sha}`,
    `app:1@sha512:${'0'.repeat(128)}`,
    '[::1]:5000/app',
    `${'a'.repeat(237)}:tag`,
    `r.example.com/${'a'.repeat(241)}`,
  ])
    assert.equal(imageReference(ok), undefined, ok);
  const refused: [string, RegExp][] = [
    ['', /must not be empty/],
    ['Registry/App:1', /must be an image reference/],
    [`${'a'.repeat(238)}`, /at most 255 characters as runtimes read it \("docker.io\/library\/aaa.*: 256\)/],
    [`team/${'a'.repeat(246)}`, /as runtimes read it \("docker.io\/team\/.*: 261\)/],
    [`r.example.com/${'a'.repeat(242)}:1`, /at most 255 characters as runtimes read it .*: 256\)/],
    ['a'.repeat(64), /must not be 64 hex digits alone/],
    [`app@sha256:${'A'.repeat(64)}`, /sha256 digest of 64 lower-case hex digits, not "AAAAAAAAAAAAAAAAAAAA…"/],
    [`app@sha256:${'a'.repeat(63)}`, /64 lower-case hex digits/],
    [`app@md5:${'a'.repeat(32)}`, /@sha256:<64 lower-case hex digits> \(or sha384, sha512\)/],
    [`app@${sha}`, /must have a digest of the form/],
    ['app:-tag', /must be an image reference/],
  ];
  for (const [v, message] of refused) assert.match(imageReference(v) ?? 'accepted', message, v);
});
