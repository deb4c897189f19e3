/**
 * Bounded fuzzing: 100,000 mutated AdmissionReviews built from real ones (fields dropped or
 * replaced with wrong types, random and unicode strings, huge numbers, deep nesting, broken bytes),
 * most in-process through the same decode + handle path the server uses, a share over HTTPS.
 * Invariants: nothing throws; every answer is a valid AdmissionReview echoing apiVersion and uid
 * (always, when the request had a usable uid), or a precise HTTP 4xx with a stable code; a patch
 * always applies to the request's pod (the API server applies it with failurePolicy Ignore too)
 * and gives the engine's pod. Seeded: FUZZ_SEED=n reproduces a run, FUZZ_CASES=n sizes it.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import { EXAMPLE_PROFILES, pod, review, send, startTestServer, TEST_PROFILES, type TestServer } from '../../test/support/webhook.ts';
import { type AdmissionResult, type HandlerConfig, handleDecoded } from '../admission/handle.ts';
import { decodeReview, type HttpError, REVIEW_VERSIONS } from '../admission/review.ts';
import { HTTP_ERRORS } from '../common/errors.ts';
import { isObject } from '../common/json.ts';
import { applyPatch, deepEqual, inject, type JsonObject, type JsonValue } from '../engine/index.ts';
import { parseYamlDocuments } from '../io/yaml.ts';
import { findPodSites } from '../manifest/workloads.ts';
import { checkJsonBudget, DEFAULT_JSON_BUDGET } from './json-budget.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const CASES = Number(process.env.FUZZ_CASES ?? 100_000);
const HTTP_SHARE = Math.max(1, Math.floor(CASES / 33)); // ~3% over HTTPS

/** mulberry32: small, fast, good enough to reproduce. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T,
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof prng>;

const extraProfiles = [
  profileYaml('selected', {
    version: '3.0.0',
    failurePolicy: 'ignore',
    selector: { podSelector: { matchLabels: { fuzz: 'yes' } } },
    containers: [{ name: 'selected', image: "example.com/sel:{{ pod.labels['app'] ?? 'x' }}" }],
    volumes: [{ name: 'sel-data', emptyDir: {} }],
    volumeMounts: [{ name: 'sel-data', mountPath: '/sel' }],
    env: [{ name: 'SEL_NS', value: '{{ namespace.name }}' }],
  }),
  // Globs that backtrack as regular expressions, template values held to rules, per-pod overrides.
  profileYaml('globbed', {
    version: '1',
    failurePolicy: 'ignore',
    targets: ['*********z', '*?*-*', 'w*b'],
    templateValues: { rule: 'label-value' },
    overrides: { imageTag: true, resources: true },
    containers: [{ name: 'globbed', image: 'example.com/glob:1', args: ["--team={{ pod.annotations['team'] ?? 'none' | dns-label }}"] }],
    env: [{ name: 'GLOB_APP', value: "{{ pod.labels['app'] ?? 'x' }}" }],
  }),
];
const profileText = [
  ...['envoy.yaml', 'log-shipper.yaml', 'secrets-agent.yaml'].map((f) => readFileSync(`${EXAMPLE_PROFILES}/${f}`, 'utf8')),
  ...Object.values(TEST_PROFILES),
  ...extraProfiles,
].join('\n---\n');
const set = profilesFromYaml(profileText);
const NAMES = [...set.byName.keys()];

// Its own sequence, so the other mutations draw exactly what they did before forged records were added.
const forging = prng(SEED ^ 0x5eed);

/** A record copied or hand-written with a current profile's public hash: repeated, naming anything, with made-up created fields. */
function forgedRecord(r: Rng): string {
  const p = set.byName.get(r.pick(NAMES));
  const entry = {
    name: p?.name ?? 'x',
    version: p?.version ?? '0',
    hash: p?.hash ?? 'sha256:0',
    mode: r.pick(['native', 'classic']),
    ...(r.chance(0.5) ? { containers: [r.pick([...NAMES, 'web', 'app', randomString(r)])] } : {}),
    ...(r.chance(0.5) ? { initContainers: [r.pick([...NAMES, 'web', randomString(r)])] } : {}),
    ...(r.chance(0.3) ? { targets: { [r.pick(['web', 'app', randomString(r)])]: { env: [randomString(r)] } } } : {}),
  };
  // Now and then a long list: its removal must stay linear.
  const created = Array.from({ length: r.chance(0.02) ? 5000 : r.int(40) }, () =>
    r.pick(['spec', 'metadata', 'spec.volumes', 'spec.initContainers=null', `spec.containers[${r.pick(['web', randomString(r)])}].env`, randomString(r)]),
  );
  return JSON.stringify({ v: 1, profiles: r.chance(0.2) ? [entry, entry] : [entry], ...(r.chance(0.5) ? { created } : {}) });
}

