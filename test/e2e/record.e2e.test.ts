/**
 * The status record check against what a real kube-apiserver stores: an injected pod, created and
 * read back (defaulted, with the ServiceAccount token mount), still holds its record, for every
 * field the API server defaults in a sidecar, an init container, volumes and targeted containers;
 * the same pod with a look-alike sidecar does not.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JsonObject } from '../../src/common/json.ts';
import { inject } from '../../src/engine/inject.ts';
import { tenancy } from '../../src/profiles/tenancy.ts';
import { driftReport } from '../../src/report/drift.ts';
import { profilesFromYaml, profileYaml } from '../support/profiles.ts';
import { type ControlPlane, e2eAvailability, startControlPlane } from './harness.ts';

const availability = await e2eAvailability();
const NS = 'e2e-record';

const httpGet = { port: 9901 };
const set = profilesFromYaml(
  profileYaml('guard', {
    version: '1',
    mandatory: true,
    selector: { podSelector: {} },
    containers: [
      {
        name: 'guard',
        image: 'example.com/guard', // no tag: imagePullPolicy defaults to Always
        args: ["--app={{ pod.labels['app'] ?? 'none' }}"],
        ports: [{ name: 'admin', containerPort: 9901 }],
        readinessProbe: { httpGet },
        livenessProbe: { tcpSocket: { port: 9901 } },
        startupProbe: { grpc: { port: 9902 } },
        lifecycle: { preStop: { httpGet } },
        resources: { limits: { cpu: '0.5', memory: '64Mi' } },
        env: [
          { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } },
        ],
        volumeMounts: [{ name: 'guard-config', mountPath: '/etc/guard' }],
      },
    ],
    initContainers: [{ name: 'guard-init', image: 'example.com/guard:1.0', args: ['init'], resources: { requests: { memory: '1000Ki' } } }],
    volumes: [
      { name: 'guard-config', configMap: { name: 'guard' } },
      { name: 'guard-secret', secret: { secretName: 'guard' } },
      { name: 'guard-info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
      {
        name: 'guard-token',
        projected: {
          sources: [
            { serviceAccountToken: { path: 'token', audience: 'guard' } },
            { downwardAPI: { items: [{ path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
          ],
        },
      },
      { name: 'guard-host', hostPath: { path: '/var/run/guard' } },
      { name: 'guard-cache', emptyDir: { sizeLimit: '0.5Gi' } },
    ],
    volumeMounts: [{ name: 'guard-secret', mountPath: '/var/run/guard-secret', readOnly: true }],
    env: [
      { name: 'HTTPS_PROXY', value: 'http://127.0.0.1:3128' },
      { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    ],
    envFrom: [{ configMapRef: { name: 'guard-env' } }],
    imagePullSecrets: [{ name: 'guard-registry' }],
    metadata: { labels: { 'guard.example.com/enforced': 'true' } },
  }),
);
const ctx = { namespace: NS, kubeVersion: { major: 1, minor: 35 } };

const appPod = (name: string, hostNetwork = false): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'shop' } },
  spec: { ...(hostNetwork ? { hostNetwork: true } : {}), containers: [{ name: 'app', image: 'app:1.0', ports: [{ containerPort: 8080 }] }] },
});

describe('status records on pods a real kube-apiserver stored', { skip: availability.skip }, () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await startControlPlane({ serviceAccountAdmission: true });
    await cp.createNamespace(NS);
  });
  after(async () => {
    await cp?.stop();
  });

  /** Injects offline, creates the result, and reads the pod back as the API server stores it. */
  const stored = async (pod: JsonObject): Promise<JsonObject> => {
    const d = inject(pod, set, ctx);
    assert.equal(d.outcome, 'injected', d.message);
    const r = await cp.request<JsonObject>('POST', `/api/v1/namespaces/${NS}/pods`, d.pod);
    assert.equal(r.status, 201, r.text);
    return r.body;
  };

  it('an injected pod, as stored (defaults, token mount, canonical quantities), still holds its record', async () => {
    for (const [name, hostNetwork] of [
      ['plain', false],
      ['host-network', true],
    ] as const) {
      const pod = await stored(appPod(name, hostNetwork));
      const guard = ((pod.spec as JsonObject).initContainers as JsonObject[]).find((c) => c.name === 'guard') as JsonObject;
      assert.equal(guard.imagePullPolicy, 'Always', 'the API server did default the sidecar');
      assert.ok(Array.isArray(guard.volumeMounts) && guard.volumeMounts.length === 2, 'and mounted the token');
      const again = inject(pod, set, ctx);
      assert.deepEqual([again.outcome, again.reason], ['unchanged', 'already-injected'], again.warnings.join('\n'));
      const rows = driftReport(
        { pods: [pod], namespaceLabels: () => ({}), tenancy: tenancy(set.profiles, 'outrigger-system'), kubeVersion: ctx.kubeVersion },
        true,
      );
      assert.deepEqual(
        rows.map((r) => [r.state, r.detail]),
        [['current', '']],
      );
    }
  });

  it('the same pod with a look-alike sidecar (privileged) is stored by the API server, and does not hold the record', async () => {
    const pod = structuredClone(await stored(appPod('lookalike'))) as JsonObject;
    const guard = ((pod.spec as JsonObject).initContainers as JsonObject[]).find((c) => c.name === 'guard') as JsonObject;
    guard.securityContext = { privileged: true };
    const meta = pod.metadata as JsonObject;
    const copy: JsonObject = { ...pod, metadata: { name: 'lookalike-copy', labels: meta.labels ?? {}, annotations: meta.annotations ?? {} } };
    delete copy.status;
    const r = await cp.request<JsonObject>('POST', `/api/v1/namespaces/${NS}/pods`, copy);
    assert.equal(r.status, 201, r.text);
    const d = inject(r.body, set, ctx);
    assert.deepEqual([d.outcome, d.reason], ['denied', 'name-conflict']);
    assert.match(d.warnings.join('\n'), /init container "guard": \.securityContext is set, and the profile does not set it/);
  });
});

