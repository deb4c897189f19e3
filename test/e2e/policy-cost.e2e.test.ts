/**
 * How large a pod policy mode can serve: the API server bounds the CEL a policy may run per
 * admission (its runtime cost budget), and the compiled policies cost in proportion to the
 * profiles of the set times the pod's containers. For sets of 1 and 16 profiles, each targeting
 * every container, this finds the largest pod (in containers) the policies inject, checks that pod
 * against the engine field for field, and that one container more is refused by the API server
 * (fail closed: never admitted without its sidecars). The limits are printed, for the README.
 *
 *   E2E_KUBE=1.37 ./node_modules/.bin/node --test --test-reporter=spec test/e2e/policy-cost.e2e.test.ts
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { INJECTION_LABEL, STATUS_ANNOTATION } from '../../src/common/labels.ts';
import { FIRST_POLICY_MINOR } from '../../src/policy/refusals.ts';
import { MAX_EXPRESSION_CODE_POINTS } from '../../src/policy/size.ts';
import { loadProfiles } from '../../src/profiles/load.ts';
import { runCli } from '../support/run-cli.ts';
import { type ControlPlane, e2eAvailability, kubernetesVersion, startControlPlane } from './harness.ts';
import { bare, differential, install, type Pod, policyDocuments, uninstall, until } from './policy-support.ts';

const MINOR = Number(kubernetesVersion().replace(/^v1\.(\d+)\..*$/, '$1'));
const tooOld = `policy mode needs Kubernetes 1.${FIRST_POLICY_MINOR}; this server is ${kubernetesVersion()}: E2E_KUBE=1.37 runs it`;
const skip = MINOR < FIRST_POLICY_MINOR ? tooOld : (await e2eAvailability()).skip;

const NS = { baseline: 'cost-baseline', served: 'cost-served' };
const SERVED_LABELS = { [INJECTION_LABEL]: 'enabled', 'e2e.outrigger.dev/tier': 'apps' };
/** Beyond this many containers the search stops: the request itself nears the API server's size limit. */
const MOST = 2048;

/** Profile i of a set: a sidecar, a volume, and env and a mount in every container and init container. */
function profile(i: number): string {
  const spec = {
    version: '1',
    order: i * 10,
    selector: { namespaceSelector: { matchLabels: { 'e2e.outrigger.dev/tier': 'apps' } } },
    containers: [{ name: `side-${i}`, image: `example.com/side-${i}:1`, args: [`--app={{ pod.labels['app'] ?? 'none' }}`] }],
    volumes: [{ name: `p${i}-data`, emptyDir: {} }],
    volumeMounts: [{ name: `p${i}-data`, mountPath: `/p${i}` }],
    env: [{ name: `P${i}_ON`, value: 'on' }],
    targets: ['*'],
    initContainerTargets: ['*'],
  };
  return JSON.stringify({ apiVersion: 'outrigger.dev/v1alpha1', kind: 'SidecarProfile', metadata: { name: `p${i}` }, spec });
}

const podOf = (containers: number): Pod => ({
  metadata: { name: `c${containers}`, labels: { app: 'big' } },
  spec: {
    initContainers: [{ name: 'setup', image: 'busybox' }],
    containers: Array.from({ length: containers }, (_, j) => ({ name: `c${j}`, image: 'busybox' })),
  },
});

