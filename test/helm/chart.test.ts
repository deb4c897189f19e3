// charts/outrigger: lint, render with several value sets, the same objects as `outrigger manifests`
// (the bundle is the one source of truth; the chart's templates are checked against it here), and
// values rejected by values.schema.json or the templates with a message naming the value.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import { generateCA } from '../../src/tls/certs.ts';
import { VERSION } from '../../src/version.ts';
import { helmAvailability } from '../tools/helm.ts';
import { byKey, chartCopy, chartDir, key, manifests, type Obj, run, template } from './chart.ts';

const { helm, skip } = await helmAvailability();
const tmp = mkdtempSync(join(tmpdir(), 'outrigger-helm-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The same objects, compared one by one so a failure names the object that differs. */
function assertSameObjects(chart: Obj[], bundle: Obj[], what: string): void {
  const c = byKey(chart);
  const b = byKey(bundle);
  assert.deepEqual([...c.keys()].sort(), [...b.keys()].sort(), `${what}: the chart renders other objects than outrigger manifests`);
  for (const [k, o] of b) assert.deepEqual(c.get(k), o, `${what}: ${k} differs`);
}

const find = (objects: Obj[], kind: string): Obj => {
  const o = objects.find((x) => x.kind === kind);
  assert.ok(o, `no ${kind} in ${objects.map(key).join(', ')}`);
  return o;
};
const podSpec = (objects: Obj[]) => ((find(objects, 'Deployment').spec as Obj).template as { spec: Record<string, unknown> }).spec;
const container = (objects: Obj[]) => (podSpec(objects).containers as Record<string, unknown>[])[0] as Record<string, unknown>;
const withoutNamespace = (objects: Obj[]) => objects.filter((o) => o.kind !== 'Namespace');

/** Writes values to a file for `-f`: values with structure are clearer than long --set chains. */
function valuesFile(name: string, values: unknown): string {
  const f = join(tmp, `${name}.json`);
  writeFileSync(f, JSON.stringify(values));
  return f;
}

describe('charts/outrigger', { skip }, () => {
  const h = helm as string;

  test('helm lint --strict passes, with the defaults and with every cert mode', () => {
    const ca = join(tmp, 'lint-ca.pem');
    writeFileSync(ca, generateCA({ commonName: 'lint' }).certPem);
    for (const args of [[], ['--set', 'certificates.mode=cert-manager'], ['--set', 'certificates.mode=files', '--set-file', `certificates.caBundle=${ca}`]]) {
      const r = run(h, ['lint', '--strict', chartDir, ...args]);
      assert.equal(r.status, 0, `helm lint --strict ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  test('the defaults render the objects of `outrigger manifests` with its defaults, but the Namespace (helm --create-namespace makes it)', () => {
    const bundle = manifests();
    assert.ok(bundle.some((o) => o.kind === 'Namespace'));
    assertSameObjects(template(h), withoutNamespace(bundle), 'defaults');
    assertSameObjects(template(h, ['--set', 'namespace.create=true']), bundle, 'namespace.create=true');
  });

  test('non-default values render what the matching `outrigger manifests` flags print', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const caFile = join(tmp, 'ca.pem');
    writeFileSync(caFile, generateCA({ commonName: 'outrigger-test' }).certPem);
    const cases: { what: string; namespace: string; values: string[]; flags: string[] }[] = [
      {
        what: 'namespace, image by digest, replicas, no priority class',
        namespace: 'ops',
        values: ['--set', 'image.repository=registry.example.com/outrigger', '--set', 'image.tag=1.2.3', '--set', `image.digest=${digest}`]
          .concat(['--set', 'replicas=3', '--set', 'priorityClassName='])
          .concat(['--set', 'namespace.create=true']),
        flags: ['--namespace', 'ops', '--image', `registry.example.com/outrigger:1.2.3@${digest}`, '--replicas', '3', '--priority-class', ''],
      },
      {
        what: 'cert-manager',
        namespace: 'outrigger-system',
        values: ['--set', 'certificates.mode=cert-manager', '--set', 'namespace.create=true'],
        flags: ['--cert-mode', 'cert-manager'],
      },
      {
        what: 'files',
        namespace: 'outrigger-system',
        values: ['--set', 'certificates.mode=files', '--set-file', `certificates.caBundle=${caFile}`, '--set', 'namespace.create=true'],
        flags: ['--cert-mode', 'files', '--ca-bundle', caFile],
      },
      {
        what: 'policy mode, cert mode self',
        namespace: 'outrigger-system',
        values: ['--set', 'admission=policy', '--set', 'namespace.create=true'],
        flags: ['--admission', 'policy'],
      },
      {
        what: 'policy mode, cert-manager',
        namespace: 'outrigger-system',
        values: ['--set', 'admission=policy', '--set', 'certificates.mode=cert-manager', '--set', 'namespace.create=true'],
        flags: ['--admission', 'policy', '--cert-mode', 'cert-manager'],
      },
      {
        what: 'no opt-out condition, client CA, API server ports, webhook ingress sources',
        namespace: 'outrigger-system',
        values: [
          '-f',
          valuesFile('network', {
            namespace: { create: true },
            webhook: { optOutMatchCondition: false },
            clientCaConfigMap: 'apiserver-client-ca',
            networkPolicy: { apiServerPorts: [8443], webhookIngressFrom: ['10.0.0.0/24', 'fd00::/64'] },
          }),
        ],
        flags: ['--no-opt-out-condition', '--client-ca-configmap', 'apiserver-client-ca', '--api-server-port', '8443'].concat([
          '--webhook-ingress-from',
          '10.0.0.0/24',
          '--webhook-ingress-from',
          'fd00::/64',
        ]),
      },
    ];
    for (const c of cases) assertSameObjects(template(h, c.values, c.namespace), manifests(c.flags), c.what);
  });

  test('an image digest without a tag pulls by digest alone; pull policy and pull secrets', () => {
    const digest = `sha256:${'cd'.repeat(32)}`;
    const objs = template(h, [
      '--set',
      'image.tag=',
      '--set',
      `image.digest=${digest}`,
      '--set',
      'image.pullPolicy=Always',
      '--set',
      'image.pullSecrets[0]=regcred',
    ]);
    assert.equal(container(objs).image, `ghcr.io/outrigger-dev/outrigger@${digest}`);
    assert.equal(container(objs).imagePullPolicy, 'Always');
    assert.deepEqual(podSpec(objs).imagePullSecrets, [{ name: 'regcred' }]);
  });

  test('scheduling, pod metadata, resources, log level, failure policy and timeout reach the objects', () => {
    const objs = template(h, [
      '-f',
      valuesFile('pod', {
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'control', effect: 'NoSchedule' }],
        affinity: {
          nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }] } },
        },
        topologySpreadConstraints: [{ maxSkew: 2, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule' }],
        priorityClassName: 'outrigger-critical',
        podAnnotations: { 'example.com/scrape': 'yes' },
        podLabels: { team: 'platform' },
        resources: { requests: { cpu: '250m', memory: '200Mi' }, limits: { memory: '400Mi' } },
        logLevel: 'debug',
        webhook: { failurePolicy: 'Ignore', timeoutSeconds: 10 },
      }),
    ]);
    const spec = podSpec(objs);
    assert.deepEqual(spec.nodeSelector, { 'kubernetes.io/os': 'linux' });
    assert.deepEqual(spec.tolerations, [{ key: 'dedicated', operator: 'Equal', value: 'control', effect: 'NoSchedule' }]);
    assert.ok(spec.affinity);
    assert.deepEqual(spec.topologySpreadConstraints, [{ maxSkew: 2, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule' }]);
    assert.equal(spec.priorityClassName, 'outrigger-critical');
    const tmeta = ((find(objs, 'Deployment').spec as Obj).template as { metadata: { labels: object; annotations: object } }).metadata;
    assert.deepEqual(tmeta.annotations, { 'example.com/scrape': 'yes' });
    assert.deepEqual(tmeta.labels, { team: 'platform', 'app.kubernetes.io/name': 'outrigger', 'app.kubernetes.io/component': 'webhook' });
    assert.deepEqual(container(objs).resources, { requests: { cpu: '250m', memory: '200Mi' }, limits: { memory: '400Mi' } });
    assert.ok((container(objs).args as string[]).includes('--log-level=debug'));
    const pods = (find(objs, 'MutatingWebhookConfiguration').webhooks as Record<string, unknown>[])[0] as Record<string, unknown>;
    assert.equal(pods.failurePolicy, 'Ignore');
    assert.equal(pods.timeoutSeconds, 10);
    // The workloads webhook only warns: its policy and timeout stay.
    const workloads = (find(objs, 'ValidatingWebhookConfiguration').webhooks as Record<string, unknown>[])[0] as Record<string, unknown>;
    assert.deepEqual([workloads.failurePolicy, workloads.timeoutSeconds], ['Ignore', 2]);
  });

  test("hostNetwork, extraArgs and extraEnv reach the Deployment; unset, the pod runs on its own network with the chart's flags only", () => {
    const plain = template(h, []);
    assert.equal(podSpec(plain).hostNetwork, undefined);
    assert.equal(podSpec(plain).dnsPolicy, undefined);
    const objs = template(h, [
      '-f',
      valuesFile('host', {
        hostNetwork: true,
        extraArgs: ['--host=$(HOST_IP)', '--drain-timeout=40s'],
        extraEnv: [{ name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }],
      }),
    ]);
    const spec = podSpec(objs);
    assert.equal(spec.hostNetwork, true);
    assert.equal(spec.dnsPolicy, 'ClusterFirstWithHostNet');
    const args = container(objs).args as string[];
    const chartArgs = container(plain).args as string[];
    // Appended after the chart's own, so a flag given again (the drain timeout) overrides the chart's.
    assert.deepEqual(args, [...chartArgs, '--host=$(HOST_IP)', '--drain-timeout=40s']);
    const env = (container(objs).env as { name: string }[]).map((e) => e.name);
    assert.deepEqual(env, ['NODE_OPTIONS', 'POD_NAME', 'HOST_IP'], 'POD_NAME names the Lease holder: on the host network every replica has the node name');
    for (const [args, message] of [
      [['--set', 'extraArgs[0]=serve'], /\/extraArgs\/0': 'serve' does not match pattern/],
      [['--set', 'extraEnv[0].value=x'], /\/extraEnv\/0': missing property 'name'/],
      [['--set', 'hostNetwork=yes'], /\/hostNetwork': got string, want boolean/],
    ] as [string[], RegExp][]) {
      const r = run(h, ['template', 'outrigger', chartDir, ...args]);
      assert.notEqual(r.status, 0, `${args.join(' ')} was accepted`);
      assert.match(r.stderr, message, args.join(' '));
    }
  });

  test('networkPolicy.enabled=false renders no NetworkPolicy; on, it admits the sources given to the webhook port', () => {
    assert.equal(
      template(h, ['--set', 'networkPolicy.enabled=false']).some((o) => o.kind === 'NetworkPolicy'),
      false,
    );
    const np = find(template(h, ['--set', 'networkPolicy.webhookIngressFrom[0]=192.0.2.0/24']), 'NetworkPolicy');
    assert.deepEqual((np.spec as { ingress: unknown }).ingress, [{ ports: [{ protocol: 'TCP', port: 8443 }], from: [{ ipBlock: { cidr: '192.0.2.0/24' } }] }]);
    const monitoring = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } };
    const withPrometheus = find(
      template(h, ['-f', valuesFile('np', { networkPolicy: { webhookIngressFrom: ['192.0.2.0/24'], metricsIngressFrom: [monitoring] } })]),
      'NetworkPolicy',
    );
    assert.deepEqual((withPrometheus.spec as { ingress: unknown }).ingress, [
      { ports: [{ protocol: 'TCP', port: 8443 }], from: [{ ipBlock: { cidr: '192.0.2.0/24' } }] },
      { ports: [{ protocol: 'TCP', port: 8443 }], from: [monitoring] },
    ]);
  });

  test('metrics.serviceMonitor: scrapes /metrics on the webhook port, verifying the server against the CA in the serving Secret', () => {
    assert.equal(
      template(h).some((o) => o.kind === 'ServiceMonitor'),
      false,
    );
    const monitor = (mode: string) =>
      find(
        template(h, ['--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.serviceMonitor.interval=30s', '--set', `certificates.mode=${mode}`]),
        'ServiceMonitor',
      );
    const sm = monitor('self');
    assert.equal(sm.apiVersion, 'monitoring.coreos.com/v1');
    assert.deepEqual(sm.metadata.namespace, 'outrigger-system');
    const spec = sm.spec as { selector: object; endpoints: Record<string, unknown>[] };
    assert.deepEqual(spec.selector, { matchLabels: { 'app.kubernetes.io/name': 'outrigger', 'app.kubernetes.io/component': 'webhook' } });
    assert.deepEqual(spec.endpoints, [
      {
        port: 'https',
        scheme: 'https',
        path: '/metrics',
        interval: '30s',
        tlsConfig: { serverName: 'outrigger.outrigger-system.svc', ca: { secret: { name: 'outrigger-tls', key: 'ca-bundle.crt' } } },
      },
    ]);
    // The Service's port the ServiceMonitor names exists and leads to the webhook (and /metrics) port.
    const svc = find(template(h), 'Service').spec as { ports: Record<string, unknown>[] };
    assert.deepEqual(
      svc.ports.map((p) => [p.name, p.targetPort]),
      [['https', 'https']],
    );
    const cm = (monitor('cert-manager').spec as typeof spec).endpoints[0]?.tlsConfig as { ca: { secret: { key: string } } };
    assert.equal(cm.ca.secret.key, 'ca.crt');
    // Mode files: the operator's Secret holds no CA, so the caBundle value is published in a ConfigMap.
    const caFile = join(tmp, 'metrics-ca.pem');
    writeFileSync(caFile, generateCA({ commonName: 'outrigger-metrics-test' }).certPem);
    const files = template(h, [
      '--set',
      'metrics.serviceMonitor.enabled=true',
      '--set',
      'certificates.mode=files',
      '--set-file',
      `certificates.caBundle=${caFile}`,
    ]);
    const filesTls = ((find(files, 'ServiceMonitor').spec as typeof spec).endpoints[0]?.tlsConfig ?? {}) as { ca?: unknown };
    assert.deepEqual(filesTls.ca, { configMap: { name: 'outrigger-metrics-ca', key: 'ca.crt' } });
    const caMap = files.find((o) => o.kind === 'ConfigMap' && (o.metadata as { name?: string }).name === 'outrigger-metrics-ca');
    assert.equal((caMap?.data as Record<string, string> | undefined)?.['ca.crt'], readFileSync(caFile, 'utf8'));
  });

  test('metrics.prometheusRule: groups from files/prometheus-rules.yaml; nothing when that file is absent', () => {
    const copy = chartCopy();
    try {
      rmSync(join(copy, 'files', 'prometheus-rules.yaml'), { force: true });
      const on = ['--set', 'metrics.prometheusRule.enabled=true', '--set', 'metrics.prometheusRule.labels.release=prom'];
      assert.equal(
        template(h, on, 'outrigger-system', copy).some((o) => o.kind === 'PrometheusRule'),
        false,
      );
      const groups = [
        { name: 'outrigger', rules: [{ alert: 'OutriggerDown', expr: 'up{job="outrigger"} == 0', for: '5m', labels: { severity: 'critical' } }] },
      ];
      writeFileSync(
        join(copy, 'files', 'prometheus-rules.yaml'),
        `# sample\ngroups:\n  - name: outrigger\n    rules:\n      - alert: OutriggerDown\n        expr: up{job="outrigger"} == 0\n        for: 5m\n        labels:\n          severity: critical\n`,
      );
      assert.equal(
        template(h, [], 'outrigger-system', copy).some((o) => o.kind === 'PrometheusRule'),
        false,
        'off by default',
      );
      const rule = find(template(h, on, 'outrigger-system', copy), 'PrometheusRule');
      assert.equal(rule.apiVersion, 'monitoring.coreos.com/v1');
      assert.deepEqual(rule.metadata, {
        name: 'outrigger',
        namespace: 'outrigger-system',
        labels: { 'app.kubernetes.io/name': 'outrigger', 'app.kubernetes.io/component': 'webhook', release: 'prom' },
      });
      assert.deepEqual(rule.spec, { groups });
      writeFileSync(join(copy, 'files', 'prometheus-rules.yaml'), 'rules: []\n');
      assert.throws(() => template(h, on, 'outrigger-system', copy), /files\/prometheus-rules\.yaml: needs a top-level groups list/);
    } finally {
      rmSync(dirname(copy), { recursive: true, force: true });
    }
  });

  test('bad values are rejected with a message naming the value', () => {
    const bad: [string[], RegExp][] = [
      [['--set', 'replicas=0'], /\/replicas': minimum: got 0, want 1/],
      [['--set', 'image.digest=latest'], /\/image\/digest': 'latest' does not match pattern/],
      [['--set', 'certificates.mode=vault'], /\/certificates\/mode': value must be one of 'self', 'cert-manager', 'files'/],
      [['--set', 'certificates.mode=files'], /\/certificates\/caBundle'/],
      [['--set', 'webhook.failurePolicy=Sometimes'], /\/webhook\/failurePolicy': value must be one of 'Fail', 'Ignore'/],
      [['--set', 'webhook.timeoutSeconds=31'], /\/webhook\/timeoutSeconds': maximum: got 31, want 30/],
      [['--set', 'networkPolicy.webhookIngressFrom[0]=10.0.0.1'], /\/networkPolicy\/webhookIngressFrom\/0': '10.0.0.1' does not match pattern/],
      [['--set', 'logLevel=loud'], /\/logLevel': value must be one of/],
      [['--set', 'podLabels.app\\.kubernetes\\.io/name=other'], /\/podLabels\/app\.kubernetes\.io~1name': 'not' failed/],
      [['--set', 'replica=3'], /additional properties 'replica' not allowed/],
      [
        ['--set', 'networkPolicy.metricsIngressFrom[0].namespace=monitoring'],
        /\/networkPolicy\/metricsIngressFrom\/0': additional properties 'namespace' not allowed/,
      ],
      [['--set', 'metrics.serviceMonitor.enable=true'], /at '\/metrics\/serviceMonitor': additional properties 'enable' not allowed/],
    ];
    for (const [args, message] of bad) {
      const r = run(h, ['template', 'outrigger', chartDir, ...args]);
      assert.notEqual(r.status, 0, `${args.join(' ')} was accepted`);
      assert.match(r.stderr, message, `${args.join(' ')}`);
    }
  });

  test("Chart.yaml's version and appVersion are Outrigger's version, the image tag the bundle runs", () => {
    const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { version: string; appVersion: string };
    assert.deepEqual([chart.version, chart.appVersion], [VERSION, VERSION]);
  });

  test('helm package makes an archive of the chart', () => {
    const r = run(h, ['package', chartDir, '--destination', tmp]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /outrigger-0\.1\.0\.tgz/);
    assertSameObjects(template(h, [], 'outrigger-system', join(tmp, 'outrigger-0.1.0.tgz')), withoutNamespace(manifests()), 'packaged chart');
  });
});
