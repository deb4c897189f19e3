// Attacks through the outrigger.dev/status record, which is pod input: a long forged `created`
// list (uninject's work must stay linear in it) and a copied record on a pod that does not carry
// what it claims (it must not pass for injected): with a look-alike sidecar or token mount, with
// the pod's own init container moved first, or with entries that name another webhook's sidecar.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JsonObject } from '../../src/common/json.ts';
import { inject } from '../../src/engine/inject.ts';
import { applyPatch } from '../../src/engine/patch-apply.ts';
import { uninject } from '../../src/engine/uninject.ts';
import { loadProfiles } from '../../src/profiles/load.ts';
import { profilesFromYaml, profileYaml } from '../support/profiles.ts';
import { decodePatch, EXAMPLE_PROFILES, pod, review, send } from '../support/webhook.ts';
import { assertWithinBudget, startTarget, type Target, underAttack, type Watch } from './support.ts';

/**
 * A pod whose record lists ~250 KB of pod-level `created` fields, over a spec with thousands of
 * (empty) fields: a copy of the spec per entry made this take minutes.
 */
function forgedCreatedList(): JsonObject {
  const created: string[] = [];
  // Bytes of the JSON list: each entry and its quotes and comma.
  for (let size = 0; size < 250_000; ) {
    const entry = `spec.f${created.length}`;
    created.push(entry);
    size += entry.length + 3;
  }
  const p = pod({ 'outrigger.dev/inject': 'log-shipper', 'outrigger.dev/status': JSON.stringify({ v: 1, profiles: [], created }) });
  const spec = p.spec as JsonObject;
  // Many fields, yet fewer distinct keys than the server's JSON budget refuses before parsing.
  for (let i = 0; i < 5_000; i++) spec[`f${i}`] = [];
  return p;
}

/** A well-formed record naming a created env list in each of 3,000 containers (~110 KB). */
function longContainerList(): JsonObject {
  const containers = Array.from({ length: 3000 }, (_, i) => ({ name: `c${i}`, image: 'app:1', env: [] }));
  const created = containers.map((c) => `spec.containers[${c.name}].env`);
  return pod({ 'outrigger.dev/status': JSON.stringify({ v: 1, profiles: [], created }) }, { containers });
}

const ctx = { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } };
const summary = (w: Watch) =>
  `${w.probes} probes, longest /healthz ${w.maxHealthzMs.toFixed(1)} ms, longest review ${w.maxReviewMs.toFixed(1)} ms, peak RSS ${(w.peakRssBytes / 2 ** 20).toFixed(0)} MiB`;
const elapsed = <T>(f: () => T): { value: T; ms: number } => {
  const start = performance.now();
  const value = f();
  return { value, ms: performance.now() - start };
};

/** A mandatory proxy every pod gets: what a copied record would try to skip. */
const GUARD = profileYaml('guard', {
  version: '1',
  mandatory: true,
  selector: { podSelector: {} },
  containers: [{ name: 'guard', image: 'example.com/guard:1', args: ['--enforce'] }],
  env: [{ name: 'HTTPS_PROXY', value: 'http://127.0.0.1:3128' }],
});
const PROFILES: Record<string, string> = { 'guard.yaml': GUARD };
for (const f of ['envoy.yaml', 'log-shipper.yaml', 'secrets-agent.yaml']) PROFILES[f] = readFileSync(join(EXAMPLE_PROFILES, f), 'utf8');

describe('a long created list, in the engine', () => {
  test('a forged pod-level list is refused by uninject and inject, in well under a second', async () => {
    const p = forgedCreatedList();
    const u = elapsed(() => uninject(p));
    assert.deepEqual(u.value, { ok: false, message: 'outrigger.dev/status: created[0] is not a field Outrigger creates' });
    assert.ok(u.ms < 1000, `uninject took ${u.ms.toFixed(0)} ms`);
    const set = await loadProfiles([EXAMPLE_PROFILES]);
    const d = elapsed(() => inject(p, set, ctx));
    assert.equal(d.value.outcome, 'denied');
    assert.match(d.value.message, /created\[0\] is not a field Outrigger creates/);
    assert.ok(d.ms < 1000, `inject took ${d.ms.toFixed(0)} ms`);
  });

  test('a well-formed list over thousands of containers is undone in well under a second', () => {
    const u = elapsed(() => uninject(longContainerList()));
    assert.ok(u.value.ok);
    const containers = (u.value.pod.spec as JsonObject).containers as JsonObject[];
    assert.equal(containers.length, 3000);
    assert.ok(containers.every((c) => !Object.hasOwn(c, 'env')));
    assert.ok(u.ms < 1000, `uninject took ${u.ms.toFixed(0)} ms`);
  });
});

