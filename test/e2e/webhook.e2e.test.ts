/**
 * The real `outrigger serve` behind a real kube-apiserver (go.mod's version, or E2E_KUBE's), registered exactly as in
 * production: the webhook entry of `outrigger manifests` (service outrigger/outrigger-system, path
 * /mutate, port 443, failurePolicy Fail, reinvocationPolicy IfNeeded, the opt-out matchCondition)
 * with the caBundle of the CA that signed the serving certificate.
 *
 *   ./node_modules/.bin/node --test --test-reporter=spec test/e2e/webhook.e2e.test.ts
 *
 * Webhook configurations in play (the API server calls them in order of configuration name):
 *   aa-e2e-recorder  namespaces labelled e2e.outrigger.dev/record: an in-test webhook that records the
 *                    object exactly as Outrigger is sent it, and changes nothing
 *   outrigger        namespaces labelled outrigger.dev/injection=enabled: `outrigger serve`
 *   outrigger-url    namespaces labelled e2e.outrigger.dev/url-injection: the same, by clientConfig.url
 *   zz-e2e-second    namespaces labelled e2e.outrigger.dev/second: an in-test webhook adding a container
 *
 * Profiles (a temp dir): `e2e-agent`, selected for every pod by `podSelector: {}` (a native sidecar,
 * a volume, env, a mount in every app container, a label and an annotation); the three example
 * profiles (on request); `conflict`, which can only make invalid pods (a profile that could only
 * make invalid pods by itself, requests above limits, is refused at load).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { readInputs } from '../../src/cli/input.ts';
import { NAME as SERVICE_NAME, STATUS_ANNOTATION, WEBHOOK_NAME } from '../../src/common/labels.ts';
import { bundle, DEFAULTS } from '../../src/deploy/manifests.ts';
import { type AnyPatchOp, applyPatch, type JsonObject, readStatus, uninject } from '../../src/engine/index.ts';
import { findPodSites } from '../../src/manifest/workloads.ts';
import { generateCA, generateServingCert } from '../../src/tls/certs.ts';
import { runCli } from '../support/run-cli.ts';
import { type ControlPlane, e2eAvailability, kubernetesVersion, startControlPlane } from './harness.ts';
import {
  helperConfig,
  httpsJson,
  SECOND_CONTAINER,
  type ServeProcess,
  type Summary,
  sleep,
  startHelperWebhook,
  startServeProcess,
  summarize,
} from './support-webhook.ts';

const availability = await e2eAvailability();

const REPO = new URL('../../', import.meta.url).pathname;
const CORPUS = join(REPO, '..', 'shared', 'corpus');
const SYSTEM_NS = DEFAULTS.namespace;
/** The API server's minor (the e2e tests run on several, E2E_KUBE): Outrigger is told the cluster it serves. */
const KUBE_MINOR = kubernetesVersion().replace(/^v(\d+\.\d+)\..*$/, '$1');
const SVC_HOST = `${SERVICE_NAME}.${SYSTEM_NS}.svc`;
const INJECTION = { 'outrigger.dev/injection': 'enabled' };
const RECORD = { 'e2e.outrigger.dev/record': 'enabled' };
const SECOND = { 'e2e.outrigger.dev/second': 'enabled' };
const URL_INJECTION = { 'e2e.outrigger.dev/url-injection': 'enabled' };

const NS = {
  baseline: 'e2e-baseline',
  corpus: 'e2e-corpus',
  bare: 'e2e-bare',
  order: 'e2e-order',
  reinvoke: 'e2e-reinvoke',
  dryRun: 'e2e-dry-run',
  invalid: 'e2e-invalid',
  url: 'e2e-url',
  cli: 'e2e-cli',
  latencyOn: 'e2e-latency-on',
  latencyOff: 'e2e-latency-off',
} as const;

// ---------------------------------------------------------------------------------------------
// The profile every pod can take

const AGENT = {
  profile: 'e2e-agent',
  version: '1.0.0',
  sidecar: 'outrigger-agent',
  volume: 'outrigger-agent-data',
  env: 'OUTRIGGER_AGENT_SOCKET',
  mountPath: '/var/run/outrigger-agent',
  label: 'e2e.outrigger.dev/agent',
  annotation: 'e2e.outrigger.dev/agent-injected',
};

const profileDoc = (name: string, spec: object) =>
  `${JSON.stringify({ apiVersion: 'outrigger.dev/v1alpha1', kind: 'SidecarProfile', metadata: { name }, spec })}\n`;

const PROFILES: Record<string, string> = {
  'e2e-agent.yaml': profileDoc(AGENT.profile, {
    version: AGENT.version,
    selector: { podSelector: {} },
    containers: [
      {
        name: AGENT.sidecar,
        image: 'example.com/outrigger-agent:1.0.0',
        resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } },
        volumeMounts: [{ name: AGENT.volume, mountPath: AGENT.mountPath }],
      },
    ],
    volumes: [{ name: AGENT.volume, emptyDir: {} }],
    volumeMounts: [{ name: AGENT.volume, mountPath: AGENT.mountPath }],
    env: [{ name: AGENT.env, value: `${AGENT.mountPath}/agent.sock` }],
    metadata: { labels: { [AGENT.label]: AGENT.version }, annotations: { [AGENT.annotation]: 'true' } },
  }),
  // A sidecar named like the usual app container, failurePolicy fail (the default).
  'conflict.yaml': profileDoc('conflict', { version: '1', failurePolicy: 'fail', containers: [{ name: 'app', image: 'example.com/other:1' }] }),
};
for (const f of ['envoy.yaml', 'log-shipper.yaml', 'secrets-agent.yaml']) PROFILES[f] = readFileSync(join(REPO, 'examples', 'profiles', f), 'utf8');

// ---------------------------------------------------------------------------------------------
// Pods

