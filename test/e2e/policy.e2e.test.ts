/**
 * Policy mode proven against a real kube-apiserver: the policies `outrigger policy` prints are
 * installed (no webhook anywhere), and every pod of the shared corpus, plus pods written to reach
 * each rule (opt-out, conflicts, overrides, identical items, odd container names), is created
 * with them and compared field for field with what the engine makes of the same pod, the status
 * annotation included; denials are compared by message. MutatingAdmissionPolicy v1 needs 1.36:
 *
 *   E2E_KUBE=1.37 ./node_modules/.bin/node --test --test-reporter=spec test/e2e/policy.e2e.test.ts
 *
 * (npm run test:e2e:versions runs it on 1.37; on older minors it is skipped, saying why.)
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { readInputs } from '../../src/cli/input.ts';
import { INJECTION_LABEL, STATUS_ANNOTATION, UNKNOWN_PROFILES_LABEL } from '../../src/common/labels.ts';
import type { JsonObject } from '../../src/engine/index.ts';
import { findPodSites } from '../../src/manifest/workloads.ts';
import { loadProfiles } from '../../src/profiles/load.ts';
import { CORPUS, corpusFiles } from '../support/corpus.ts';
import { runCli } from '../support/run-cli.ts';
import { type ControlPlane, e2eAvailability, kubernetesVersion, startControlPlane } from './harness.ts';
import { AGENT, CRAFTED, KEEPER, REFUSED, SET, SET_CRAFTED } from './policy-fixtures.ts';
import { RULE_CRAFTED, RULE_VALUE_PODS, TEAM } from './policy-rule-fixtures.ts';
import { differential, install, type Pod, policyDocuments, uninstall, until, type Verdict } from './policy-support.ts';

const MINOR = Number(kubernetesVersion().replace(/^v1\.(\d+)\..*$/, '$1'));
// Decided before e2eAvailability(), which would build an API server only to skip on it.
const tooOld = `policy mode needs Kubernetes 1.36 (MutatingAdmissionPolicy v1); this server is ${kubernetesVersion()}: E2E_KUBE=1.37 runs it`;
const skip = MINOR < 36 ? tooOld : (await e2eAvailability()).skip;

const NS = { baseline: 'policy-baseline', served: 'policy-served' };
const EXAMPLES = new URL('../../examples/profiles/', import.meta.url).pathname;
const SERVED_LABELS = { [INJECTION_LABEL]: 'enabled', 'e2e.outrigger.dev/tier': 'apps' };

async function corpusPods(): Promise<{ where: string; pod: Pod }[]> {
  const out: { where: string; pod: Pod }[] = [];
  for (const [i, f] of corpusFiles().entries()) {
    let docs: Awaited<ReturnType<typeof readInputs>>;
    try {
      docs = await readInputs([f], false, Readable.from([]));
    } catch {
      continue; // unparsable files are the CLI's test; the webhook's corpus test skips them too
    }
    for (const d of docs)
      for (const [j, s] of findPodSites(d.value).entries()) {
        const meta = (s.pod.metadata ?? {}) as JsonObject;
        out.push({ where: `${f.slice(CORPUS.length)}: ${s.label}`, pod: { metadata: { ...meta, name: `c-${i}-${j}` }, spec: s.pod.spec as JsonObject } });
      }
  }
  return out;
}

describe('outrigger policy: the compiled policies do what the engine does, on a real kube-apiserver', { skip }, () => {
  let cp: ControlPlane;
  let dir: string;
  let servedLabels: Record<string, string>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outrigger-policy-e2e-'));
    for (const [name, text] of Object.entries({ agent: AGENT, keeper: KEEPER, refused: REFUSED, team: TEAM })) writeFileSync(join(dir, `${name}.yaml`), text);
    // Elsewhere: the refusal test below compiles the whole directory.
    mkdirSync(join(dir, 'set'));
    writeFileSync(join(dir, 'set', 'set.yaml'), SET);
    // The two example profiles that compile (log-shipper is refused for its resources override).
    mkdirSync(join(dir, 'examples'));
    for (const f of ['envoy.yaml', 'secrets-agent.yaml']) copyFileSync(join(EXAMPLES, f), join(dir, 'examples', f));
    cp = await startControlPlane();
    await cp.createNamespace(NS.baseline);
    await cp.createNamespace(NS.served, SERVED_LABELS);
    const ns = await cp.request<{ metadata: { labels: Record<string, string> } }>('GET', `/api/v1/namespaces/${NS.served}`);
    servedLabels = ns.body.metadata.labels;
  });
  after(async () => {
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Compiles one profile file with the CLI, installs it, runs `pods` through the differential, removes it. */
  async function round(
    file: string,
    pods: readonly { where: string; pod: Pod }[],
    request?: string,
    nsLabels: Record<string, string | null> = {},
    again = false,
  ) {
    const patched = await cp.request<{ metadata: { labels: Record<string, string> } }>(
      'PATCH',
      `/api/v1/namespaces/${NS.served}`,
      { metadata: { labels: nsLabels } },
      { contentType: 'application/merge-patch+json' },
    );
    assert.equal(patched.status, 200, patched.text);
    servedLabels = patched.body.metadata.labels;
    const cli = await runCli(['policy', '--profiles', join(dir, file), '--kube-version', `1.${MINOR}`]);
    assert.equal(cli.code, 0, cli.stderr);
    const objects = policyDocuments(cli.stdout);
    assert.deepEqual(
      objects.map((o) => o.kind),
      [
        'MutatingAdmissionPolicy',
        'MutatingAdmissionPolicyBinding',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
      ],
    );
    const set = await loadProfiles([join(dir, file)]);
    const name = set.profiles[0]?.name as string;
    const ask = (p: Pod): Pod =>
      request && p.metadata.annotations?.['outrigger.dev/inject'] === undefined
        ? { ...p, metadata: { ...p.metadata, annotations: { ...p.metadata.annotations, 'outrigger.dev/inject': request } } }
        : p;
    const probe: Pod = ask({ metadata: { name: 'probe', labels: { team: 'probe' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } });
    const forbidden: Pod = {
      ...probe,
      metadata: { ...probe.metadata, annotations: { ...probe.metadata.annotations, [`outrigger.dev/${name}.resources`]: '{}' } },
    };
    await install(cp, objects);
    try {
      await until(cp, NS.served, probe, (s, p) => s === 201 && p.metadata.annotations?.[STATUS_ANNOTATION] !== undefined, 'the mutating policy');
      // A failurePolicy ignore profile warns where a fail one denies.
      const ignore = set.profiles[0]?.failurePolicy === 'ignore';
      await until(cp, NS.served, forbidden, (s, _, w) => (ignore ? s === 201 && w.includes('.resources') : s === 403), 'the validating policy');
      const d = { cp, baseline: NS.baseline, served: NS.served, servedLabels, set, kubeMinor: MINOR };
      const verdicts: (Verdict & { where: string })[] = [];
      for (const { where, pod } of pods) verdicts.push({ where, ...(await differential(d, ask(pod))) });
      // An injected pod created again (an `outrigger inject`ed manifest, a copy): left as it is, as the engine leaves it.
      if (again)
        for (const v of verdicts.filter((x) => x.outcome === 'injected' && x.made)) {
          const second = await differential(d, v.made as Pod);
          const problem = second.outcome !== 'unchanged' ? `created again: ${second.outcome}` : second.problem;
          verdicts.push({ where: `${v.where} (created again)`, outcome: second.outcome, ...(problem ? { problem } : {}) });
        }
      const counts = Object.entries(tally(verdicts)).map(([k, v]) => `${k} ${v?.length}`);
      process.stderr.write(`policy e2e ${name}: ${verdicts.length} pods: ${counts.join(', ')}\n`);
      return verdicts;
    } finally {
      await uninstall(cp, objects);
      await until(
        cp,
        NS.served,
        forbidden,
        (s, p, w) => s === 201 && p.metadata.annotations?.[STATUS_ANNOTATION] === undefined && w === '',
        'removing the policies',
      );
    }
  }

  const tally = (vs: readonly Verdict[]) => Object.groupBy(vs, (v) => v.outcome);
  const problems = (vs: readonly (Verdict & { where: string })[]) =>
    vs
      .filter((v) => v.problem)
      .slice(0, 10)
      .map((v) => `${v.where}: ${v.problem}`)
      .join('\n');

  it('agent (native sidecar, init container, env/envFrom/mounts in every container, selected by labels): every corpus pod as the engine', async () => {
    const pods = await corpusPods();
    assert.ok(pods.length > 50, `the corpus has pod templates (found ${pods.length})`);
    const verdicts = await round('agent.yaml', [...pods, ...CRAFTED], undefined, {}, true);
    assert.ok(problems(verdicts) === '', problems(verdicts));
    const t = tally(verdicts);
    assert.ok((t.injected?.length ?? 0) > 50, `most pods are injected: ${JSON.stringify(Object.entries(t).map(([k, v]) => [k, v?.length]))}`);
    assert.ok(verdicts.filter((v) => v.where.endsWith('(created again)')).length === t.injected?.length, 'every injected pod is created again');
    for (const outcome of ['unchanged', 'denied'] as const) assert.ok((t[outcome]?.length ?? 0) > 0, `some crafted pod is ${outcome}`);
  });

  it('keeper (classic sidecar, conflictPolicy keep-pod, failurePolicy ignore, globs, on request): every corpus pod as the engine', async () => {
    // Here pods that request a profile the set lacks are denied, as the namespace label says.
    const verdicts = await round('keeper.yaml', [...(await corpusPods()), ...CRAFTED], ' keeper ,keeper', { [UNKNOWN_PROFILES_LABEL]: 'deny' });
    assert.ok(problems(verdicts) === '', problems(verdicts));
    const t = tally(verdicts);
    assert.ok((t.injected?.length ?? 0) > 50);
    assert.ok((t.denied?.length ?? 0) > 0, 'a request for an unknown profile is denied');
    assert.ok(verdicts.filter((v) => v.warned).length >= 2, 'the override annotations leave keeper out, with a warning (failurePolicy ignore)');
  });

  it('team (templates from the pod, one without fallback, value rules: a missing value or a broken rule denies), on request: the crafted pods as the engine', async () => {
    const verdicts = await round('team.yaml', [...CRAFTED, ...RULE_CRAFTED, ...RULE_VALUE_PODS], 'team', { [UNKNOWN_PROFILES_LABEL]: null });
    assert.ok(problems(verdicts) === '', problems(verdicts));
    const t = tally(verdicts);
    assert.ok((t.injected?.length ?? 0) >= 3 && (t.denied?.length ?? 0) > 30, JSON.stringify(Object.entries(t).map(([k, v]) => [k, v?.length])));
    // Each rule pod reaches the outcome it was written for, so none is proven only by the API server refusing it.
    for (const r of [...RULE_CRAFTED, ...RULE_VALUE_PODS]) assert.equal(verdicts.find((v) => v.where === r.where)?.outcome, r.outcome, r.where);
  });

  it('a set of three profiles (zeta, alpha, mid by spec.order) is one policy: every corpus pod and the crafted set pods as the engine', async () => {
    const verdicts = await round('set/set.yaml', [...(await corpusPods()), ...CRAFTED, ...SET_CRAFTED], undefined, { [UNKNOWN_PROFILES_LABEL]: 'deny' }, true);
    assert.ok(problems(verdicts) === '', problems(verdicts));
    const t = tally(verdicts);
    assert.ok((t.injected?.length ?? 0) > 50 && (t.denied?.length ?? 0) >= 4, JSON.stringify(Object.entries(t).map(([k, v]) => [k, v?.length])));
    const made = (name: string) => verdicts.find((v) => v.where === `crafted ${name}`);
    for (const name of ['set-bare', 'set-all-three', 'set-requested', 'set-alpha-not-selected', 'set-zeta-kept', 'set-lists-exist'])
      assert.equal(made(name)?.outcome, 'injected', name);
    for (const name of ['set-alpha-conflict', 'set-alpha-env-conflict', 'set-alpha-and-mid-conflict', 'set-unknown', 'set-alpha-rule'])
      assert.equal(made(name)?.outcome, 'denied', name);
    const record = JSON.parse(made('set-all-three')?.made?.metadata.annotations?.[STATUS_ANNOTATION] ?? '{}') as { profiles: { name: string }[] };
    assert.deepEqual(
      record.profiles.map((p) => p.name),
      ['zeta', 'alpha', 'mid'],
    );
  });

  it('the example profiles envoy and secrets-agent, on request, are one set: every corpus pod and the crafted pods as the engine', async () => {
    const verdicts = await round('examples', [...(await corpusPods()), ...CRAFTED], 'envoy, secrets-agent', { [UNKNOWN_PROFILES_LABEL]: null }, true);
    assert.ok(problems(verdicts) === '', problems(verdicts));
    const t = tally(verdicts);
    assert.ok((t.injected?.length ?? 0) > 50, JSON.stringify(Object.entries(t).map(([k, v]) => [k, v?.length])));
    const made = verdicts.find((v) => v.outcome === 'injected' && v.made)?.made;
    const record = JSON.parse(made?.metadata.annotations?.[STATUS_ANNOTATION] ?? '{}') as { profiles: { name: string }[] };
    assert.deepEqual(
      record.profiles.map((p) => p.name),
      ['envoy', 'secrets-agent'],
    );
  });

  it('a refused profile is reported with its field, and nothing of it reaches the cluster', async () => {
    await cp.request(
      'PATCH',
      `/api/v1/namespaces/${NS.served}`,
      { metadata: { labels: { [UNKNOWN_PROFILES_LABEL]: null } } },
      { contentType: 'application/merge-patch+json' },
    );
    const all = await runCli(['policy', '--profiles', dir, '--kube-version', `1.${MINOR}`]);
    assert.equal(all.code, 4);
    assert.equal(all.stdout, '');
    assert.match(
      all.stderr,
      /profile "refused" \(.*refused\.yaml, document 1\) cannot be compiled to a policy: spec\.containers\[0\]\.env\[0\]\.value: the API server names a generateName pod/,
    );
    const some = await runCli(['policy', '--profiles', dir, '--kube-version', `1.${MINOR}`, '--skip-refused']);
    assert.equal(some.code, 0, some.stderr);
    const objects = policyDocuments(some.stdout);
    assert.ok(objects.every((o) => (o.metadata as { labels: Record<string, string> }).labels['outrigger.dev/profile'] !== 'refused'));
    await install(cp, objects);
    try {
      const probe: Pod = {
        metadata: { name: 'asks', annotations: { 'outrigger.dev/inject': 'refused' } },
        spec: { containers: [{ name: 'app', image: 'busybox' }] },
      };
      await until(cp, NS.served, probe, (s, p) => s === 201 && p.metadata.annotations?.[STATUS_ANNOTATION] !== undefined, 'the policies');
      const r = await cp.request<Pod>(
        'POST',
        `/api/v1/namespaces/${NS.served}/pods`,
        { ...probe, metadata: { ...probe.metadata, namespace: NS.served } },
        { query: { dryRun: 'All' } },
      );
      const all = [...((r.body.spec.initContainers as JsonObject[]) ?? []), ...(r.body.spec.containers as JsonObject[])].map((c) => c.name);
      assert.ok(!all.includes('templated'), `the refused profile's sidecar is not there: ${all.join(', ')}`);
      assert.ok(!r.body.metadata.annotations?.[STATUS_ANNOTATION]?.includes('"refused"'));
    } finally {
      await uninstall(cp, objects);
    }
  });
});
