/**
 * Inputs whose cost once grew faster than their size: globs, quantities, YAML aliases. Each runs
 * through the real engine or parser and must finish within a generous bound.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deepFreeze, type JsonObject } from '../../src/common/json.ts';
import { inject } from '../../src/engine/inject.ts';
import { MAX_TARGET_CHECKS } from '../../src/engine/target-bound.ts';
import { parseYamlDocuments } from '../../src/io/yaml.ts';
import { profilesFromYaml, profileYaml } from '../support/profiles.ts';
import { decodePatch, EXAMPLE_PROFILES, review, send, pod as shopPod } from '../support/webhook.ts';
import { assertWithinBudget, startTarget, type Target, underAttack } from './support.ts';

const ctx = { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } };

/** Runs `f` and fails when it takes longer than `ms`; a bound, not a measurement. */
function within<T>(ms: number, what: string, f: () => T): T {
  const start = performance.now();
  const out = f();
  const took = performance.now() - start;
  assert.ok(took < ms, `${what} took ${Math.round(took)} ms, more than the ${ms} ms allowed`);
  return out;
}

const pod = (annotations: Record<string, string>, containers: string[]): JsonObject =>
  deepFreeze({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', annotations },
    spec: { containers: containers.map((name) => ({ name, image: 'app:1' })) },
  }) as JsonObject;

/** `n` profiles, each a sidecar with 5 env values that copy annotation `a` (the review's shape). */
const manyRenderingYaml = (i: number) =>
  profileYaml(`p${i}`, {
    version: '1',
    containers: [{ name: `s${i}`, image: 'busybox:1', env: Array.from({ length: 5 }, (_, j) => ({ name: `E${j}`, value: "{{ pod.annotations['a'] }}" })) }],
  });
const manyRenderingProfiles = (n: number) => profilesFromYaml(Array.from({ length: n }, (_, i) => manyRenderingYaml(i)).join('\n---\n'));
const manyRenderingAnnotations = (n: number) => ({
  a: 'a'.repeat(200 * 1024),
  'outrigger.dev/inject': Array.from({ length: n }, (_, i) => `p${i}`).join(','),
});

/** 64 globs that each scan a whole 63-character name of "a"s and never match (the review's variant A). */
const scanningGlobs = Array.from({ length: 64 }, (_, i) => `*${'a'.repeat(28)}${String.fromCharCode(98 + (i % 20))}*`);
const longNames = (n: number) => Array.from({ length: n }, (_, i) => `${'a'.repeat(57)}${String(i).padStart(6, '0')}`);

const envsOf = (p: JsonObject) => (p.spec as { containers: { env?: unknown[] }[] }).containers.flatMap((c) => c.env ?? []);