describe('status records on pods LimitRanger and AlwaysPullImages changed', { skip: availability.skip }, () => {
  const ns = 'e2e-record-limits';
  let cp: ControlPlane;
  before(async () => {
    cp = await startControlPlane({ serviceAccountAdmission: true, apiserverFlags: ['--enable-admission-plugins=LimitRanger,AlwaysPullImages'] });
    await cp.createNamespace(ns);
    const range = {
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: { name: 'defaults' },
      spec: { limits: [{ type: 'Container', default: { cpu: '500m', memory: '256Mi' }, defaultRequest: { cpu: '100m', memory: '128Mi' } }] },
    };
    const r = await cp.request('POST', `/api/v1/namespaces/${ns}/limitranges`, range);
    assert.equal(r.status, 201, r.text);
  });
  after(async () => {
    await cp?.stop();
  });

  // The in-tree plugins run again on reinvocation, after Outrigger's patch, as they do on create.
  it('a sidecar with resources from the namespace LimitRange and imagePullPolicy Always still holds its record', async () => {
    const here = { ...ctx, namespace: ns };
    const d = inject(appPod('limited'), set, here);
    assert.equal(d.outcome, 'injected', d.message);
    const r = await cp.request<JsonObject>('POST', `/api/v1/namespaces/${ns}/pods`, d.pod);
    assert.equal(r.status, 201, r.text);
    const init = ((r.body.spec as JsonObject).initContainers as JsonObject[]).find((c) => c.name === 'guard-init') as JsonObject;
    assert.deepEqual(
      init.resources,
      { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '1000Ki' } },
      'LimitRanger did add to the sidecar',
    );
    assert.equal(init.imagePullPolicy, 'Always', 'AlwaysPullImages did set Always');
    const again = inject(r.body, set, here);
    assert.deepEqual([again.outcome, again.reason], ['unchanged', 'already-injected'], again.warnings.join('\n'));
  });
});