describe('a record repeating one profile', () => {
  test('thousands of copies of a current entry over thousands of targeted containers are refused in well under a second', () => {
    const set = profilesFromYaml(GUARD);
    const containers = Array.from({ length: 2000 }, (_, i) => ({ name: `c${i}`, image: 'app:1' }));
    const injected = inject(pod({}, { containers }), set, ctx).pod;
    const [entry] = JSON.parse(((injected.metadata as JsonObject).annotations as JsonObject)['outrigger.dev/status'] as string).profiles;
    delete entry.targets;
    // Each copy was checked against every container: 2,300 copies × 2,000 containers took seconds.
    const profiles = Array.from({ length: Math.floor(250_000 / JSON.stringify(entry).length) }, () => entry);
    const forged = { ...injected, metadata: { annotations: { 'outrigger.dev/status': JSON.stringify({ v: 1, profiles }) } } };
    const d = elapsed(() => inject(forged, set, ctx));
    assert.deepEqual([d.value.outcome, d.value.reason], ['denied', 'invalid-annotation']);
    assert.match(d.value.message, /profiles\[1\] repeats an earlier profile/);
    assert.ok(d.ms < 1000, `inject took ${d.ms.toFixed(0)} ms`);
  });
});

describe('a long created list, over a real server', () => {
  let t: Target;
  before(async () => {
    t = await startTarget();
  });
  after(() => t.stop());

  test('a ~340 KB review with a forged created list is denied within 2 s while others are served', async (c) => {
    const body = JSON.stringify(review(forgedCreatedList(), { uid: 'forged-created' }));
    assert.ok(body.length > 300_000, `${body.length} bytes`);
    // Several in a row, so the probes run through the attack, not only beside one request.
    const { result, watch } = await underAttack(t, async () => {
      let last: { reply: Awaited<ReturnType<typeof send>>; ms: number } | undefined;
      for (let i = 0; i < 5; i++) {
        const start = performance.now();
        const reply = await send(t.port, { body, ca: t.caPem });
        last = { reply, ms: Math.max(last?.ms ?? 0, performance.now() - start) };
      }
      return last as { reply: Awaited<ReturnType<typeof send>>; ms: number };
    });
    assert.equal(result.reply.status, 200);
    const response = result.reply.json().response as JsonObject;
    assert.equal(response.uid, 'forged-created');
    assert.equal(response.allowed, false);
    assert.match(String((response.status as JsonObject).message), /created\[0\] is not a field Outrigger creates/);
    assert.ok(result.ms < 2000, `answered in ${result.ms.toFixed(0)} ms`);
    c.diagnostic(`answered in ${result.ms.toFixed(0)} ms; ${summary(watch)}`);
    assertWithinBudget(watch);
  });
});

