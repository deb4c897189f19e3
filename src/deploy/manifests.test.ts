import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../../test/support/run-cli.ts';
import { parseServeArgs } from '../cli/serve-flags.ts';
import { isObject, type JsonObject } from '../common/json.ts';
import { CA_SECRET, NEVER_INJECTED, TLS_SECRET } from '../common/labels.ts';
import { bundle, type CertMode, DEFAULTS } from './manifests.ts';

const find = (objs: JsonObject[], kind: string) => objs.find((o) => o.kind === kind) as JsonObject;
const container = (objs: JsonObject[]) =>
  ((((find(objs, 'Deployment').spec as JsonObject).template as JsonObject).spec as JsonObject).containers as JsonObject[])[0] as JsonObject;

test('the Deployment runs serve with flags serve accepts, in every cert mode', () => {
  for (const certMode of ['self', 'cert-manager', 'files'] as CertMode[]) {
    const args = container(bundle({ ...DEFAULTS, certMode, ...(certMode === 'files' ? { caBundle: 'x' } : {}) })).args as string[];
    assert.equal(args[0], 'serve');
    const o = parseServeArgs(args.slice(1));
    assert.ok(o !== 'help');
    assert.equal(o.cluster?.profilesFromCluster, true, certMode);
    assert.equal(o.cluster?.self !== undefined, certMode === 'self', certMode);
  }
});

test('the webhook can never see system namespaces or Outrigger’s own, and fails closed', () => {
  const hook = (find(bundle({ ...DEFAULTS, namespace: 'ops' }), 'MutatingWebhookConfiguration').webhooks as JsonObject[])[0] as JsonObject;
  const exprs = (hook.namespaceSelector as JsonObject).matchExpressions as JsonObject[];
  assert.deepEqual(exprs[0], { key: 'outrigger.dev/injection', operator: 'In', values: ['enabled'] });
  assert.deepEqual(exprs[1], { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...NEVER_INJECTED, 'ops'] });
  assert.deepEqual([hook.failurePolicy, hook.sideEffects, hook.reinvocationPolicy, hook.timeoutSeconds], ['Fail', 'NoneOnDryRun', 'IfNeeded', 5]);
  assert.deepEqual(hook.admissionReviewVersions, ['v1']);
});

test('RBAC is least privilege: names where Kubernetes allows it, no access to pods or other secrets', () => {
  const objs = bundle(DEFAULTS);
  const rules = [...((find(objs, 'ClusterRole').rules as JsonObject[]) ?? []), ...((find(objs, 'Role').rules as JsonObject[]) ?? [])];
  for (const r of rules) {
    const verbs = r.verbs as string[];
    assert.ok(!verbs.includes('*') && !(r.resources as string[]).includes('*'), JSON.stringify(r));
    assert.ok(!(r.resources as string[]).includes('pods'), 'the webhook needs no pod access');
    const named = ['secrets', 'mutatingwebhookconfigurations', 'validatingwebhookconfigurations'];
    if ((r.resources as string[]).some((x) => named.includes(x))) {
      assert.ok(verbs.every((v) => v === 'create') || Array.isArray(r.resourceNames), JSON.stringify(r));
    }
  }
  assert.equal(find(bundle({ ...DEFAULTS, certMode: 'cert-manager' }), 'Role'), undefined, 'no Secret or Lease access without self-managed certificates');
});

test('the pod spec meets the restricted Pod Security Standard and drains within its grace period', () => {
  const objs = bundle(DEFAULTS);
  const podSpec = ((find(objs, 'Deployment').spec as JsonObject).template as JsonObject).spec as JsonObject;
  const c = container(objs);
  assert.deepEqual((podSpec.securityContext as JsonObject).seccompProfile, { type: 'RuntimeDefault' });
  assert.equal((podSpec.securityContext as JsonObject).runAsNonRoot, true);
  assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  const drain = Number(/--drain-timeout=(\d+)s/.exec((c.args as string[]).join(' '))?.[1]);
  assert.ok((podSpec.terminationGracePeriodSeconds as number) > drain);
  assert.ok(isObject(find(objs, 'PodDisruptionBudget').spec));
});

