/**
 * Policy mode among the rest of admission, on a real kube-apiserver. The API server runs every
 * MutatingAdmissionPolicy before any mutating webhook, and Outrigger's policies are never
 * reinvoked: a webhook after them sees the injected pod, and a container it adds gets nothing from
 * the profile (where Outrigger's webhook, reinvoked, extends the profile to it; README, "Where
 * policy mode and the webhook differ"). Validating policies run after every webhook. A dry run and
 * a real create give the same pod, and a dry run leaves nothing behind. Before 1.36, where there is
 * no MutatingAdmissionPolicy v1, `serve --admission policy` refuses to start, naming the version.
 *
 *   E2E_KUBE=1.37 ./node_modules/.bin/node --test --test-reporter=spec test/e2e/policy-chain.e2e.test.ts
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { INJECTION_LABEL, STATUS_ANNOTATION } from '../../src/common/labels.ts';
import { inject, type JsonObject, type ProfileSet } from '../../src/engine/index.ts';
import { FIRST_POLICY_MINOR } from '../../src/policy/refusals.ts';
import { loadProfiles } from '../../src/profiles/load.ts';
import { generateCA, generateServingCert } from '../../src/tls/certs.ts';
import { runCli } from '../support/run-cli.ts';
import { type ControlPlane, e2eAvailability, kubernetesVersion, startControlPlane } from './harness.ts';
import { AGENT, CRAFTED } from './policy-fixtures.ts';
import { bare, comparable, firstDiff, install, type Pod, policyDocuments, until } from './policy-support.ts';
import { helperConfig, SECOND_CONTAINER, startHelperWebhook } from './support-webhook.ts';

const MINOR = Number(kubernetesVersion().replace(/^v1\.(\d+)\..*$/, '$1'));
const REPO = new URL('../../', import.meta.url).pathname;
const availability = await e2eAvailability();

const SERVED_LABELS = { [INJECTION_LABEL]: 'enabled', 'e2e.outrigger.dev/tier': 'apps' };
const RECORD = { 'e2e.outrigger.dev/record': 'enabled' };
const SECOND = { 'e2e.outrigger.dev/second': 'enabled' };
const NS = { baseline: 'chain-baseline', served: 'chain-served', chain: 'chain-webhooks' };

const names = (cs: unknown) => ((cs ?? []) as { name: string }[]).map((c) => c.name);
const envNames = (p: Pod, container: string) => names(((p.spec.containers ?? []) as JsonObject[]).find((c) => c.name === container)?.env);
const podsPath = (ns: string) => `/api/v1/namespaces/${ns}/pods`;

describe('policy mode among the other admission plugins of a real kube-apiserver', { skip: availability.skip }, () => {
  let cp: ControlPlane;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outrigger-policy-chain-e2e-'));
    writeFileSync(join(dir, 'agent.yaml'), AGENT);
    cp = await startControlPlane();
  });
  after(async () => {
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  if (MINOR < FIRST_POLICY_MINOR) {
    it(`serve --admission policy refuses to start on ${kubernetesVersion()}, naming the version, and writes no policy`, async () => {
      const ca = generateCA({ commonName: 'outrigger-e2e-ca' });
      const leaf = generateServingCert({ ca, commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
      writeFileSync(join(dir, 'tls.crt'), leaf.certPem);
      writeFileSync(join(dir, 'tls.key'), leaf.keyPem);
      await cp.createNamespace('outrigger-system');
      const args = ['src/cli/main.ts', 'serve', '--profiles', dir, '--profiles-from-cluster', '--admission', 'policy', '--kubeconfig', cp.kubeconfigPath];
      args.push('--controller-namespace', 'outrigger-system', '--no-events', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'));
      const run = await exitOf(process.execPath, [...args, '--port', '0', '--host', '127.0.0.1'], 60_000);
      assert.notEqual(run.code, 0, `serve started on ${kubernetesVersion()}:\n${run.output}`);
      assert.match(run.output, new RegExp(`--admission policy: Kubernetes 1\\.${MINOR} has no admissionregistration\\.k8s\\.io/v1 MutatingAdmissionPolicy`));
      // The API server has no such resource to write to; nothing else was left either.
      const mutating = await cp.request('GET', '/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies');
      assert.equal(mutating.status, 404, mutating.text.slice(0, 200));
    });
    return;
  }

  let set: ProfileSet;
  let helper: Awaited<ReturnType<typeof startHelperWebhook>>;
  const nsLabels: Record<string, Record<string, string>> = {};

  const create = (ns: string, pod: Pod, dryRun = false) =>
    cp.request<Pod & { message?: string }>('POST', podsPath(ns), bare(pod, ns), dryRun ? { query: { dryRun: 'All' } } : {});
  /** The engine's pod for `pod` in `ns`: run on the pod the API server admits there without policies or webhooks. */
  async function engine(ns: string, pod: Pod) {
    const admitted = await create(NS.baseline, pod, true);
    assert.equal(admitted.status, 201, admitted.text);
    return inject(bare(admitted.body, ns) as unknown as JsonObject, set, {
      namespace: ns,
      namespaceLabels: nsLabels[ns] ?? {},
      kubeVersion: { major: 1, minor: MINOR },
    });
  }
  /** `pod` as the API server stores it, created (dry run) where nothing mutates it. */
  async function stored(pod: Pod) {
    const r = await create(NS.baseline, pod, true);
    assert.equal(r.status, 201, r.text);
    return r.body;
  }
  const calls = (ns: string, name: string, path: string) =>
    helper.calls.filter((c) => c.namespace === ns && c.path === path && (c.object.metadata as JsonObject).name === name);

  before(async () => {
    const ca = generateCA({ commonName: 'outrigger-e2e-ca' });
    const serving = generateServingCert({ ca, commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    helper = await startHelperWebhook(serving);
    const labels = { [NS.baseline]: {}, [NS.served]: SERVED_LABELS, [NS.chain]: { ...SERVED_LABELS, ...RECORD, ...SECOND } };
    for (const [ns, l] of Object.entries(labels)) {
      await cp.createNamespace(ns, l);
      nsLabels[ns] = (await cp.request<{ metadata: { labels: Record<string, string> } }>('GET', `/api/v1/namespaces/${ns}`)).body.metadata.labels;
    }
    set = await loadProfiles([join(dir, 'agent.yaml')]);
    const cli = await runCli(['policy', '--profiles', join(dir, 'agent.yaml'), '--kube-version', `1.${MINOR}`]);
    assert.equal(cli.code, 0, cli.stderr);
    await install(cp, policyDocuments(cli.stdout));
    const caBundle = Buffer.from(ca.certPem).toString('base64');
    for (const c of [
      helperConfig('aa-e2e-recorder', { url: `https://127.0.0.1:${helper.port}/record`, caBundle }, RECORD),
      helperConfig('zz-e2e-second', { url: `https://127.0.0.1:${helper.port}/add-container`, caBundle }, SECOND),
    ]) {
      const r = await cp.request('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', c);
      assert.equal(r.status, 201, r.text);
    }
    const probe: Pod = { metadata: { name: 'probe' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } };
    const injected = (p: Pod) => p.metadata.annotations?.[STATUS_ANNOTATION] !== undefined;
    await until(cp, NS.served, probe, (s, p) => s === 201 && injected(p), 'the mutating policy');
    await until(
      cp,
      NS.chain,
      probe,
      (s, p) => s === 201 && injected(p) && names(p.spec.containers).includes(SECOND_CONTAINER.name),
      'the policy and the webhooks',
    );
  });
  after(async () => {
    await helper?.close();
  });

  it('a webhook after the policies sees the injected pod; the container it adds gets nothing from the profile, where the webhook, reinvoked, would extend it', async () => {
    const pod: Pod = { metadata: { name: 'chained', labels: { app: 'shop' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } };
    const made = await create(NS.chain, pod);
    assert.equal(made.status, 201, made.text);

    // The recorder, the first webhook, was sent the pod the policy had already injected, once.
    const seen = calls(NS.chain, 'chained', '/record');
    assert.equal(seen.length, 1, 'each webhook is called once: nothing reinvokes them or the policy');
    const first = seen[0]?.object as unknown as Pod;
    assert.ok(first.metadata.annotations?.[STATUS_ANNOTATION], 'the webhooks see the status record the policy wrote');
    assert.deepEqual(names(first.spec.containers), ['app']);
    assert.equal(calls(NS.chain, 'chained', '/add-container').length, 1);

    // What the API server stored: the engine's pod, then the second webhook's container as it added it.
    const decision = await engine(NS.chain, pod);
    assert.equal(decision.outcome, 'injected', decision.message);
    const enginePod = decision.pod as unknown as Pod;
    const expected = await stored({
      ...enginePod,
      spec: { ...enginePod.spec, containers: [...(enginePod.spec.containers as JsonObject[]), SECOND_CONTAINER] },
    });
    const diff = firstDiff(comparable(made.body), comparable(expected));
    assert.equal(diff, undefined, `the stored pod differs from the engine's pod plus the webhook's container at ${diff}`);
    // The server's version decides the sidecar mode: a native sidecar (an init container that restarts).
    const init = (made.body.spec.initContainers ?? []) as JsonObject[];
    assert.deepEqual(
      init.map((c) => [c.name, c.restartPolicy ?? null]),
      [
        ['agent-init', null],
        ['agent', 'Always'],
      ],
    );
    assert.ok(envNames(made.body, 'app').includes('AGENT_SOCKET'));
    assert.deepEqual(envNames(made.body, SECOND_CONTAINER.name), [], 'the policy ran before the container existed');

    // The webhook, reinvoked on this pod, would extend the profile to the new container: the
    // difference the README states.
    const again = inject(bare(made.body, NS.chain) as unknown as JsonObject, set, {
      namespace: NS.chain,
      namespaceLabels: nsLabels[NS.chain] ?? {},
      kubeVersion: { major: 1, minor: MINOR },
    });
    assert.equal(again.outcome, 'injected', again.message);
    assert.match(again.message, /extended agent to new containers/);
    assert.ok(envNames(again.pod as unknown as Pod, SECOND_CONTAINER.name).includes('AGENT_SOCKET'));
    await cp.request('DELETE', `${podsPath(NS.chain)}/chained`);
  });

  it('the validating policy runs after every mutating webhook, and denies with the engine’s message', async () => {
    // An override annotation the profile does not allow: the engine denies, so the mutation applies nothing.
    const pod: Pod = {
      metadata: { name: 'forbidden', annotations: { 'outrigger.dev/agent.resources': '{}' } },
      spec: { containers: [{ name: 'app', image: 'busybox' }] },
    };
    const decision = await engine(NS.chain, pod);
    assert.equal(decision.outcome, 'denied');
    const r = await create(NS.chain, pod);
    assert.equal(r.status, 403, r.text);
    assert.ok(r.body.message?.endsWith(`denied request: ${decision.message}`), `${r.body.message}\nengine: ${decision.message}`);
    // Both webhooks ran first, on the pod the policy left as it was.
    const seen = calls(NS.chain, 'forbidden', '/record');
    assert.equal(seen.length, 1);
    assert.equal((seen[0]?.object as unknown as Pod | undefined)?.metadata.annotations?.[STATUS_ANNOTATION], undefined);
    assert.equal(calls(NS.chain, 'forbidden', '/add-container').length, 1);
    assert.equal((await cp.request('GET', `${podsPath(NS.chain)}/forbidden`)).status, 404);
  });

  it('a dry run and a real create give the same pod, or the same denial; the dry run leaves nothing behind', async () => {
    const pods = CRAFTED.filter((c) => c.pod.metadata.name !== undefined);
    assert.ok(pods.length > 10, `crafted pods with a name (found ${pods.length})`);
    const outcomes: Record<number, number> = {};
    for (const { where, pod } of pods) {
      const dry = await create(NS.served, pod, true);
      const path = `${podsPath(NS.served)}/${pod.metadata.name}`;
      assert.equal((await cp.request('GET', path)).status, 404, `${where}: the dry run stored the pod`);
      const real = await create(NS.served, pod);
      outcomes[real.status] = (outcomes[real.status] ?? 0) + 1;
      assert.equal(dry.status, real.status, `${where}: dry run ${dry.status} (${dry.body.message}), real ${real.status} (${real.body.message})`);
      if (real.status !== 201) {
        assert.equal(dry.body.message, real.body.message, where);
        continue;
      }
      const diff = firstDiff(comparable(dry.body), comparable(real.body));
      assert.equal(diff, undefined, `${where}: the dry run's pod differs at ${diff}`);
      const del = await cp.request('DELETE', path);
      assert.equal(del.status, 200, del.text);
    }
    assert.ok((outcomes[201] ?? 0) > 5 && (outcomes[403] ?? 0) > 0, `both admitted and denied pods compared: ${JSON.stringify(outcomes)}`);
  });
});

/** Runs a command to its exit (SIGKILL after `timeoutMs`): the exit code and everything it printed. */
function exitOf(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | string; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? 'unknown', output });
    });
  });
}