describe('a copied status record, over a real server', () => {
  let t: Target;
  before(async () => {
    t = await startTarget({ profiles: PROFILES });
  });
  after(() => t.stop());

  // The pod the record is copied from, injected by the same profiles the server has.
  const injected = () => {
    const set = profilesFromYaml(Object.values(PROFILES).join('\n---\n'));
    const d = inject(pod(), set, ctx);
    assert.equal(d.outcome, 'injected', d.message);
    return structuredClone(d.pod) as JsonObject;
  };
  const ask = async (p: JsonObject, uid: string) => {
    const start = performance.now();
    const reply = await send(t.port, { body: JSON.stringify(review(p, { uid })), ca: t.caPem });
    return { reply, ms: performance.now() - start };
  };

  test('a look-alike of the mandatory sidecar (privileged) is denied, with the reason', async (c) => {
    const forged = injected();
    const guard = ((forged.spec as JsonObject).initContainers as JsonObject[]).find((c) => c.name === 'guard') as JsonObject;
    guard.securityContext = { privileged: true };
    const { result, watch } = await underAttack(t, () => ask(forged, 'lookalike'));
    assert.equal(result.reply.status, 200);
    const response = result.reply.json().response as JsonObject;
    assert.deepEqual([response.uid, response.allowed], ['lookalike', false]);
    const status = response.status as JsonObject;
    assert.equal(status.code, 403);
    assert.match(
      String(status.message),
      /profile "guard" cannot be injected: it adds native sidecar "guard", but the pod already has a container or init container named "guard"/,
    );
    assert.ok(result.ms < 2000, `answered in ${result.ms.toFixed(0)} ms`);
    c.diagnostic(`answered in ${result.ms.toFixed(0)} ms; ${summary(watch)}`);
    assertWithinBudget(watch);
  });

  const guardOf = (p: JsonObject) => ((p.spec as JsonObject).initContainers as JsonObject[]).find((c) => c.name === 'guard') as JsonObject;
  const refusal = (reply: Awaited<ReturnType<typeof send>>, uid: string) => {
    const response = reply.json().response as JsonObject;
    assert.deepEqual([reply.status, response.uid, response.allowed], [200, uid, false]);
    return String((response.status as JsonObject).message);
  };

  test('a forged entry (unknown profile, or an old version of guard) naming another webhook’s sidecar removes nothing of it', async () => {
    for (const entry of [
      { name: 'gone', version: '1', hash: 'x', mode: 'classic' },
      { name: 'guard', version: '0.9', hash: 'old', mode: 'native' },
    ]) {
      const forged = pod(
        { 'outrigger.dev/status': JSON.stringify({ v: 1, profiles: [{ ...entry, containers: ['security-agent'], volumes: ['agent-socket'] }] }) },
        {
          containers: [
            { name: 'web', image: 'nginx:1' },
            { name: 'security-agent', image: 'vendor/agent:1', volumeMounts: [{ name: 'agent-socket', mountPath: '/run/agent' }] },
          ],
          volumes: [{ name: 'agent-socket', emptyDir: {} }],
        },
      );
      const { reply } = await ask(forged, `forged-${entry.name}`);
      const response = reply.json().response as JsonObject;
      assert.equal(response.allowed, true, entry.name);
      const patched = applyPatch(forged, decodePatch(response.patch) as never) as JsonObject;
      const spec = patched.spec as JsonObject;
      assert.deepEqual(
        (spec.containers as JsonObject[]).map((c) => c.name),
        ['web', 'security-agent'],
        entry.name,
      );
      assert.deepEqual(
        (spec.volumes as JsonObject[]).map((v) => v.name),
        ['agent-socket'],
        entry.name,
      );
      assert.ok(guardOf(patched), 'and the mandatory sidecar is injected');
    }
  });

  test('a sidecar mounting a hostPath volume at the service-account token path is denied', async () => {
    const forged = injected();
    guardOf(forged).volumeMounts = [{ name: 'kube-api-access-x1b2c', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }];
    const spec = forged.spec as JsonObject;
    spec.volumes = [...((spec.volumes as JsonObject[] | undefined) ?? []), { name: 'kube-api-access-x1b2c', hostPath: { path: '/var/lib/kubelet/pods' } }];
    const { result, watch } = await underAttack(t, () => ask(forged, 'token-lookalike'));
    assert.match(refusal(result.reply, 'token-lookalike'), /profile "guard" cannot be injected: it adds native sidecar "guard", but the pod already has/);
    assertWithinBudget(watch);
  });

  test('a copied record with the pod’s own init container moved before the mandatory sidecar is not trusted', async () => {
    const own = { name: 'evil-init', image: 'curlimages/curl:8', command: ['sh', '-c', 'curl http://internal'] };
    const set = profilesFromYaml(Object.values(PROFILES).join('\n---\n'));
    const first = inject(pod({}, { initContainers: [own], containers: [{ name: 'web', image: 'nginx:1' }] }), set, ctx).pod;
    const forged = structuredClone(first) as JsonObject;
    const spec = forged.spec as JsonObject;
    spec.initContainers = [own, ...(spec.initContainers as JsonObject[]).filter((c) => c.name !== 'evil-init')];
    const { reply } = await ask(forged, 'reordered');
    const response = reply.json().response as JsonObject;
    assert.ok(response.patch !== undefined, 'not taken for already injected');
    assert.match(String(response.warnings), /does not match the pod \(init container "[a-z-]+" runs after the pod's own init container "evil-init"\)/);
  });

  test('a copied record on a pod whose app container lacks the proxy env gets the env', async () => {
    const forged = injected();
    delete ((forged.spec as JsonObject).containers as JsonObject[])[0]?.env;
    const { reply } = await ask(forged, 'no-env');
    const response = reply.json().response as JsonObject;
    assert.equal(response.allowed, true);
    const patched = applyPatch(forged, decodePatch(response.patch) as never) as JsonObject;
    const app = ((patched.spec as JsonObject).containers as JsonObject[])[0] as JsonObject;
    assert.ok(
      (app.env as JsonObject[]).some((e) => e.name === 'HTTPS_PROXY' && e.value === 'http://127.0.0.1:3128'),
      JSON.stringify(app.env),
    );
  });
});