test('NetworkPolicy: the webhook port from anywhere, nothing else in; out only to the API server ports', () => {
  const policy = find(bundle(DEFAULTS), 'NetworkPolicy');
  assert.ok(policy, 'the bundle has a NetworkPolicy');
  const spec = policy.spec as JsonObject;
  assert.deepEqual(spec.podSelector, (find(bundle(DEFAULTS), 'Deployment').spec as JsonObject).selector, 'selects the webhook pods');
  assert.deepEqual(spec.policyTypes, ['Ingress', 'Egress']);
  const webhookPort = ((container(bundle(DEFAULTS)).ports as JsonObject[])[0] as JsonObject).containerPort;
  assert.deepEqual(spec.ingress, [{ ports: [{ protocol: 'TCP', port: webhookPort }] }], 'no rule for the admin port');
  assert.deepEqual(spec.egress, [
    {
      ports: [
        { protocol: 'TCP', port: 443 },
        { protocol: 'TCP', port: 6443 },
      ],
    },
  ]);
  const custom = find(bundle({ ...DEFAULTS, apiServerPorts: [8080] }), 'NetworkPolicy').spec as JsonObject;
  assert.deepEqual(custom.egress, [{ ports: [{ protocol: 'TCP', port: 8080 }] }]);
});

test('--webhook-ingress-from: only those sources reach the webhook port; egress is unchanged', async () => {
  const spec = find(bundle({ ...DEFAULTS, webhookIngressFrom: ['10.0.0.0/24', 'fd00::/64'] }), 'NetworkPolicy').spec as JsonObject;
  const webhookPort = ((container(bundle(DEFAULTS)).ports as JsonObject[])[0] as JsonObject).containerPort;
  assert.deepEqual(spec.ingress, [
    { from: [{ ipBlock: { cidr: '10.0.0.0/24' } }, { ipBlock: { cidr: 'fd00::/64' } }], ports: [{ protocol: 'TCP', port: webhookPort }] },
  ]);
  assert.deepEqual(spec.egress, (find(bundle(DEFAULTS), 'NetworkPolicy').spec as JsonObject).egress);
  const printed = await runCli(['manifests', '--webhook-ingress-from', '192.168.10.0/28', '--webhook-ingress-from', '172.16.0.1/32']);
  assert.equal(printed.code, 0, printed.stderr);
  assert.match(printed.stdout, /ingress:\n\s+- from:\n\s+- ipBlock:\n\s+cidr: 192\.168\.10\.0\/28\n\s+- ipBlock:\n\s+cidr: 172\.16\.0\.1\/32\n/);
  for (const [bad, why] of [
    ['10.0.0.0', /"10\.0\.0\.0" is no CIDR/],
    ['10.0.0/8', /"10\.0\.0\/8" is no CIDR/],
    ['10.0.0.0/33', /"10\.0\.0\.0\/33" has a prefix length that is not 0 to 32/],
    ['fd00::/129', /"fd00::\/129" has a prefix length that is not 0 to 128/],
    ['10.0.0.0/8/8', /is no CIDR/],
    ['fe80::1%eth0/64', /is no CIDR/],
    ['10.0.0.0/08', /prefix length that is not 0 to 32/],
    ['', /"" is no CIDR/],
  ] as const) {
    const r = await runCli(['manifests', '--webhook-ingress-from', bad]);
    assert.equal(r.code, 2, bad);
    assert.match(r.stderr, /--webhook-ingress-from: /, bad);
    assert.match(r.stderr, why, bad);
  }
});

test('the admin listener stays on loopback and is not a container port', () => {
  for (const certMode of ['self', 'cert-manager', 'files'] as CertMode[]) {
    const c = container(bundle({ ...DEFAULTS, certMode, ...(certMode === 'files' ? { caBundle: 'x' } : {}) }));
    const o = parseServeArgs((c.args as string[]).slice(1));
    assert.ok(o !== 'help');
    assert.deepEqual(o.admin, { host: '127.0.0.1', port: 9443 }, certMode);
    assert.deepEqual(
      (c.ports as JsonObject[]).map((p) => p.containerPort),
      [o.port],
      certMode,
    );
  }
});