describe('policy mode: the largest pod a set of profiles can serve within the API server’s CEL budget', { skip }, () => {
  let cp: ControlPlane;
  let dir: string;
  let servedLabels: Record<string, string>;
  const limits: { profiles: number; containers: number; refusal: string }[] = [];

  /** Deletes the objects and waits until pods are no longer injected: the next test must not meet them. */
  async function removed(objects: Parameters<typeof uninstall>[1]) {
    await uninstall(cp, objects);
    await until(cp, NS.served, podOf(1), (s, p) => s === 201 && p.metadata.annotations?.[STATUS_ANNOTATION] === undefined, 'removing the policies');
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outrigger-policy-cost-e2e-'));
    cp = await startControlPlane();
    await cp.createNamespace(NS.baseline);
    await cp.createNamespace(NS.served, SERVED_LABELS);
    servedLabels = (await cp.request<{ metadata: { labels: Record<string, string> } }>('GET', `/api/v1/namespaces/${NS.served}`)).body.metadata.labels;
  });
  after(async () => {
    if (limits.length > 0)
      process.stderr.write(
        `policy cost on ${kubernetesVersion()}: ${limits.map((l) => `${l.profiles} profile(s) up to ${l.containers} containers`).join('; ')}\n  refused beyond: ${limits[0]?.refusal}\n`,
      );
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the API server refuses an expression one code point longer than the compiler allows, and accepts one that long', async () => {
    const withVariable = (expression: string) => ({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingAdmissionPolicy',
      metadata: { name: 'outrigger-e2e-long' },
      spec: {
        matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }] },
        variables: [{ name: 'long', expression }],
        mutations: [
          { patchType: 'JSONPatch', jsonPatch: { expression: "variables.long == '' ? [JSONPatch{op: 'add', path: '/metadata/labels', value: {}}] : []" } },
        ],
        reinvocationPolicy: 'Never',
        failurePolicy: 'Fail',
      },
    });
    // A string literal: its quotes count. An astral character counts once, as in size.ts.
    const literal = (n: number) => `'😀${'a'.repeat(n - 3)}'`;
    const path = '/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies';
    const fits = await cp.request('POST', path, withVariable(literal(MAX_EXPRESSION_CODE_POINTS)), { query: { dryRun: 'All' } });
    assert.equal(fits.status, 201, fits.text.slice(-500));
    const over = await cp.request('POST', path, withVariable(literal(MAX_EXPRESSION_CODE_POINTS + 1)), { query: { dryRun: 'All' } });
    assert.equal(over.status, 422);
    assert.match(over.text, new RegExp(`code point size exceeds limit: size: ${MAX_EXPRESSION_CODE_POINTS + 1}, limit ${MAX_EXPRESSION_CODE_POINTS}`));
  });

  it('a profile whose policy would hold a longer expression is refused by the compiler, and the rest of its set is served', async () => {
    const big = JSON.stringify({
      apiVersion: 'outrigger.dev/v1alpha1',
      kind: 'SidecarProfile',
      metadata: { name: 'big' },
      spec: { version: '1', order: 5, env: Array.from({ length: 3000 }, (_, i) => ({ name: `BIG_${i}`, value: 'x' })), targets: ['*'] },
    });
    const file = join(dir, 'with-big.yaml');
    writeFileSync(file, [profile(0), big, profile(1)].join('\n---\n'));
    const cli = await runCli(['policy', '--profiles', file, '--kube-version', `1.${MINOR}`, '--skip-refused']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(
      cli.stderr,
      /profile "big" .* cannot be compiled to a policy: spec: with the profiles before it \("p0"\), the set's policy would hold a CEL expression of \d+ code points/,
    );
    const objects = policyDocuments(cli.stdout);
    await install(cp, objects);
    try {
      await until(cp, NS.served, podOf(2), (s, p) => s === 201 && p.metadata.annotations?.[STATUS_ANNOTATION] !== undefined, 'the policies of p0 and p1');
      const made = await cp.request<Pod>('POST', `/api/v1/namespaces/${NS.served}/pods`, bare(podOf(2), NS.served), { query: { dryRun: 'All' } });
      const record = JSON.parse(made.body.metadata.annotations?.[STATUS_ANNOTATION] ?? '{}') as { profiles: { name: string }[] };
      assert.deepEqual(
        record.profiles.map((p) => p.name),
        ['p0', 'p1'],
      );
    } finally {
      await removed(objects);
    }
  });

  for (const k of [1, 16]) {
    it(`${k} profile(s): the largest pod is injected as the engine injects it, and one container more is refused`, async () => {
      const file = join(dir, `set-${k}.yaml`);
      writeFileSync(file, Array.from({ length: k }, (_, i) => profile(i)).join('\n---\n'));
      const cli = await runCli(['policy', '--profiles', file, '--kube-version', `1.${MINOR}`]);
      assert.equal(cli.code, 0, cli.stderr);
      const objects = policyDocuments(cli.stdout);
      await install(cp, objects);
      const create = (n: number) =>
        cp.request<Pod & { message?: string }>('POST', `/api/v1/namespaces/${NS.served}/pods`, bare(podOf(n), NS.served), { query: { dryRun: 'All' } });
      try {
        await until(cp, NS.served, podOf(1), (s, p) => s === 201 && p.metadata.annotations?.[STATUS_ANNOTATION] !== undefined, 'the policies');
        // Doubling, then bisection between the last size served and the first refused.
        let ok = 1;
        let refused: number | undefined;
        for (let n = 2; n <= MOST; n *= 2) {
          if ((await create(n)).status === 201) ok = n;
          else {
            refused = n;
            break;
          }
        }
        assert.ok(refused !== undefined, `a pod of ${MOST} containers was served by ${k} profile(s): the budget did not bound it`);
        while (refused - ok > 1) {
          const mid = Math.floor((ok + refused) / 2);
          if ((await create(mid)).status === 201) ok = mid;
          else refused = mid;
        }
        const over = await create(refused);
        assert.notEqual(over.status, 201);
        assert.match(over.body.message ?? '', /cost/i, `refused for its CEL cost: ${over.text.slice(0, 500)}`);
        const set = await loadProfiles([file]);
        const v = await differential({ cp, baseline: NS.baseline, served: NS.served, servedLabels, set, kubeMinor: MINOR }, podOf(ok));
        assert.equal(v.problem, undefined, v.problem);
        assert.equal(v.outcome, 'injected');
        limits.push({ profiles: k, containers: ok, refusal: (over.body.message ?? '').slice(-240) });
      } finally {
        await removed(objects);
      }
    });
  }
});
