import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isObject, type JsonObject } from '../engine/json.ts';
import { parseServeArgs } from '../server/serve-command.ts';
import { bundle, type CertMode, DEFAULTS, NEVER_INJECTED } from './manifests.ts';

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
    if ((r.resources as string[]).includes('secrets') || (r.resources as string[]).includes('mutatingwebhookconfigurations')) {
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

test('the heap is bounded well under the memory limit', () => {
  const c = container(bundle(DEFAULTS));
  const limit = ((c.resources as JsonObject).limits as JsonObject).memory;
  assert.equal(limit, '256Mi');
  assert.deepEqual(c.env, [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=128' }]);
});