function seeds(): JsonObject[] {
  const pods: JsonObject[] = [];
  const shop = readFileSync(new URL('../../examples/workloads/shop.yaml', import.meta.url), 'utf8');
  for (const doc of parseYamlDocuments(shop, 'shop.yaml')) for (const s of findPodSites(doc.value)) pods.push({ apiVersion: 'v1', kind: 'Pod', ...s.pod });
  pods.push(pod(), pod({}, { containers: [{ name: 'a', image: 'x' }], volumes: [{ name: 'outrigger-logs', emptyDir: {} }] }));
  pods.push(
    pod(
      {},
      { initContainers: [{ name: 'init', image: 'busybox' }], containers: [{ name: 'app', image: 'x', env: [{ name: 'LOG_DIR', value: '/elsewhere' }] }] },
    ),
  );
  const asks = ['', 'log-shipper', 'envoy', 'secrets-agent', 'probe', 'strict', 'soft', 'envoy, log-shipper, secrets-agent', 'probe, soft', 'false', 'nope'];
  const out: JsonObject[] = [];
  for (const p of pods) {
    for (const ask of asks) {
      const meta = { ...(p.metadata as JsonObject) };
      const annotations = { ...((meta.annotations as JsonObject) ?? {}) };
      if (ask === '') delete annotations['outrigger.dev/inject'];
      else annotations['outrigger.dev/inject'] = ask;
      const withAsk = { ...p, metadata: { ...meta, annotations, labels: { ...((meta.labels as JsonObject) ?? {}), fuzz: 'yes' } } };
      out.push(review(withAsk));
      // An already injected pod (re-injection, stale records) as a seed too.
      const d = inject(withAsk, set, { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } });
      if (d.outcome === 'injected') out.push(review(d.pod, { uid: 'reinject' }));
    }
  }
  out.push(review(pod(), { operation: 'UPDATE', oldObject: pod() }), review({ data: { a: 'b' } }, { kind: { group: '', version: 'v1', kind: 'ConfigMap' } }));
  out.push(review(pod({ 'outrigger.dev/inject': 'probe' }), { apiVersion: 'admission.k8s.io/v1beta1', dryRun: true }));
  return out;
}

const UNICODE = ['é', 'ß', '𝔘', '😀', '\u0000', '\u202e', '\ud800', '\udfff', '\u2028', '中文', 'ﬀ', '\u0301', '"', '\\', '/', '~1', '~0', ',', ' ', '\n'];

function randomString(r: Rng): string {
  const n = r.pick([0, 1, 2, 5, 16, 63, 64, 253, 1000]);
  let s = '';
  for (let i = 0; i < n; i++) s += r.chance(0.3) ? r.pick(UNICODE) : String.fromCharCode(32 + r.int(95));
  return s;
}

function deep(r: Rng): JsonValue {
  let v: JsonValue = r.chance(0.5) ? 'x' : {};
  const depth = r.chance(0.05) ? 2500 : r.pick([5, 10, 50, 200]);
  for (let i = 0; i < depth; i++) v = r.chance(0.5) ? [v] : { k: v };
  return v;
}