interface EnvVar {
  name: string;
  value?: string;
}
interface Mount {
  name: string;
  mountPath: string;
}
interface Container {
  name: string;
  image?: string;
  env?: EnvVar[];
  volumeMounts?: Mount[];
  restartPolicy?: string;
  readinessProbe?: unknown;
}
interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  spec: { containers: Container[]; initContainers?: Container[]; volumes?: { name: string }[]; imagePullSecrets?: { name: string }[]; [k: string]: unknown };
  status?: unknown;
}
interface Status {
  kind: 'Status';
  code: number;
  reason: string;
  message: string;
}

const asJson = (p: Pod) => p as unknown as JsonObject;
const names = (l: readonly { name: string }[] | undefined) => (l ?? []).map((x) => x.name);
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function bare(meta: Pod['metadata'], extra: Partial<Pod['spec']> = {}): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: meta, spec: { containers: [{ name: 'app', image: 'busybox' }], ...extra } };
}

/** A bare Pod from a corpus pod (template): our name and namespace, no server-owned metadata, no status. */
function podFromTemplate(template: JsonObject, name: string, namespace: string): Pod {
  const meta = { ...((template.metadata ?? {}) as Record<string, unknown>) };
  for (const k of ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'selfLink', 'managedFields', 'ownerReferences'])
    delete meta[k];
  return { apiVersion: 'v1', kind: 'Pod', metadata: { ...meta, name, namespace }, spec: clone(template.spec) as Pod['spec'] };
}

/**
 * What injection may change, and what uninject must give back: the labels, the annotations and the
 * whole spec. Left out: identity and bookkeeping the server writes per object (name, namespace,
 * uid, resourceVersion, creationTimestamp, managedFields), and `status` (the server computes
 * status.qosClass from every container's resources, the sidecar's included; injection never
 * patches status). Both sides are pods the API server read back, so its defaults are on both.
 */
function comparable(p: Pod): unknown {
  return clone({ labels: p.metadata.labels ?? null, annotations: p.metadata.annotations ?? null, spec: p.spec });
}

/** The ServiceAccount token volume has a random name per pod (kube-api-access-xxxxx): one name for comparisons. */
const normalizeToken = (p: Pod): Pod => JSON.parse(JSON.stringify(p).replace(/kube-api-access-[a-z0-9]+/g, 'kube-api-access-x')) as Pod;