describe('targets globs', () => {
  const scanning = profilesFromYaml(profileYaml('scan', { version: '1', targets: scanningGlobs, env: [{ name: 'A', value: '1' }] }));

  test('64 scanning globs against 256 63-character names (the most checks allowed): matched, in bounded time', () => {
    const d = within(2000, 'injection', () => inject(pod({ 'outrigger.dev/inject': 'scan' }, longNames(256)), scanning, ctx));
    assert.equal(d.outcome, 'injected', d.message);
    assert.deepEqual(envsOf(d.pod), [], 'no name holds a letter after 28 "a"s: nothing is targeted');
  });

  for (const n of [2_000, 20_000]) {
    test(`64 scanning globs against ${n} 63-character names: refused before any matching`, () => {
      const d = within(500, 'injection', () => inject(pod({ 'outrigger.dev/inject': 'scan' }, longNames(n)), scanning, ctx));
      assert.equal(d.outcome, 'denied');
      assert.equal(d.reason, 'invalid-result');
      assert.match(d.message, new RegExp(`takes ${n * 64} checks, more than the ${MAX_TARGET_CHECKS} Outrigger does for one pod`));
    });
  }

  test('a status record whose check would take more checks than the bound is not trusted, and nothing is matched', () => {
    const hash = scanning.byName.get('scan')?.hash as string;
    const status = JSON.stringify({ v: 1, profiles: [{ name: 'scan', version: '1', hash, mode: 'native' }] });
    const names = longNames(1_000);
    const d = within(500, 'injection', () => inject(pod({ 'outrigger.dev/inject': 'scan', 'outrigger.dev/status': status }, names), scanning, ctx));
    assert.equal(d.outcome, 'denied');
    assert.match(d.message, /takes 64000 checks, more than the 16384 Outrigger does for one pod/);
    assert.ok(
      d.warnings.some((w) => /outrigger\.dev\/status does not match the pod \(matching the pod's containers .* takes 64000 checks/.test(w)),
      d.warnings.join('\n'),
    );
  });

  test('a 100,000-character container name matches no glob and costs no scan', () => {
    const globs = Array.from({ length: 64 }, (_, i) => `*${'a'.repeat(60)}${String.fromCharCode(98 + (i % 20))}`);
    const set = profilesFromYaml(profileYaml('scan', { version: '1', targets: globs, env: [{ name: 'A', value: '1' }] }));
    const long = `${'a'.repeat(99_999)}b`;
    const d = within(500, 'injection', () => inject(pod({ 'outrigger.dev/inject': 'scan' }, [long]), set, ctx));
    assert.deepEqual(envsOf(d.pod), [], 'a name the API server rejects is no target, though every glob would match it');
  });

  // As a RegExp (`.*` per star) these took tens of seconds against one 40-character name.
  for (const g of ['*********z', `${'*'.repeat(62)}z`, `${'*?'.repeat(31)}z`]) {
    test(`${g.length}-character glob ${JSON.stringify(g.slice(0, 12))}… against 63-character names`, () => {
      const set = profilesFromYaml(profileYaml('agent', { version: '1', targets: [g], env: [{ name: 'A', value: '1' }] }));
      const names = Array.from({ length: 20 }, (_, i) => `${'a'.repeat(60)}${String(i).padStart(3, '0')}`);
      const d = within(500, 'injection', () => inject(pod({ 'outrigger.dev/inject': 'agent' }, names), set, ctx));
      assert.equal(d.outcome, 'injected', d.message);
      const envs = (d.pod.spec as { containers: { env?: unknown[] }[] }).containers.map((c) => c.env);
      assert.deepEqual(
        envs,
        names.map(() => undefined),
        'no name ends in "z": nothing is targeted',
      );
    });
  }
});

describe('annotation values', () => {
  const agent = (overrides: object = {}) =>
    profilesFromYaml(profileYaml('agent', { version: '1', containers: [{ name: 'agent', image: 'example.com/agent:1' }], overrides }));

  test('a resources override with 3 MB of digits is an invalid-override, at once', () => {
    const huge = JSON.stringify({ limits: { memory: '9'.repeat(3_000_000) } });
    const d = within(500, 'injection', () =>
      inject(pod({ 'outrigger.dev/inject': 'agent', 'outrigger.dev/agent.resources': huge }, ['app']), agent({ resources: true }), ctx),
    );
    assert.equal(d.reason, 'invalid-override');
    assert.match(d.message, /outrigger\.dev\/agent\.resources: the value is longer than the 256 KiB the API server allows for all annotations together/);
  });

  test('a quantity longer than any the API server stores is an invalid-override naming the field', () => {
    const res = JSON.stringify({ requests: { cpu: `${'1'.repeat(100_000)}m` } });
    const d = within(500, 'injection', () =>
      inject(pod({ 'outrigger.dev/inject': 'agent', 'outrigger.dev/agent.resources': res }, ['app']), agent({ resources: true }), ctx),
    );
    assert.equal(d.reason, 'invalid-override');
    assert.match(d.message, /outrigger\.dev\/agent\.resources: requests\.cpu is 100001 characters long; a quantity has at most 64/);
  });

  test("a pod's own container with a 1 MB quantity costs no BigInt parse", () => {
    const p = deepFreeze({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', annotations: { 'outrigger.dev/inject': 'agent' } },
      spec: { containers: [{ name: 'app', image: 'app:1', resources: { limits: { memory: '9'.repeat(1_000_000) } } }] },
    }) as JsonObject;
    const d = within(500, 'injection', () => inject(p, agent(), ctx));
    assert.equal(d.outcome, 'injected', d.message);
  });

  test('an image-tag override of 1 MB is refused without echoing it', () => {
    const d = within(500, 'injection', () =>
      inject(pod({ 'outrigger.dev/inject': 'agent', 'outrigger.dev/agent.image-tag': 'v'.repeat(1_000_000) }, ['app']), agent({ imageTag: true }), ctx),
    );
    assert.equal(d.reason, 'invalid-override');
    assert.ok(d.message.length < 300, `message of ${d.message.length} characters`);
  });

  for (const [what, value] of [
    ['6 MB of commas', ','.repeat(6_000_000)],
    ['a million repeats of a name', 'agent,'.repeat(1_000_000)],
  ] as const) {
    test(`an inject list of ${what} is refused as invalid-annotation, in bounded time`, () => {
      const d = within(500, 'injection', () => inject(pod({ 'outrigger.dev/inject': value }, ['app']), agent(), ctx));
      assert.equal(d.outcome, 'unchanged');
      assert.ok(
        d.warnings.some((w) => w.includes('outrigger.dev/inject is longer than the 256 KiB')),
        d.warnings.join('\n'),
      );
    });
  }
});

describe('templates', () => {
  test('a template repeating a 200 KB annotation is refused before it renders 400 MB', () => {
    const args = Array(20).fill("{{ pod.annotations['big'] }}".repeat(100));
    const set = profilesFromYaml(profileYaml('agent', { version: '1', containers: [{ name: 'agent', image: 'example.com/agent:1', args }] }));
    const d = within(500, 'injection and its patch as JSON', () => {
      const out = inject(pod({ 'outrigger.dev/inject': 'agent', big: 'x'.repeat(200_000) }, ['app']), set, ctx);
      JSON.stringify(out.patch);
      return out;
    });
    assert.equal(d.reason, 'template-error');
    assert.match(d.message, /spec\.containers\[0\]\.args\[0\]: the templates of the profiles this pod requests render more than 1048576 characters together/);
  });

  test('64 profiles each rendering just under 1 MiB share one budget: the pod is refused, not a 64 MB patch', () => {
    const set = manyRenderingProfiles(64);
    const d = within(2000, 'injection and its patch as JSON', () => {
      const out = inject(pod(manyRenderingAnnotations(64), ['app']), set, ctx);
      JSON.stringify(out.patch);
      return out;
    });
    assert.equal(d.outcome, 'denied');
    assert.equal(d.reason, 'template-error');
    assert.match(
      d.message,
      /^profile "p1" cannot be injected: spec\.containers\[0\]\.env\[\d\]\.value: the templates of the profiles this pod requests render more than 1048576 characters together$/,
    );
  });

  test('a rendered env value copied into every targeted container counts once per container', () => {
    const set = profilesFromYaml(profileYaml('wide', { version: '1', env: [{ name: 'BIG', value: "{{ pod.annotations['a'] }}" }] }));
    const names = Array.from({ length: 200 }, (_, i) => `app-${i}`);
    const d = within(2000, 'injection', () => inject(pod({ 'outrigger.dev/inject': 'wide', a: 'x'.repeat(10_000) }, names), set, ctx));
    assert.equal(d.reason, 'invalid-result');
    assert.match(d.message, /the pod would be about \d+ bytes as JSON, more than the 1572864 the API server stores/);
    const fits = inject(pod({ 'outrigger.dev/inject': 'wide', a: 'x'.repeat(10_000) }, names.slice(0, 100)), set, ctx);
    assert.equal(fits.outcome, 'injected', fits.message);
  });

  test('env copied into every targeted container: a pod larger than the API server stores is refused before the diff', () => {
    const set = profilesFromYaml(profileYaml('wide', { version: '1', env: [{ name: 'BIG', value: 'x'.repeat(10_000) }] }));
    const names = Array.from({ length: 200 }, (_, i) => `app-${i}`);
    const d = within(2000, 'injection', () => inject(pod({ 'outrigger.dev/inject': 'wide' }, names), set, ctx));
    assert.equal(d.outcome, 'denied');
    assert.equal(d.reason, 'invalid-result');
    assert.match(d.message, /^profile "wide" cannot be injected: the pod would be about \d+ bytes as JSON, more than the 1572864 the API server stores/);
    assert.deepEqual(d.patch, []);
  });
});

describe('YAML aliases', () => {
  const laughs = ['l0: &l0 "lol lol lol lol"'];
  for (let i = 1; i < 10; i++)
    laughs.push(
      `l${i}: &l${i} [${Array(9)
        .fill(`*l${i - 1}`)
        .join(', ')}]`,
    );
  const cases: [string, string][] = [
    // 106 KB of text that expanded to 100 MB.
    ['one 100 KB string aliased 999 times', `a: &a "${'x'.repeat(100_000)}"\nb: [${Array(999).fill('*a').join(', ')}]\n`],
    ['nine levels of nine aliases', `${laughs.join('\n')}\n`],
    [
      'a map aliased into a thousand list items',
      `m: &m {${Array.from({ length: 200 }, (_, i) => `k${i}: "${'v'.repeat(50)}"`).join(', ')}}\nl: [${Array(999).fill('*m').join(', ')}]\n`,
    ],
  ];
  for (const [what, text] of cases) {
    test(`${what}: refused, at once`, () => {
      const rss = process.memoryUsage().rss;
      assert.throws(
        () => within(500, 'parsing', () => parseYamlDocuments(text, 'bomb.yaml')),
        /^Error: bomb\.yaml, document 1 \(line \d+\): aliases expand this document by more than 4 MiB; is it a YAML bomb\?$/,
      );
      const grew = process.memoryUsage().rss - rss;
      assert.ok(grew < 128 * 1024 * 1024, `RSS grew by ${Math.round(grew / 1024 / 1024)} MiB`);
    });
  }
});

describe('on the server, while other clients are answered', () => {
  // Any tenant can create these in their own namespace: the schema allows both.
  const profiles: Record<string, string> = {
    'scan.yaml': profileYaml('scan', { version: '1', targets: scanningGlobs, env: [{ name: 'A', value: '1' }] }),
    'long-scan.yaml': profileYaml('long-scan', {
      version: '1',
      targets: Array.from({ length: 64 }, (_, i) => `*${'a'.repeat(60)}${String.fromCharCode(98 + (i % 20))}`),
      env: [{ name: 'A', value: '1' }],
    }),
    'tunable.yaml': profileYaml('tunable', { version: '1', containers: [{ name: 'agent', image: 'example.com/agent:1' }], overrides: { resources: true } }),
  };
  for (const f of ['envoy.yaml', 'log-shipper.yaml', 'secrets-agent.yaml']) profiles[f] = readFileSync(join(EXAMPLE_PROFILES, f), 'utf8');
  for (let i = 0; i < 64; i++) profiles[`p${i}.yaml`] = manyRenderingYaml(i);
  let t: Target;
  before(async () => {
    t = await startTarget({ profiles });
  });
  after(() => t.stop());

  /** Sends `body` `n` times, `concurrent` at a time; each answer within `ms`. */
  const flood = async (body: string, n: number, concurrent: number, ms: number) => {
    const one = async () => {
      const start = performance.now();
      const r = await send(t.port, { body, ca: t.caPem });
      const took = performance.now() - start;
      assert.ok(took < ms, `the attacking review took ${Math.round(took)} ms (bound ${ms} ms)`);
      assert.equal(r.status, 200, r.text.slice(0, 300));
      return r.json().response as { allowed: boolean; patch?: string; status?: { message?: string } };
    };
    const out: Awaited<ReturnType<typeof one>>[] = [];
    for (let i = 0; i < n; i += concurrent) out.push(...(await Promise.all(Array.from({ length: Math.min(concurrent, n - i) }, one))));
    return out;
  };

  // 64 globs that scan every name to its end, against as many 63-character names as fit: before
  // the bound on checks per pod, 2,000 names blocked the event loop 2.5 s and 20,000 for 31 s.
  for (const n of [256, 2_000, 20_000]) {
    test(`64 scanning globs against ${n} 63-character container names`, { timeout: 120_000 }, async () => {
      const containers = longNames(n).map((name) => ({ name, image: 'app:1' }));
      const body = JSON.stringify(review(shopPod({ 'outrigger.dev/inject': 'scan' }, { containers })));
      const { result, watch } = await underAttack(t, () => flood(body, 2, 1, 2000));
      // Reading a 1.7 MB review (parse, freeze) costs the server up to a few hundred ms on a busy
      // machine before any matching; the bound then still catches the 31 s the matching once took.
      assertWithinBudget(watch, n > 10_000 ? { probeMs: 500 } : {});
      for (const res of result) {
        if (n * scanningGlobs.length <= MAX_TARGET_CHECKS) {
          assert.equal(res.allowed, true);
          const ops = decodePatch(res.patch) as { path: string }[];
          assert.deepEqual(
            ops.filter((o) => o.path.includes('/env')),
            [],
            'no name holds a letter after 28 "a"s',
          );
        } else {
          assert.equal(res.allowed, false);
          assert.match(res.status?.message ?? '', new RegExp(`takes ${n * 64} checks, more than the ${MAX_TARGET_CHECKS} Outrigger does for one pod`));
        }
      }
    });
  }

  // The API server checks names only after the webhooks; each glob used to scan all of it.
  test('a container name of 100,000 characters against 64 globs', { timeout: 120_000 }, async () => {
    const body = JSON.stringify(review(shopPod({ 'outrigger.dev/inject': 'long-scan' }, { containers: [{ name: `${'a'.repeat(99_999)}b`, image: 'app:1' }] })));
    const { result, watch } = await underAttack(t, () => flood(body, 4, 2, 1000));
    assertWithinBudget(watch);
    for (const res of result) {
      const ops = res.patch ? (decodePatch(res.patch) as { path: string }[]) : [];
      assert.deepEqual(
        ops.filter((o) => o.path.includes('/env')),
        [],
        'a name that is no container name is no target',
      );
    }
  });

  // Each profile renders just under 1 MiB; together they once answered with 87 MB at 772 MiB RSS.
  test('64 profiles copying a 200 KiB annotation into 5 env values each', { timeout: 120_000 }, async () => {
    const body = JSON.stringify(review(shopPod(manyRenderingAnnotations(64))));
    const { result, watch } = await underAttack(t, () => flood(body, 4, 2, 2000));
    assertWithinBudget(watch);
    for (const res of result) {
      assert.equal(res.allowed, false);
      assert.match(res.status?.message ?? '', /render more than 1048576 characters together/);
    }
  });

  // Within the 256 KiB the API server allows for annotations, so only the quantity cap stops it:
  // BigInt work on 250,000 digits costs the event loop about 100 ms each time.
  test('a resources override with a quarter-megabyte quantity', { timeout: 120_000 }, async () => {
    const annotations = {
      'outrigger.dev/inject': 'tunable',
      'outrigger.dev/tunable.resources': JSON.stringify({ limits: { memory: `${'9'.repeat(250_000)}Mi` } }),
    };
    const body = JSON.stringify(review(shopPod(annotations)));
    const { result, watch } = await underAttack(t, () => flood(body, 2, 1, 1000));
    assertWithinBudget(watch);
    for (const res of result) {
      assert.equal(res.allowed, false);
      assert.match(res.status?.message ?? '', /outrigger\.dev\/tunable\.resources: limits\.memory is 250002 characters long; a quantity has at most 64/);
    }
  });
});