function randomValue(r: Rng): JsonValue {
  switch (r.int(14)) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick([0, -1, 1, 1e308, -1e308, 2 ** 53 + 1, 0.5, 4294967296]);
    case 3:
    case 4:
      return randomString(r);
    case 5:
      return [];
    case 6:
      return {};
    case 7:
      return deep(r);
    case 8:
      return 'x'.repeat(r.chance(0.02) ? 100_000 : r.pick([300, 5_000]));
    case 9:
      return r.pick(NAMES);
    case 10:
      return Array.from({ length: r.int(4) }, () => randomValue(r));
    case 11:
      return { name: r.pick([...NAMES, 'web', 'app', 'outrigger-logs', 'outrigger-secrets', randomString(r)]), image: randomString(r) };
    case 12:
      return ['__proto__', 'constructor', 'toString'].includes(randomString(r)) ? {} : JSON.parse('{"__proto__":{"polluted":true}}');
    default:
      return r.pick(['CREATE', 'UPDATE', 'Pod', 'pods', 'v1', '', 'admission.k8s.io/v1', 'AdmissionReview']);
  }
}

type Slot = { parent: JsonObject | JsonValue[]; key: string | number };

function slots(root: JsonValue, limit = 3000): Slot[] {
  const out: Slot[] = [];
  const stack: JsonValue[] = [root];
  while (stack.length > 0 && out.length < limit) {
    const v = stack.pop() as JsonValue;
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        out.push({ parent: v, key: i });
        stack.push(x);
      });
    } else if (isObject(v)) {
      for (const k of Object.keys(v)) {
        out.push({ parent: v, key: k });
        stack.push(v[k] as JsonValue);
      }
    }
  }
  return out;
}

function at(root: JsonObject, path: string[]): JsonObject | undefined {
  let cur: JsonValue | undefined = root;
  for (const k of path) cur = isObject(cur) ? cur[k] : undefined;
  return isObject(cur) ? cur : undefined;
}

function mutateTree(r: Rng, rv: JsonObject): void {
  const req = at(rv, ['request']);
  const meta = at(rv, ['request', 'object', 'metadata']);
  const spec = at(rv, ['request', 'object', 'spec']);
  switch (r.int(10)) {
    case 0:
    case 1:
    case 2: {
      const all = slots(rv);
      if (all.length === 0) return;
      const s = r.pick(all);
      if (r.chance(0.3)) {
        if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
        else delete s.parent[s.key as string];
      } else if (Array.isArray(s.parent)) s.parent[s.key as number] = randomValue(r);
      else s.parent[s.key as string] = randomValue(r);
      return;
    }
    case 3: {
      if (!meta) return;
      if (!isObject(meta.annotations)) meta.annotations = {};
      const ann = meta.annotations as JsonObject;
      const parts = Array.from({ length: r.int(5) }, () => (r.chance(0.7) ? r.pick([...NAMES, 'false', 'true', '', 'FALSE']) : randomString(r)));
      ann['outrigger.dev/inject'] = r.chance(0.9)
        ? parts.join(r.pick([',', ', ', ' , ', ',,']))
        : r.chance(0.5)
          ? randomValue(r)
          : `${r.pick(NAMES)},`.repeat(r.int(3000));
      return;
    }
    case 4: {
      if (!meta) return;
      if (!isObject(meta.annotations)) meta.annotations = {};
      const ann = meta.annotations as JsonObject;
      const status = typeof ann['outrigger.dev/status'] === 'string' ? (ann['outrigger.dev/status'] as string) : '{"v":1,"profiles":[]}';
      const choices: JsonValue[] = [
        status.slice(0, r.int(status.length + 1)),
        status.replace(/"[a-z-]+"/, `"${randomString(r)}"`),
        JSON.stringify({ v: 1, profiles: [{ name: r.pick(NAMES), version: '0', hash: 'sha256:0', mode: r.pick(['native', 'classic', 'x']) }] }),
        JSON.stringify(randomValue(r)),
        randomValue(r),
      ];
      ann['outrigger.dev/status'] = r.pick(choices);
      if (forging.chance(0.25)) ann['outrigger.dev/status'] = forgedRecord(forging);
      if (r.chance(0.3))
        ann[`outrigger.dev/${r.pick(NAMES)}.${r.pick(['image-tag', 'resources'])}`] = r.pick([
          randomString(r),
          '{"limits":{"memory":"1Gi"}}',
          '{"requests":{"cpu":"-1"}}',
          `{"limits":{"memory":"${'9'.repeat(60 + r.int(5000))}Mi"}}`,
          'v'.repeat(100 + r.int(100)),
        ]);
      if (r.chance(0.1)) ann.team = r.pick(['payments', 'x; rm -rf /', '../../etc', 'a\nb', randomString(r)]);
      return;
    }
    case 5: {
      if (!req) return;
      const field = r.pick(['uid', 'kind', 'resource', 'operation', 'namespace', 'dryRun', 'subResource', 'name', 'object', 'oldObject', 'userInfo']);
      if (r.chance(0.3)) delete req[field];
      else req[field] = randomValue(r);
      return;
    }
    case 6:
    case 7: {
      if (!spec) return;
      const list = r.pick(['containers', 'initContainers', 'volumes', 'imagePullSecrets']);
      const items = Array.isArray(spec[list]) ? (spec[list] as JsonValue[]) : [];
      const op = r.int(4);
      if (op === 0) items.push(randomValue(r));
      else if (op === 1 && items.length > 0) items.push(structuredClone(r.pick(items)));
      else if (op === 2) {
        const c = items.find(isObject);
        if (c) c[r.pick(['name', 'env', 'volumeMounts', 'ports', 'restartPolicy', 'resources', 'image'])] = randomValue(r);
      } else spec[list] = randomValue(r);
      if (op !== 3) spec[list] = items;
      return;
    }
    case 8: {
      if (!meta) return;
      meta[r.pick(['name', 'generateName', 'namespace', 'labels', 'annotations'])] = r.chance(0.5) ? randomValue(r) : { app: randomString(r), fuzz: 'yes' };
      return;
    }
    default: {
      const top = r.pick(['apiVersion', 'kind', 'request']);
      if (r.chance(0.5)) delete rv[top];
      else rv[top] = randomValue(r);
    }
  }
}