test('cert mode self: the CA key has its own Secret; RBAC names exactly the serving and the CA Secret', () => {
  const objs = bundle(DEFAULTS);
  const o = parseServeArgs((container(objs).args as string[]).slice(1));
  assert.ok(o !== 'help' && o.cluster?.self);
  assert.equal(o.cluster.self.secretName, TLS_SECRET);
  assert.equal(o.cluster.self.caSecretName, CA_SECRET);
  assert.notEqual(CA_SECRET, TLS_SECRET);
  const secretRules = ((find(objs, 'Role').rules as JsonObject[]) ?? []).filter((r) => (r.resources as string[]).includes('secrets'));
  assert.deepEqual(secretRules, [
    { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    { apiGroups: [''], resources: ['secrets'], resourceNames: [TLS_SECRET, CA_SECRET], verbs: ['get', 'update'] },
  ]);
});

test('a client CA ConfigMap is mounted and passed as --client-ca, in every cert mode', () => {
  for (const certMode of ['self', 'cert-manager', 'files'] as CertMode[]) {
    const objs = bundle({ ...DEFAULTS, certMode, clientCaConfigMap: 'apiserver-client-ca', ...(certMode === 'files' ? { caBundle: 'x' } : {}) });
    const c = container(objs);
    const o = parseServeArgs((c.args as string[]).slice(1));
    assert.ok(o !== 'help');
    assert.equal(o.tls?.clientCaFile ?? o.clientCaFile, '/etc/outrigger/client-ca/ca.crt', certMode);
    assert.ok((c.volumeMounts as JsonObject[]).some((m) => m.name === 'client-ca' && m.mountPath === '/etc/outrigger/client-ca' && m.readOnly === true));
    const podSpec = ((find(objs, 'Deployment').spec as JsonObject).template as JsonObject).spec as JsonObject;
    assert.ok((podSpec.volumes as JsonObject[]).some((v) => v.name === 'client-ca' && (v.configMap as JsonObject).name === 'apiserver-client-ca'));
  }
  const plain = container(bundle(DEFAULTS));
  assert.ok(!(plain.args as string[]).some((a) => a.startsWith('--client-ca')));
  assert.equal(plain.volumeMounts, undefined);
});
test('--no-opt-out-condition drops the matchCondition and tells serve so (mandatory profiles are then not reported as skippable)', () => {
  for (const optOutMatchCondition of [true, false]) {
    const objs = bundle({ ...DEFAULTS, optOutMatchCondition });
    const hook = (find(objs, 'MutatingWebhookConfiguration').webhooks as JsonObject[])[0] as JsonObject;
    assert.equal(hook.matchConditions !== undefined, optOutMatchCondition);
    const o = parseServeArgs((container(objs).args as string[]).slice(1));
    assert.ok(o !== 'help');
    assert.equal(o.webhookOptOut ?? true, optOutMatchCondition);
  }
});

test('the heap is bounded well under the memory limit', () => {
  const c = container(bundle(DEFAULTS));
  const limit = ((c.resources as JsonObject).limits as JsonObject).memory;
  assert.equal(limit, '256Mi');
  assert.deepEqual(c.env, [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=128 --max-semi-space-size=8' }]);
});

test('the workloads webhook, which only warns, is the one webhook of a ValidatingWebhookConfiguration; cert mode self keeps its caBundle by name', () => {
  for (const certMode of ['self', 'cert-manager', 'files'] as CertMode[]) {
    const objs = bundle({ ...DEFAULTS, certMode, ...(certMode === 'files' ? { caBundle: 'PEM' } : {}) });
    const mutating = find(objs, 'MutatingWebhookConfiguration');
    const validating = find(objs, 'ValidatingWebhookConfiguration');
    assert.deepEqual(
      (mutating.webhooks as JsonObject[]).map((w) => w.name),
      ['pods.outrigger.dev'],
    );
    assert.deepEqual(
      (validating.webhooks as JsonObject[]).map((w) => w.name),
      ['workloads.outrigger.dev'],
    );
    const hook = (validating.webhooks as JsonObject[])[0] as JsonObject;
    assert.deepEqual([hook.failurePolicy, hook.sideEffects, hook.reinvocationPolicy], ['Ignore', 'None', undefined], 'validating webhooks are never reinvoked');
    assert.deepEqual(hook.clientConfig, ((mutating.webhooks as JsonObject[])[0] as JsonObject).clientConfig, certMode);
    assert.deepEqual(validating.metadata, mutating.metadata, 'the same name, and the same CA injection with cert-manager');
    const o = parseServeArgs((container(objs).args as string[]).slice(1));
    assert.ok(o !== 'help');
    assert.equal(o.cluster?.self?.validatingWebhookConfig, certMode === 'self' ? 'outrigger' : undefined, certMode);
    const webhookRule = (find(objs, 'ClusterRole').rules as JsonObject[]).find((r) => (r.apiGroups as string[]).includes('admissionregistration.k8s.io'));
    assert.deepEqual(
      webhookRule && [webhookRule.resources, webhookRule.resourceNames, webhookRule.verbs],
      certMode === 'self' ? [['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'], ['outrigger'], ['get', 'patch']] : undefined,
      certMode,
    );
  }
});

test('--priority-class: system-cluster-critical by default (a fail-closed webhook), another class, or none', async () => {
  const spec = (objs: JsonObject[]) => ((find(objs, 'Deployment').spec as JsonObject).template as JsonObject).spec as JsonObject;
  assert.equal(spec(bundle(DEFAULTS)).priorityClassName, 'system-cluster-critical');
  const other = await runCli(['manifests', '--priority-class', 'webhooks']);
  assert.equal(other.code, 0, other.stderr);
  assert.match(other.stdout, /\n {6}priorityClassName: webhooks\n/);
  const none = await runCli(['manifests', '--priority-class', '']);
  assert.equal(none.code, 0, none.stderr);
  assert.doesNotMatch(none.stdout, /priorityClassName/);
  const bad = await runCli(['manifests', '--priority-class', 'Not_A_Name']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--priority-class: "Not_A_Name" /);
});

test('cert-manager mode: self-signed root → CA Certificate → CA Issuer → serving Certificate; the caBundle is injected from the CA', () => {
  const objs = bundle({ ...DEFAULTS, namespace: 'ops', certMode: 'cert-manager' });
  const named = (kind: string, name: string) => {
    const o = objs.find((x) => x.kind === kind && (x.metadata as JsonObject).name === name);
    assert.ok(o, `${kind} ${name}`);
    return o.spec as JsonObject;
  };
  const serving = named('Certificate', 'outrigger');
  assert.equal(serving.secretName, TLS_SECRET);
  const servingIssuer = serving.issuerRef as JsonObject;
  assert.equal(servingIssuer.kind, 'Issuer');
  const caIssuer = named('Issuer', servingIssuer.name as string);
  const caSecret = (caIssuer.ca as JsonObject | undefined)?.secretName;
  assert.ok(typeof caSecret === 'string', 'the serving certificate is signed by a CA Issuer');
  const ca = objs.find((x) => x.kind === 'Certificate' && (x.spec as JsonObject).secretName === caSecret);
  assert.ok(ca, 'a Certificate makes the CA Issuer’s Secret');
  const caSpec = ca.spec as JsonObject;
  assert.equal(caSpec.isCA, true);
  assert.equal((caSpec.privateKey as JsonObject).rotationPolicy, 'Never', 'a renewed CA keeps its key, so certificates it signed stay valid');
  assert.deepEqual(named('Issuer', (caSpec.issuerRef as JsonObject).name as string), { selfSigned: {} });
  const caName = (ca.metadata as JsonObject).name;
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'])
    assert.equal(((find(objs, kind).metadata as JsonObject).annotations as JsonObject)['cert-manager.io/inject-ca-from'], `ops/${caName}`, kind);
});

test('--admission policy: no webhook configuration for pods; serve keeps the policies, with the RBAC for them and nothing for the pods webhook', async () => {
  for (const certMode of ['self', 'cert-manager', 'files'] as CertMode[]) {
    const objs = bundle({ ...DEFAULTS, admission: 'policy', certMode, ...(certMode === 'files' ? { caBundle: 'x' } : {}) });
    assert.equal(find(objs, 'MutatingWebhookConfiguration'), undefined, certMode);
    assert.ok(find(objs, 'ValidatingWebhookConfiguration'), certMode);
    const args = container(objs).args as string[];
    const o = parseServeArgs(args.slice(1));
    assert.ok(o !== 'help');
    assert.equal(o.cluster?.admission, 'policy', certMode);
    if (certMode === 'self') {
      assert.equal(o.cluster?.self?.webhookConfig, undefined);
      assert.equal(o.cluster?.self?.validatingWebhookConfig, 'outrigger');
    }
    const rules = (find(objs, 'ClusterRole').rules as JsonObject[]).filter((r) => (r.apiGroups as string[]).includes('admissionregistration.k8s.io'));
    assert.deepEqual(
      rules.map((r) => [r.resources, r.verbs, r.resourceNames ?? null]),
      [
        ...(certMode === 'self' ? [[['validatingwebhookconfigurations'], ['get', 'patch'], ['outrigger']]] : []),
        [
          ['mutatingadmissionpolicies', 'validatingadmissionpolicies', 'mutatingadmissionpolicybindings', 'validatingadmissionpolicybindings'],
          ['list', 'create', 'patch', 'delete'],
          null,
        ],
      ],
      certMode,
    );
  }
  // The webhook bundle is unchanged by the option's existence, and holds no policy rule.
  const webhook = find(bundle(DEFAULTS), 'ClusterRole').rules as JsonObject[];
  assert.ok(!JSON.stringify(webhook).includes('admissionpolicies'));
  const bad = await runCli(['manifests', '--admission', 'both']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--admission: "both" must be webhook or policy/);
});
