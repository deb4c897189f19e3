/**
 * charts/outrigger with the real helm (built from test/tools/helm) against a real kube-apiserver:
 * `helm install` creates every object the chart renders, `helm upgrade` changes what the new values
 * say (and removes what they turn off), `helm uninstall` removes everything the release made.
 * No kubelet: the Deployment's pods are never started (test/e2e/install.e2e.test.ts runs replicas
 * of the same objects, which the chart renders, see test/helm).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chartDir, key, type Obj, run, template } from '../helm/chart.ts';
import { helmAvailability } from '../tools/helm.ts';
import { type ControlPlane, e2eAvailability, startControlPlane } from './harness.ts';
import { eventually } from './support-webhook.ts';

const availability = await e2eAvailability();
const helmAvail = availability.skip ? { helm: undefined, skip: availability.skip } : await helmAvailability();
const NS = 'outrigger-system';

/** The REST path of an object, for the kinds the chart renders. */
function pathOf(o: Obj): string {
  const [group, version] = String(o.apiVersion).includes('/') ? String(o.apiVersion).split('/') : ['', String(o.apiVersion)];
  const plural: Record<string, string> = {
    Namespace: 'namespaces',
    CustomResourceDefinition: 'customresourcedefinitions',
    ServiceAccount: 'serviceaccounts',
    ClusterRole: 'clusterroles',
    ClusterRoleBinding: 'clusterrolebindings',
    Role: 'roles',
    RoleBinding: 'rolebindings',
    Deployment: 'deployments',
    PodDisruptionBudget: 'poddisruptionbudgets',
    Service: 'services',
    NetworkPolicy: 'networkpolicies',
    MutatingWebhookConfiguration: 'mutatingwebhookconfigurations',
    ValidatingWebhookConfiguration: 'validatingwebhookconfigurations',
  };
  const resource = plural[o.kind];
  assert.ok(resource, `no REST path known for ${o.kind}`);
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const ns = o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : '';
  return `${base}${ns}/${resource}/${o.metadata.name}`;
}

describe('helm install, upgrade and uninstall of charts/outrigger', { skip: helmAvail.skip }, () => {
  const helm = helmAvail.helm as string;
  let cp: ControlPlane;
  let home: string;

  /** helm against this control plane, with its own config, cache and data dirs. */
  const h = (args: string[]) => {
    const r = run(helm, args, {
      KUBECONFIG: cp.kubeconfigPath,
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_DATA_HOME: join(home, 'data'),
    });
    assert.equal(r.status, 0, `helm ${args.join(' ')} failed (exit ${r.status}):\n${r.stdout}${r.stderr}\n${cp.logTail(20)}`);
    return r.stdout;
  };
  const get = <T = Obj>(o: Obj) => cp.request<T>('GET', pathOf(o));

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'outrigger-helm-e2e-'));
    cp = await startControlPlane();
  });
  after(async () => {
    await cp?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  // What the chart renders with the values of each step: the objects the cluster must then hold.
  const installed = () => template(helm, [], NS);
  const upgradeValues = ['--set', 'replicas=3', '--set', 'networkPolicy.enabled=false', '--set', 'logLevel=debug', '--set', 'webhook.timeoutSeconds=9'];

  test('helm install creates every object the chart renders, as rendered', async () => {
    h(['install', 'outrigger', chartDir, '--namespace', NS, '--create-namespace']);
    for (const want of installed()) {
      const r = await get(want);
      assert.equal(r.status, 200, `${key(want)}: ${r.status} ${r.text}`);
      assert.equal(r.body.metadata.name, want.metadata.name);
      const annotations = (r.body.metadata as { annotations?: Record<string, string> }).annotations ?? {};
      assert.equal(annotations['meta.helm.sh/release-name'], 'outrigger', `${key(want)} is owned by the release`);
    }
    const deployment = (await get<{ spec: { replicas: number } }>(installed().find((o) => o.kind === 'Deployment') as Obj)).body;
    assert.equal(deployment.spec.replicas, 2);
    assert.match(h(['status', 'outrigger', '--namespace', NS]), /STATUS: deployed/);
  });

  test('helm upgrade changes what the new values say and removes what they turn off', async () => {
    const before = installed();
    const networkPolicy = before.find((o) => o.kind === 'NetworkPolicy') as Obj;
    assert.equal((await get(networkPolicy)).status, 200);
    h(['upgrade', 'outrigger', chartDir, '--namespace', NS, ...upgradeValues]);
    type DeploymentBody = { spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } } };
    const d = (await get<DeploymentBody>(before.find((o) => o.kind === 'Deployment') as Obj)).body;
    assert.equal(d.spec.replicas, 3);
    assert.ok(d.spec.template.spec.containers[0]?.args.includes('--log-level=debug'), d.spec.template.spec.containers[0]?.args.join(' '));
    const hook = (await get<{ webhooks: { timeoutSeconds: number }[] }>(before.find((o) => o.kind === 'MutatingWebhookConfiguration') as Obj)).body;
    assert.equal(hook.webhooks[0]?.timeoutSeconds, 9);
    assert.equal((await get(networkPolicy)).status, 404, 'the NetworkPolicy is gone after networkPolicy.enabled=false');
    assert.match(h(['history', 'outrigger', '--namespace', NS]), /\n2\s.*deployed/);
  });

  test('helm uninstall removes every object the release made, cluster-scoped ones too', async () => {
    const made = [...installed(), ...template(helm, upgradeValues, NS)];
    h(['uninstall', 'outrigger', '--namespace', NS, '--wait']);
    for (const o of made) {
      // The CRD goes once the API server has removed its (no) objects; the rest at once.
      await eventually(`${key(o)} removed`, async () => (await get(o)).status === 404);
    }
    const releases = (await cp.request<{ items: unknown[] }>('GET', `/api/v1/namespaces/${NS}/secrets`, undefined, { query: { labelSelector: 'owner=helm' } }))
      .body;
    assert.deepEqual(releases.items, [], 'no release record is left');
  });
});