function mutateBytes(r: Rng, text: string): Buffer {
  const b = Buffer.from(text);
  switch (r.int(5)) {
    case 0:
      return b.subarray(0, r.int(b.length));
    case 1: {
      const c = Buffer.from(b);
      c[r.int(c.length)] = r.pick([0xff, 0xc3, 0x80, 0x00, 0x22, 0x7b, 0x5d]);
      return c;
    }
    case 2: {
      const i = text.indexOf('"spec":');
      const nest = r.chance(0.01) ? 100_000 : r.pick([100, 1000, 5000]);
      return i < 0 ? b : Buffer.from(`${text.slice(0, i)}"x":${'['.repeat(nest)}${']'.repeat(nest)},${text.slice(i)}`);
    }
    case 3:
      return Buffer.from(text.replace(/"uid":"[^"]*"/, `"uid":${r.pick(['1', 'null', '""', '"\\ud800"', '{}', '"ok"'])}`));
    default:
      return Buffer.concat([b, Buffer.from(r.pick([' ', 'x', '}', '\n\n', ',{}']))]);
  }
}

interface Case {
  body: Buffer;
  /** The request as sent, when it is still JSON. */
  value?: JsonValue;
}

/** `base`: the seed reviews as JSON text (parsing is the cheapest deep copy). */
function makeCase(r: Rng, base: readonly string[]): Case {
  const rv = JSON.parse(r.pick(base)) as JsonObject;
  const n = 1 + r.int(3);
  for (let i = 0; i < n; i++) mutateTree(r, rv);
  let text: string;
  try {
    text = JSON.stringify(rv);
  } catch {
    return makeCase(r, base); // a mutation made it unserialisable (too deep twice over): draw again
  }
  if (r.chance(0.1)) {
    const body = mutateBytes(r, text);
    // When the broken bytes are still UTF-8 JSON, the answer is checked against what they say.
    try {
      if (isUtf8(body)) return { body, value: JSON.parse(body.toString('utf8')) };
    } catch {}
    return { body };
  }
  // Every value the mutations make survives JSON unchanged (no undefined, NaN or -0 is ever put in).
  return { body: Buffer.from(text), value: rv };
}

/** The uid the API server would expect echoed, when the envelope is usable. */
function expectedHeader(v: JsonValue | undefined): { apiVersion: string; uid: string } | undefined {
  if (!isObject(v) || v.kind !== 'AdmissionReview' || !(REVIEW_VERSIONS as readonly string[]).includes(v.apiVersion as string)) return undefined;
  const req = v.request;
  if (!isObject(req) || typeof req.uid !== 'string' || req.uid === '') return undefined;
  return { apiVersion: v.apiVersion as string, uid: req.uid };
}

const cfg: HandlerConfig = { profiles: set, kubeVersion: { major: 1, minor: 33 } };
// An old cluster too: native sidecars unsupported, so `sidecarMode: native` profiles fail there.
const cfgOld: HandlerConfig = { profiles: set, kubeVersion: { major: 1, minor: 28 } };

/** `enginePod`: the decision's pod when the engine ran in-process; otherwise the engine is run again here. */
function checkAnswer(c: Case, status: number, text: string, where: string, engine?: { pod: JsonValue; request: JsonValue }): void {
  const header = expectedHeader(c.value);
  if (status !== 200) {
    assert.ok(status >= 400 && status < 500, `${where}: HTTP ${status}`);
    assert.equal(header, undefined, `${where}: a review with uid ${header?.uid} got HTTP ${status}: ${text.slice(0, 200)}`);
    const e = JSON.parse(text).error;
    assert.ok(Object.hasOwn(HTTP_ERRORS, e.code), `${where}: unknown code ${e.code}`);
    assert.equal(HTTP_ERRORS[e.code as keyof typeof HTTP_ERRORS], status);
    return;
  }
  const body = JSON.parse(text);
  assert.deepEqual(Object.keys(body), ['apiVersion', 'kind', 'response'], where);
  assert.equal(body.kind, 'AdmissionReview');
  assert.ok((REVIEW_VERSIONS as readonly string[]).includes(body.apiVersion), where);
  const resp = body.response;
  assert.equal(typeof resp.uid, 'string');
  if (header) {
    assert.equal(resp.uid, header.uid, where);
    assert.equal(body.apiVersion, header.apiVersion, where);
  }
  assert.equal(typeof resp.allowed, 'boolean', where);
  if (!resp.allowed) {
    assert.ok([400, 403].includes(resp.status.code), `${where}: status ${JSON.stringify(resp.status)}`);
    assert.ok(typeof resp.status.message === 'string' && resp.status.message.length > 0);
    assert.equal(resp.patch, undefined);
  }
  if (resp.warnings !== undefined) {
    for (const w of resp.warnings)
      assert.ok(typeof w === 'string' && Array.from(w).length <= 256 && w.isWellFormed() && !/[\p{Cc}]/u.test(w), `${where}: warning ${JSON.stringify(w)}`);
  }
  assert.equal(resp.patch === undefined, resp.patchType === undefined, where);
  if (resp.patch !== undefined) {
    assert.equal(resp.patchType, 'JSONPatch');
    const ops = JSON.parse(Buffer.from(resp.patch, 'base64').toString('utf8'));
    assert.ok(Array.isArray(ops) && ops.length > 0, where);
    const object = (c.value as JsonObject).request as JsonObject;
    // The API server applies the patch: it must apply cleanly, and give the engine's pod. (Applied to
    // the very pod object the engine saw when there is one, so unchanged subtrees compare by identity.)
    const patched = applyPatch(engine ? engine.request : (object.object as JsonValue), ops);
    let expected = engine?.pod;
    if (expected === undefined) {
      const ns =
        typeof object.namespace === 'string' && object.namespace !== '' ? object.namespace : ((object.object as JsonObject).metadata as JsonObject).namespace;
      expected = inject(object.object as JsonObject, set, { namespace: ns as string, kubeVersion: cfg.kubeVersion }).pod;
    }
    assert.ok(deepEqual(patched, expected), `${where}: patched pod differs from the engine's pod`);
  }
}

let server: TestServer;
before(async () => {
  server = await startTestServer({ profiles: Object.fromEntries(profileText.split('\n---\n').map((t, i) => [`p${i}.yaml`, t])) });
});
after(async () => {
  await server.stop();
});

/** The case with an extra field nested past the JSON budget's objects and arrays, before `spec`. */
function overBudget(c: Case): Case {
  const text = c.body.toString('latin1');
  const i = text.indexOf('"spec":');
  const nest = DEFAULT_JSON_BUDGET.maxContainers + 1;
  const body =
    i < 0
      ? Buffer.from(`[${'['.repeat(nest)}${']'.repeat(nest)}]`)
      : Buffer.from(`${text.slice(0, i)}"x":${'['.repeat(nest)}${']'.repeat(nest)},${text.slice(i)}`, 'latin1');
  return { body };
}
let overBudgetSeen = 0;

test(`fuzz: ${CASES} mutated AdmissionReviews (seed ${SEED})`, async () => {
  const r = prng(SEED);
  const base = seeds().map((v) => JSON.stringify(v));
  const outcomes = new Map<string, number>();
  const internal: string[] = [];
  const inProcess = CASES - HTTP_SHARE;
  const t0 = performance.now();
  for (let i = 0; i < inProcess; i++) {
    const c = makeCase(r, base);
    const where = `seed ${SEED} case ${i}`;
    let result: AdmissionResult | HttpError;
    let decoded: ReturnType<typeof decodeReview>;
    try {
      decoded = decodeReview(c.body);
      result = handleDecoded(decoded, i % 4 === 3 ? cfgOld : cfg);
    } catch (e) {
      assert.fail(`${where}: the handler threw ${(e as Error).stack}`);
    }
    if ('response' in result) {
      outcomes.set(`${result.outcome}/${result.reason}`, (outcomes.get(`${result.outcome}/${result.reason}`) ?? 0) + 1);
      if (result.reason === 'internal-error') internal.push(`${where}: ${result.message}`);
      const engine = result.decision && decoded.ok === true ? { pod: result.decision.pod, request: decoded.request.object as JsonValue } : undefined;
      checkAnswer(c, 200, result.body, where, engine);
    } else {
      outcomes.set(`http/${result.code}`, (outcomes.get(`http/${result.code}`) ?? 0) + 1);
      checkAnswer(c, result.status, JSON.stringify({ error: { code: result.code, message: result.message } }), where);
    }
  }

  const tInProcess = performance.now() - t0;
  // The HTTPS share: 8 clients over keep-alive. One case in 50 nests past the server's JSON budget.
  const httpCases = Array.from({ length: HTTP_SHARE }, (_, i) => (i % 50 === 49 ? overBudget(makeCase(r, base)) : makeCase(r, base)));
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < httpCases.length) {
        const i = next++;
        const c = httpCases[i] as Case;
        const reply = await send(server.port, { agent: server.agent, path: '/mutate?timeout=10s', body: c.body });
        const where = `seed ${SEED} https case ${i}`;
        if (checkJsonBudget(c.body, DEFAULT_JSON_BUDGET).ok) checkAnswer(c, reply.status, reply.text, where);
        else {
          // Refused before parsing, whatever the body says: no review the API server sends is that costly.
          assert.equal(reply.status, 413, `${where}: ${reply.text.slice(0, 200)}`);
          assert.equal(JSON.parse(reply.text).error.code, 'body-too-complex', where);
          overBudgetSeen++;
        }
      }
    }),
  );
  if (process.env.FUZZ_VERBOSE) {
    console.log({
      inProcessMs: Math.round(tInProcess),
      httpsMs: Math.round(performance.now() - t0 - tInProcess),
      outcomes: [...outcomes].sort((a, b) => b[1] - a[1]),
    });
  }
  assert.ok(overBudgetSeen > 0, 'the HTTPS share reached the JSON budget');
  const ready = await send(server.port, { agent: server.agent, method: 'GET', path: '/readyz' });
  assert.equal(ready.status, 200);

  assert.deepEqual(internal.slice(0, 5), [], `${internal.length} internal errors (engine bugs)`);
  // The fuzz must reach the interesting paths, not only the decoder's errors.
  for (const key of [
    'injected/injected',
    'denied/name-conflict',
    'denied/unsupported-kube-version',
    'unchanged/not-a-pod-create',
    'errored/malformed-request',
    'http/invalid-json',
    'http/missing-uid',
  ]) {
    assert.ok((outcomes.get(key) ?? 0) > 0, `never reached ${key}: ${JSON.stringify([...outcomes])}`);
  }
  assert.ok((outcomes.get('injected/injected') ?? 0) > CASES / 20, JSON.stringify([...outcomes]));
});