/** The first path where two JSON values differ, for failure messages. */
function firstDiff(a: unknown, b: unknown, path = ''): string | undefined {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b))
    return `${path || '(root)'}: ${JSON.stringify(a)?.slice(0, 200)} != ${JSON.stringify(b)?.slice(0, 200)}`;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const d = firstDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}/${k}`);
    if (d) return d;
  }
  return `${path}: differ`;
}

/** What injecting e2e-agent adds, as seen by comparing an injected pod with the same pod without the webhook. */
function observedAdditions(injected: Pod, baseline: Pod) {
  const added = <T>(now: readonly T[], before: readonly T[]) => now.filter((x) => !before.includes(x));
  const keys = (m: Record<string, string> | undefined) => Object.keys(m ?? {});
  const targets: Record<string, { env: string[]; volumeMounts: string[] }> = {};
  for (const c of injected.spec.containers) {
    const b = baseline.spec.containers.find((x) => x.name === c.name);
    if (!b) continue;
    targets[c.name] = {
      env: added(names(c.env), names(b.env)),
      volumeMounts: added(
        (c.volumeMounts ?? []).map((m) => m.mountPath),
        (b.volumeMounts ?? []).map((m) => m.mountPath),
      ),
    };
  }
  const initChanged = (injected.spec.initContainers ?? [])
    .filter((c) => (baseline.spec.initContainers ?? []).some((b) => b.name === c.name))
    .filter(
      (c) =>
        !isDeepStrictEqual(
          c,
          baseline.spec.initContainers?.find((b) => b.name === c.name),
        ),
    )
    .map((c) => c.name);
  return {
    initContainers: added(names(injected.spec.initContainers), names(baseline.spec.initContainers)),
    containers: added(names(injected.spec.containers), names(baseline.spec.containers)),
    volumes: added(names(injected.spec.volumes), names(baseline.spec.volumes)),
    labels: added(keys(injected.metadata.labels), keys(baseline.metadata.labels)),
    annotations: added(keys(injected.metadata.annotations), keys(baseline.metadata.annotations)),
    targets,
    ownInitContainersChanged: initChanged,
  };
}

function expectedAgentAdditions(baseline: Pod) {
  return {
    initContainers: [AGENT.sidecar],
    containers: [],
    volumes: [AGENT.volume],
    labels: [AGENT.label],
    annotations: [AGENT.annotation, STATUS_ANNOTATION],
    targets: Object.fromEntries(baseline.spec.containers.map((c) => [c.name, { env: [AGENT.env], volumeMounts: [AGENT.mountPath] }])),
    ownInitContainersChanged: [],
  };
}

/** The status record, reduced to what e2e-agent's record must say. */
function recordedAgent(p: Pod) {
  const { status, error } = readStatus(asJson(p));
  if (error || !status) return { error: error ?? 'no status annotation' };
  return status.profiles.map((r) => ({
    name: r.name,
    version: r.version,
    mode: r.mode,
    sidecars: [...(r.initContainers ?? []), ...(r.containers ?? [])],
    volumes: r.volumes ?? [],
    labels: r.labels ?? [],
    annotations: r.annotations ?? [],
    targets: Object.fromEntries(Object.entries(r.targets ?? {}).map(([c, t]) => [c, { env: t.env ?? [], volumeMounts: t.volumeMounts ?? [] }])),
  }));
}

function expectedAgentRecord(baseline: Pod) {
  return [
    {
      name: AGENT.profile,
      version: AGENT.version,
      mode: 'native',
      sidecars: [AGENT.sidecar],
      volumes: [AGENT.volume],
      labels: [AGENT.label],
      annotations: [AGENT.annotation],
      targets: Object.fromEntries(baseline.spec.containers.map((c) => [c.name, { env: [AGENT.env], volumeMounts: [AGENT.mountPath] }])),
    },
  ];
}

/** Problems with an e2e-agent injection, compared with the same pod created without the webhook. */
function agentInjectionProblems(injected: Pod, baseline: Pod): string[] {
  const problems: string[] = [];
  const init = injected.spec.initContainers ?? [];
  if (init[0]?.name !== AGENT.sidecar || init[0]?.restartPolicy !== 'Always')
    problems.push(`initContainers[0] is ${JSON.stringify(init[0]?.name)} (restartPolicy ${init[0]?.restartPolicy}), not the native sidecar ${AGENT.sidecar}`);
  const wantInit = [AGENT.sidecar, ...names(baseline.spec.initContainers)];
  if (!isDeepStrictEqual(names(init), wantInit)) problems.push(`initContainers ${JSON.stringify(names(init))}, want ${JSON.stringify(wantInit)}`);
  if (!isDeepStrictEqual(names(injected.spec.containers), names(baseline.spec.containers)))
    problems.push(`containers ${JSON.stringify(names(injected.spec.containers))}, want ${JSON.stringify(names(baseline.spec.containers))}`);
  for (const c of injected.spec.containers) {
    if (!c.env?.some((e) => e.name === AGENT.env && e.value === `${AGENT.mountPath}/agent.sock`)) problems.push(`container ${c.name} lacks env ${AGENT.env}`);
    if (!c.volumeMounts?.some((m) => m.name === AGENT.volume && m.mountPath === AGENT.mountPath))
      problems.push(`container ${c.name} lacks the mount ${AGENT.mountPath}`);
  }
  const obs = observedAdditions(injected, baseline);
  const want = expectedAgentAdditions(baseline);
  const d1 = firstDiff(obs, want);
  if (d1) problems.push(`added parts differ from the profile: ${d1}`);
  const d2 = firstDiff(recordedAgent(injected), expectedAgentRecord(baseline));
  if (d2) problems.push(`the ${STATUS_ANNOTATION} record differs from what was added: ${d2}`);
  const un = uninject(asJson(injected));
  if (!un.ok) problems.push(`uninject failed: ${un.message}`);
  else {
    const d3 = firstDiff(comparable(un.pod as unknown as Pod), comparable(baseline));
    if (d3) problems.push(`uninject(read back) != the pod created without the webhook: ${d3}`);
  }
  return problems;
}

function corpusFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      if (n.startsWith('.')) return [];
      const p = join(dir, n);
      if (statSync(p).isDirectory()) return corpusFiles(p);
      return /\.(ya?ml|json)$/i.test(n) ? [p] : [];
    });
}

interface CorpusSite {
  where: string;
  template: JsonObject;
}

async function corpusSites(): Promise<{ files: number; unparsable: string[]; sites: CorpusSite[] }> {
  const files = corpusFiles(CORPUS);
  const unparsable: string[] = [];
  const sites: CorpusSite[] = [];
  for (const f of files) {
    let docs: Awaited<ReturnType<typeof readInputs>>;
    try {
      docs = await readInputs([f], false, Readable.from([]));
    } catch {
      unparsable.push(f.slice(CORPUS.length + 1));
      continue;
    }
    for (const d of docs) for (const s of findPodSites(d.value)) sites.push({ where: `${d.where.slice(CORPUS.length + 1)}: ${s.label}`, template: s.pod });
  }
  return { files: files.length, unparsable, sites };
}

// ---------------------------------------------------------------------------------------------
// Webhook configurations

/** The production MutatingWebhookConfiguration from `outrigger manifests`, with our CA as caBundle. */
function productionConfig(caPem: string, urlInstead?: string): JsonObject {
  const objects = bundle({ ...DEFAULTS, certMode: 'files', caBundle: caPem });
  const config = clone(objects.find((o) => o.kind === 'MutatingWebhookConfiguration'));
  assert.ok(config, 'outrigger manifests has a MutatingWebhookConfiguration');
  if (urlInstead) {
    const hook = (config.webhooks as JsonObject[])[0] as JsonObject;
    hook.clientConfig = { url: urlInstead, caBundle: Buffer.from(caPem).toString('base64') };
  }
  return config;
}

// ---------------------------------------------------------------------------------------------

describe('outrigger serve behind a real kube-apiserver', { skip: availability.skip }, () => {
  let cp: ControlPlane;
  let serve: ServeProcess;
  let helper: Awaited<ReturnType<typeof startHelperWebhook>>;
  let dir: string;
  let profilesDir: string;
  let caPem: string;
  let serving: { certPem: string; keyPem: string };
  const corpusReadBack: { where: string; pod: Pod }[] = [];

  const podsPath = (ns: string) => `/api/v1/namespaces/${ns}/pods`;
  const create = (ns: string, pod: Pod, dryRun = false) =>
    cp.request<Pod & Status>('POST', podsPath(ns), { ...pod, metadata: { ...pod.metadata, namespace: ns } }, dryRun ? { query: { dryRun: 'All' } } : {});
  const get = (ns: string, name: string) => cp.request<Pod & Status>('GET', `${podsPath(ns)}/${name}`);
  const admissionLines = (ns: string, name?: string) =>
    serve.logs.filter((l) => l.msg === 'admission' && l.namespace === ns && (name === undefined || l.name === name));
  /** Outrigger's admission log lines for a pod. They are written after the response: wait for `atLeast`, then a little for any extra. */
  async function admissions(ns: string, name?: string, atLeast = 1) {
    const deadline = Date.now() + 5_000;
    while (admissionLines(ns, name).length < atLeast && Date.now() < deadline) await sleep(20);
    await sleep(150);
    return admissionLines(ns, name);
  }

  /** Webhook configurations reach admission through an informer: retry a dry run until `ok`. */
  async function untilActive(c: ControlPlane, what: string, ns: string, ok: (p: Pod) => boolean) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await c.request<Pod>('POST', podsPath(ns), bare({ name: 'probe' }), { query: { dryRun: 'All' } });
      if (r.status === 201 && ok(r.body)) return;
      assert.ok(Date.now() < deadline, `${what} never became active (last: ${r.status} ${r.text.slice(0, 300)})\n${c.logTail(20)}`);
      await sleep(200);
    }
  }
  const hasAgent = (p: Pod) => names(p.spec.initContainers).includes(AGENT.sidecar);
  /** Outrigger changed the pod (whatever it added): how the setup knows a configuration is active. */
  const mutated = (p: Pod) => p.metadata.annotations?.[STATUS_ANNOTATION] !== undefined;

  /** Sends an AdmissionReview for `object` straight to Outrigger's /mutate: the exact response the API server would get. */
  async function mutateDirect(ns: string, object: unknown, name = '') {
    const uid = randomUUID();
    const r = await httpsJson(serve.port, caPem, 'POST', '/mutate?timeout=5s', {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid,
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        requestKind: { group: '', version: 'v1', kind: 'Pod' },
        requestResource: { group: '', version: 'v1', resource: 'pods' },
        name,
        namespace: ns,
        operation: 'CREATE',
        userInfo: { username: 'e2e' },
        object,
        dryRun: false,
        options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
      },
    });
    assert.equal(r.status, 200, r.text);
    const response = (r.body as { response: { uid: string; allowed: boolean; patchType?: string; patch?: string; status?: unknown } }).response;
    assert.equal(response.uid, uid);
    const patch = response.patch ? (JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as { op: string; path: string; value?: unknown }[]) : [];
    return { response, patch };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outrigger-webhook-e2e-'));
    profilesDir = join(dir, 'profiles');
    mkdirSync(profilesDir);
    for (const [f, text] of Object.entries(PROFILES)) writeFileSync(join(profilesDir, f), text);

    const ca = generateCA({ commonName: 'outrigger-e2e-ca' });
    caPem = ca.certPem;
    serving = generateServingCert({ ca, commonName: SVC_HOST, dnsNames: [SVC_HOST], ipAddresses: ['127.0.0.1'] });
    writeFileSync(join(dir, 'tls.crt'), serving.certPem);
    writeFileSync(join(dir, 'tls.key'), serving.keyPem);

    // The control plane and the webhook process start in parallel; whichever started is stopped in after().
    const [started, proc] = await Promise.allSettled([
      startControlPlane(),
      startServeProcess(
        [
          '--profiles',
          profilesDir,
          '--tls-cert',
          join(dir, 'tls.crt'),
          '--tls-key',
          join(dir, 'tls.key'),
          '--port',
          '0',
          '--host',
          '127.0.0.1',
          '--kube-version',
          KUBE_MINOR,
          '--drain-timeout',
          '4s',
        ],
        caPem,
      ),
    ]);
    if (started.status === 'fulfilled') cp = started.value;
    if (proc.status === 'fulfilled') serve = proc.value;
    if (started.status === 'rejected') throw started.reason;
    if (proc.status === 'rejected') throw proc.reason;
    helper = await startHelperWebhook(serving);

    await cp.createNamespace(SYSTEM_NS);
    const nsLabels: Record<string, Record<string, string>> = {
      [NS.baseline]: {},
      [NS.corpus]: INJECTION,
      [NS.bare]: { ...INJECTION, ...RECORD },
      [NS.order]: INJECTION,
      [NS.reinvoke]: { ...INJECTION, ...RECORD, ...SECOND },
      [NS.dryRun]: INJECTION,
      [NS.invalid]: INJECTION,
      [NS.url]: URL_INJECTION,
      [NS.cli]: INJECTION,
      [NS.latencyOn]: INJECTION,
      [NS.latencyOff]: {},
    };
    for (const [ns, labels] of Object.entries(nsLabels)) await cp.createNamespace(ns, labels);

    const caBundle = Buffer.from(caPem).toString('base64');
    const viaUrl = `https://127.0.0.1:${serve.port}/mutate`;
    if (cp.supportsServiceRefs) cp.setServiceEndpoint(SYSTEM_NS, SERVICE_NAME, 443, serve.port);
    const urlConfig = productionConfig(caPem, viaUrl);
    (urlConfig.metadata as JsonObject).name = `${SERVICE_NAME}-url`;
    const urlHook = (urlConfig.webhooks as JsonObject[])[0] as JsonObject;
    urlHook.name = `url.${WEBHOOK_NAME}`;
    urlHook.namespaceSelector = { matchLabels: URL_INJECTION };
    const configs = [
      helperConfig('aa-e2e-recorder', { url: `https://127.0.0.1:${helper.port}/record`, caBundle }, RECORD),
      // Envtest binaries cannot route service references to loopback: the production entry by URL there.
      productionConfig(caPem, cp.supportsServiceRefs ? undefined : viaUrl),
      urlConfig,
      helperConfig('zz-e2e-second', { url: `https://127.0.0.1:${helper.port}/add-container`, caBundle }, SECOND),
    ];
    for (const c of configs) {
      const r = await cp.request('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', c);
      assert.equal(r.status, 201, r.text);
    }
    await untilActive(cp, 'the outrigger webhook', NS.corpus, mutated);
    await untilActive(cp, 'the URL-referenced outrigger webhook', NS.url, mutated);
    await untilActive(cp, 'the recorder and second webhooks', NS.reinvoke, (p) => mutated(p) && names(p.spec.containers).includes(SECOND_CONTAINER.name));
    await untilActive(cp, 'the recorder', NS.bare, () => helper.calls.some((c) => c.namespace === NS.bare));
  });

  after(async () => {
    const code = await serve?.stop();
    if (serve && serve.stderr().trim() !== '') console.error(`outrigger serve stderr (exit ${code}):\n${serve.stderr()}`);
    await helper?.close();
    await cp?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('registers the production webhook entry: service outrigger/outrigger-system:443/mutate, with the caBundle', async () => {
    const r = await cp.request<{ webhooks: JsonObject[] }>('GET', `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${SERVICE_NAME}`);
    assert.equal(r.status, 200, r.text);
    const hook = r.body.webhooks[0] as JsonObject & { clientConfig: JsonObject };
    assert.equal(hook.name, WEBHOOK_NAME);
    if (cp.supportsServiceRefs) assert.deepEqual(hook.clientConfig.service, { namespace: SYSTEM_NS, name: SERVICE_NAME, path: '/mutate', port: 443 });
    assert.equal(Buffer.from(hook.clientConfig.caBundle as string, 'base64').toString(), caPem);
    assert.equal(hook.failurePolicy, 'Fail');
    assert.equal(hook.reinvocationPolicy, 'IfNeeded');
    // The readiness probe of the process and its first admissions.
    const ready = await httpsJson(serve.port, caPem, 'GET', '/readyz');
    assert.equal(ready.status, 200);
    const first = (await admissions(NS.corpus, 'probe'))[0];
    assert.ok(first, `outrigger serve logged an admission for the probe pod:\n${serve.stdout().slice(-2000)}`);
    assert.equal(first.outcome, 'injected');
    assert.equal(first.dryRun, true);
  });

  it('injects every corpus pod the API server accepts without the webhook, and exactly the profile', async () => {
    const { files, unparsable, sites } = await corpusSites();
    assert.ok(sites.length > 50, `the corpus at ${CORPUS} has pod templates (found ${sites.length})`);
    const rejected: { where: string; message: string }[] = [];
    const failures: { where: string; problems: string[] }[] = [];
    let injected = 0;
    for (const [i, site] of sites.entries()) {
      const name = `c-${String(i).padStart(3, '0')}`;
      const base = await create(NS.baseline, podFromTemplate(site.template, name, NS.baseline), true);
      if (base.status !== 201) {
        rejected.push({ where: site.where, message: `${base.status} ${base.body.message ?? base.text}`.slice(0, 160) });
        continue;
      }
      const made = await create(NS.corpus, podFromTemplate(site.template, name, NS.corpus));
      if (made.status !== 201) {
        failures.push({ where: site.where, problems: [`refused with the webhook: ${made.status} ${made.body.message ?? made.text}`] });
        continue;
      }
      const readBack = await get(NS.corpus, name);
      assert.equal(readBack.status, 200, readBack.text);
      const problems = agentInjectionProblems(readBack.body, base.body);
      if (problems.length > 0) failures.push({ where: site.where, problems });
      else injected++;
      corpusReadBack.push({ where: site.where, pod: readBack.body });
    }
    const accepted = sites.length - rejected.length;
    console.log(
      `corpus: ${files} files (${unparsable.length} unparsable, skipped), ${sites.length} pod sites, ` +
        `${accepted} accepted without the webhook, ${injected} injected and checked, ${failures.length} failures`,
    );
    for (const r of rejected) console.log(`  rejected without the webhook (not counted): ${r.where}: ${r.message}`);
    assert.ok(accepted > 50, `most corpus pods are valid (accepted ${accepted} of ${sites.length})`);
    assert.equal(
      failures.length,
      0,
      `${failures.length} of ${accepted} corpus pods were not injected correctly; the first ones:\n${failures
        .slice(0, 10)
        .map((f) => `- ${f.where}:\n    ${f.problems.join('\n    ')}`)
        .join('\n')}`,
    );
    assert.equal(injected, accepted);
  });

  it('injecting twice changes nothing: the webhook returns no patch for every injected corpus pod, and a re-create keeps it as is', async () => {
    assert.ok(corpusReadBack.length > 50, 'the corpus test stored its pods');
    const patched: string[] = [];
    for (const { where, pod } of corpusReadBack) {
      const { response, patch } = await mutateDirect(NS.corpus, pod, pod.metadata.name);
      if (!response.allowed || response.patch !== undefined || patch.length > 0) patched.push(`${where}: ${JSON.stringify(response).slice(0, 300)}`);
    }
    assert.deepEqual(patched, []);

    // Through the API server: the stored injected pod, sent again under a new name.
    const { pod } = corpusReadBack.find((x) => (x.pod.spec.initContainers ?? []).length > 1) ?? (corpusReadBack[0] as { pod: Pod });
    const again = clone(pod);
    again.metadata = { ...again.metadata, name: 'again' };
    for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields']) delete again.metadata[k];
    delete again.status;
    const r = await create(NS.corpus, again);
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(comparable(r.body), comparable(pod));
    const log = await admissions(NS.corpus, 'again');
    assert.equal(log.length, 1);
    assert.equal(log[0]?.outcome, 'unchanged');
    assert.equal(log[0]?.reason, 'already-injected');
  });

  it('injects pods created with generateName and pods with no init containers, volumes, labels or annotations (add of whole lists)', async () => {
    for (const meta of [{ generateName: 'bare-' }, { name: 'bare-named' }]) {
      const before = helper.calls.length;
      const r = await create(NS.bare, bare(meta));
      assert.equal(r.status, 201, r.text);
      const name = r.body.metadata.name as string;
      if (meta.generateName) assert.match(name, /^bare-[a-z0-9]{5}$/);
      const seen = helper.calls.slice(before).filter((c) => c.path === '/record' && c.namespace === NS.bare);
      assert.equal(seen.length, 1, 'the recorder saw the pod once');
      const sent = seen[0]?.object as unknown as Pod;
      // What Outrigger was sent: no name yet for generateName, and every list absent, not [].
      assert.equal(sent.metadata.name, meta.name);
      assert.equal(sent.metadata.generateName, meta.generateName);
      for (const absent of [sent.metadata.labels, sent.metadata.annotations, sent.spec.initContainers, sent.spec.volumes, sent.spec.containers[0]?.env])
        assert.equal(absent, undefined);

      // The patch Outrigger returns for exactly that object: whole lists and maps added.
      const { response, patch } = await mutateDirect(NS.bare, sent);
      assert.equal(response.allowed, true);
      assert.equal(response.patchType, 'JSONPatch');
      assert.deepEqual(
        patch.map((op) => `${op.op} ${op.path}`).sort(),
        [
          'add /metadata/annotations',
          'add /metadata/labels',
          'add /spec/containers/0/env',
          'add /spec/containers/0/volumeMounts',
          'add /spec/initContainers',
          'add /spec/volumes',
        ].sort(),
      );
      const valueAt = (p: string) => patch.find((op) => op.path === p)?.value as { name: string }[];
      assert.deepEqual(names(valueAt('/spec/initContainers')), [AGENT.sidecar]);
      assert.deepEqual(names(valueAt('/spec/volumes')), [AGENT.volume]);

      // What the API server stored is that patch applied (plus the server's defaults on the sidecar).
      const expected = applyPatch(sent as unknown as JsonObject, patch as AnyPatchOp[]) as unknown as Pod;
      const stored = (await get(NS.bare, name)).body;
      assert.deepEqual(stored.metadata.labels, expected.metadata.labels);
      assert.deepEqual(stored.metadata.annotations, expected.metadata.annotations);
      assert.deepEqual(stored.spec.containers, expected.spec.containers);
      assert.deepEqual(stored.spec.volumes, expected.spec.volumes);
      assert.deepEqual(names(stored.spec.initContainers), [AGENT.sidecar]);
      assert.equal(stored.spec.initContainers?.[0]?.restartPolicy, 'Always');

      // And uninject gives back absent lists, not empty ones.
      const un = uninject(asJson(stored));
      assert.ok(un.ok);
      const back = un.pod as unknown as Pod;
      for (const absent of [back.metadata.labels, back.metadata.annotations, back.spec.initContainers, back.spec.volumes, back.spec.containers[0]?.env])
        assert.equal(absent, undefined);
    }
  });

  it('reads native sidecars back as init containers with restartPolicy Always, in profile order, before the pod’s own', async () => {
    const pod = bare(
      {
        name: 'ordered',
        labels: { app: 'shop', 'app.kubernetes.io/name': 'shop' },
        // Asked for in another order than profile order (envoy: order -10; the rest: order 0, by name).
        annotations: { 'outrigger.dev/inject': 'secrets-agent, envoy, log-shipper' },
      },
      { initContainers: [{ name: 'migrate', image: 'example.com/migrate:1' }] },
    );
    const r = await create(NS.order, pod);
    assert.equal(r.status, 201, r.text);
    const stored = (await get(NS.order, 'ordered')).body;
    const init = stored.spec.initContainers ?? [];
    assert.deepEqual(
      init.map((c) => [c.name, c.restartPolicy ?? null]),
      [
        ['envoy', 'Always'],
        [AGENT.sidecar, 'Always'],
        ['log-shipper', 'Always'],
        ['secrets-init', null],
        ['secrets-agent', 'Always'],
        ['migrate', null],
      ],
    );
    assert.deepEqual(names(stored.spec.containers), ['app'], 'no classic sidecar');
    assert.ok(init[0]?.readinessProbe, 'the API server kept the probe on the native sidecar');
    assert.deepEqual(names(stored.spec.imagePullSecrets), ['example-registry']);
    const status = readStatus(asJson(stored)).status;
    assert.deepEqual(
      status?.profiles.map((p) => [p.name, p.mode]),
      [
        ['envoy', 'native'],
        [AGENT.profile, 'native'],
        ['log-shipper', 'native'],
        ['secrets-agent', 'native'],
      ],
    );
    // The app gets every profile's env; the pod's own init container gets none (no initContainerTargets).
    assert.deepEqual(names(stored.spec.containers[0]?.env).sort(), ['HTTP_PROXY', 'LOG_DIR', AGENT.env].sort());
    assert.equal(init.at(-1)?.env, undefined);
  });

  it('with reinvocationPolicy IfNeeded and a later webhook adding a container, injects exactly once and extends to that container', async () => {
    const before = helper.calls.length;
    const r = await create(NS.reinvoke, bare({ name: 'reinvoked' }));
    assert.equal(r.status, 201, r.text);
    const stored = (await get(NS.reinvoke, 'reinvoked')).body;
    assert.deepEqual(names(stored.spec.containers), ['app', SECOND_CONTAINER.name], 'the second webhook’s container is there');
    assert.deepEqual(names(stored.spec.initContainers), [AGENT.sidecar], 'one sidecar');

    // Outrigger ran twice: injected, then (reinvoked after the second webhook changed the pod) it
    // gave the new container the profile's env and mount, and nothing else.
    const log = await admissions(NS.reinvoke, 'reinvoked', 2);
    assert.deepEqual(
      log.map((l) => [l.outcome, l.reason]),
      [
        ['injected', 'injected'],
        ['injected', 'injected'],
      ],
    );
    const calls = helper.calls.slice(before).filter((c) => c.namespace === NS.reinvoke);
    assert.deepEqual(
      calls.map((c) => c.path),
      ['/record', '/add-container'],
    );
    const second = stored.spec.containers[1];
    assert.deepEqual(names(second?.env), [AGENT.env]);
    assert.deepEqual(
      (second?.volumeMounts ?? []).map((m: { mountPath: string }) => m.mountPath),
      [AGENT.mountPath],
    );
    // The status records the extension, so uninject removes it too.
    const status = JSON.parse(stored.metadata.annotations?.[STATUS_ANNOTATION] ?? '{}');
    assert.deepEqual(Object.keys(status.profiles[0].targets).sort(), ['app', SECOND_CONTAINER.name].sort());
    const { patch } = await mutateDirect(NS.reinvoke, stored, 'reinvoked');
    assert.deepEqual(patch, [], 'a third call has nothing to do');
  });

  it('injects a dry-run create (dryRun=All) and leaves nothing behind', async () => {
    const r = await create(NS.dryRun, bare({ name: 'dry' }), true);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.spec.initContainers?.[0]?.name, AGENT.sidecar);
    assert.equal(r.body.spec.initContainers?.[0]?.restartPolicy, 'Always');
    assert.ok(r.body.metadata.annotations?.[STATUS_ANNOTATION]);
    assert.equal((await get(NS.dryRun, 'dry')).status, 404);
    const list = await cp.request<{ items: unknown[] }>('GET', podsPath(NS.dryRun));
    assert.deepEqual(list.body.items, []);
    const log = await admissions(NS.dryRun, 'dry');
    assert.equal(log.length, 1);
    assert.equal(log[0]?.dryRun, true);
  });

  it('refuses a pod that a profile would make invalid with Outrigger’s own message (403), not a 500 or a 422', async () => {
    const cases: { name: string; annotations: Record<string, string>; want: RegExp }[] = [
      { name: 'conflict', annotations: { 'outrigger.dev/inject': 'conflict' }, want: /profile "conflict" cannot be injected: .*"app".*conflictPolicy: fail/ },
      {
        name: 'override',
        annotations: { 'outrigger.dev/inject': 'log-shipper', 'outrigger.dev/log-shipper.resources': '{"limits":{"memory":"16Mi"}}' },
        want: /profile "log-shipper" cannot be injected: .*requests\.memory \(32Mi\) must not be greater than resources\.limits\.memory \(16Mi\)/,
      },
    ];
    for (const c of cases) {
      const r = await create(NS.invalid, bare({ name: c.name, annotations: c.annotations }));
      assert.equal(r.status, 403, `${c.name}: ${r.text}`);
      assert.equal(r.body.reason, 'Forbidden');
      assert.match(r.body.message, new RegExp(`^admission webhook "${WEBHOOK_NAME.replaceAll('.', '\\.')}" denied the request: `));
      assert.match(r.body.message, c.want);
      assert.equal((await get(NS.invalid, c.name)).status, 404, 'nothing stored');
      assert.equal((await admissions(NS.invalid, c.name))[0]?.outcome, 'denied');
    }
  });

  it('works as a URL-referenced webhook (clientConfig.url)', async () => {
    const r = await create(NS.url, bare({ name: 'by-url' }));
    assert.equal(r.status, 201, r.text);
    const stored = (await get(NS.url, 'by-url')).body;
    assert.equal(stored.spec.initContainers?.[0]?.name, AGENT.sidecar);
    assert.equal((await admissions(NS.url, 'by-url'))[0]?.outcome, 'injected');
  });

  it('stores the same pod as `outrigger inject` prints for it (CLI and webhook agree)', async () => {
    const { sites } = await corpusSites();
    const site =
      sites.find((s) => s.where.startsWith('kube-prometheus/') && s.where.includes('prometheusAdapter')) ??
      sites.find((s) => s.where.startsWith('kube-prometheus/'));
    assert.ok(site, 'a kube-prometheus workload');
    const pod = podFromTemplate(site.template, 'cli-pod', NS.cli);
    pod.metadata.annotations = { ...pod.metadata.annotations, 'outrigger.dev/inject': 'envoy, log-shipper, secrets-agent' };
    const file = join(dir, 'cli-pod.json');
    writeFileSync(file, JSON.stringify(pod));
    const cli = await runCli(['inject', '-f', file, '--profiles', profilesDir, '--kube-version', KUBE_MINOR, '-n', NS.cli]);
    assert.equal(cli.code, 0, cli.stderr);
    const printed = parseYaml(cli.stdout) as Pod;
    assert.ok(hasAgent(printed));

    const viaWebhook = await create(NS.cli, pod);
    assert.equal(viaWebhook.status, 201, viaWebhook.text);
    const stored = (await get(NS.cli, 'cli-pod')).body;
    // The CLI's output through the same server without the webhook: the same defaults on both sides.
    const viaCli = await create(NS.baseline, { ...printed, metadata: { ...printed.metadata, name: 'cli-pod' } }, true);
    assert.equal(viaCli.status, 201, viaCli.text);
    assert.equal(stored.metadata.annotations?.[STATUS_ANNOTATION], printed.metadata.annotations?.[STATUS_ANNOTATION], 'the same status record');
    assert.deepEqual(comparable(stored), comparable(viaCli.body));
  });

  it('with the ServiceAccount admission plugin on (token volume and mounts), injects and uninjects cleanly', async () => {
    const cp2 = await startControlPlane({ serviceAccountAdmission: true });
    try {
      await cp2.createNamespace(SYSTEM_NS);
      await cp2.createNamespace(NS.baseline);
      await cp2.createNamespace(NS.corpus, INJECTION);
      if (cp2.supportsServiceRefs) cp2.setServiceEndpoint(SYSTEM_NS, SERVICE_NAME, 443, serve.port);
      const config = productionConfig(caPem, cp2.supportsServiceRefs ? undefined : `https://127.0.0.1:${serve.port}/mutate`);
      const reg = await cp2.request('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', config);
      assert.equal(reg.status, 201, reg.text);
      await untilActive(cp2, 'the outrigger webhook (second control plane)', NS.corpus, mutated);

      const { sites } = await corpusSites();
      // Corpus pods that name no ServiceAccount: with the plugin on, a pod naming one that does not exist is refused.
      const noSa = sites.filter((s) => {
        const spec = s.template.spec as JsonObject;
        return spec.serviceAccountName === undefined && spec.serviceAccount === undefined;
      });
      const pods = [bare({ name: 'sa-bare' }), ...noSa.slice(0, 12).map((s, i) => podFromTemplate(s.template, `sa-${i}`, NS.corpus))];
      const failures: string[] = [];
      let checked = 0;
      let sidecarGotToken = 0;
      let skipped = 0;
      for (const pod of pods) {
        const name = pod.metadata.name as string;
        const base = await cp2.request<Pod>(
          'POST',
          podsPath(NS.baseline),
          { ...pod, metadata: { ...pod.metadata, namespace: NS.baseline } },
          { query: { dryRun: 'All' } },
        );
        if (base.status !== 201) {
          skipped++;
          continue;
        }
        const made = await cp2.request<Pod & Status>('POST', podsPath(NS.corpus), { ...pod, metadata: { ...pod.metadata, namespace: NS.corpus } });
        if (made.status !== 201) {
          failures.push(`${name}: ${made.status} ${made.body.message}`);
          continue;
        }
        const stored = (await cp2.request<Pod>('GET', `${podsPath(NS.corpus)}/${name}`)).body;
        const tokenMounted = (c: Container) => (c.volumeMounts ?? []).some((m) => m.name.startsWith('kube-api-access-'));
        if (base.body.spec.automountServiceAccountToken !== false && !base.body.spec.containers.every(tokenMounted))
          failures.push(`${name}: the baseline has no token mount; the plugin is not on`);
        if ((stored.spec.initContainers ?? []).filter((c) => c.name === AGENT.sidecar).some(tokenMounted)) sidecarGotToken++;
        // The sidecar itself may get the token mount too (the plugin runs again after a webhook's change); uninject removes it whole.
        const problems = agentInjectionProblems(normalizeToken(stored), normalizeToken(base.body));
        if (problems.length > 0) failures.push(`${name}: ${problems.join('; ')}`);
        else checked++;
      }
      console.log(
        `ServiceAccount admission on: ${checked} of ${pods.length} pods injected and checked (${skipped} refused without the webhook); ` +
          `the plugin, run again after the webhook's change, also mounted the token into the sidecar in ${sidecarGotToken}`,
      );
      assert.deepEqual(failures, []);
      assert.ok(checked >= 5, `checked ${checked}`);
    } finally {
      await cp2.stop();
    }
  });

  it('measures the latency the webhook adds to a pod create (printed, not asserted)', async () => {
    const on: number[] = [];
    const off: number[] = [];
    const N = 50;
    const timed = async (ns: string, name: string) => {
      const t = performance.now();
      const r = await create(ns, bare({ name }));
      const ms = performance.now() - t;
      assert.equal(r.status, 201, r.text);
      return { ms, pod: r.body };
    };
    for (let i = 0; i < 3; i++) {
      await timed(NS.latencyOff, `warm-${i}`);
      await timed(NS.latencyOn, `warm-${i}`);
    }
    for (let i = 0; i < N; i++) {
      // Interleaved, so drift in the machine's load falls on both sides alike.
      off.push((await timed(NS.latencyOff, `p-${i}`)).ms);
      const injected = await timed(NS.latencyOn, `p-${i}`);
      assert.ok(hasAgent(injected.pod), 'injected');
      on.push(injected.ms);
    }
    const a = summarize(off);
    const b = summarize(on);
    const fmt = (s: Summary) => `median ${s.median.toFixed(2)} ms, p95 ${s.p95.toFixed(2)} ms, mean ${s.mean.toFixed(2)} ms (n=${s.n})`;
    const served = (await admissions(NS.latencyOn, undefined, N + 3)).filter((l) => String(l.name).startsWith('p-')).map((l) => l.durationMs as number);
    console.log(
      [
        `pod create latency, ${N} sequential creates each:`,
        `  without the webhook: ${fmt(a)}`,
        `  with outrigger:      ${fmt(b)}`,
        `  added:               median ${(b.median - a.median).toFixed(2)} ms, p95 ${(b.p95 - a.p95).toFixed(2)} ms`,
        `  inside outrigger (durationMs logged per admission): ${fmt(summarize(served))}`,
      ].join('\n'),
    );
  });

  // Last: stops the webhook process.
  it('with the webhook down and failurePolicy Fail, opted-in creates fail naming the webhook; other namespaces are unaffected', async () => {
    assert.deepEqual(
      serve.logs.filter((l) => l.level === 'error'),
      [],
      'outrigger serve logged no errors while up',
    );
    const code = await serve.stop();
    assert.equal(code, 0, `outrigger serve exits 0 after a clean drain on SIGTERM\n${serve.stdout().slice(-1500)}\n${serve.stderr()}`);
    assert.ok(serve.logs.some((l) => l.msg === 'stopped'));

    const r = await create(NS.corpus, bare({ name: 'while-down' }));
    assert.equal(r.status, 500, r.text);
    assert.equal(r.body.reason, 'InternalError');
    assert.match(r.body.message, new RegExp(`failed calling webhook "${WEBHOOK_NAME.replaceAll('.', '\\.')}"`));
    assert.match(r.body.message, /connection refused|failed to call webhook/);
    assert.equal((await get(NS.corpus, 'while-down')).status, 404);

    const dry = await create(NS.corpus, bare({ name: 'while-down-dry' }), true);
    assert.equal(dry.status, 500, 'a dry run is refused too');

    const elsewhere = await create(NS.baseline, bare({ name: 'while-down' }));
    assert.equal(elsewhere.status, 201, elsewhere.text);
    assert.equal(elsewhere.body.spec.initContainers, undefined);

    // The production entry's matchCondition: a pod that opted out never reaches the webhook.
    const optedOut = await create(NS.corpus, bare({ name: 'opted-out', annotations: { 'outrigger.dev/inject': 'false' } }));
    assert.equal(optedOut.status, 201, optedOut.text);
  });
});
