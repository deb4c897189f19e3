import assert from 'node:assert/strict';
import { test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import { deepFreeze, type JsonObject } from '../common/json.ts';
import { inject } from '../engine/inject.ts';
import { tenancy } from '../profiles/tenancy.ts';
import { driftReport } from './drift.ts';

const guard = profilesFromYaml(
  profileYaml('guard', {
    version: '1',
    mandatory: true,
    selector: { podSelector: {} },
    containers: [{ name: 'guard', image: 'example.com/guard:1' }],
    env: [{ name: 'HTTPS_PROXY', value: 'http://127.0.0.1:3128' }],
  }),
);
const kubeVersion = { major: 1, minor: 33 };
const report = (pods: JsonObject[]) =>
  driftReport(
    { pods, namespaceLabels: () => ({ 'outrigger.dev/injection': 'enabled' }), tenancy: tenancy(guard.profiles, 'outrigger-system'), kubeVersion },
    true,
  );

const running = (): JsonObject => {
  const p = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop' }, spec: { containers: [{ name: 'app', image: 'app:1' }] } };
  const injected = structuredClone(inject(p, guard, { namespace: 'shop', kubeVersion }).pod);
  // As the API server stores it: defaults on the sidecar.
  const sidecar = (injected.spec as JsonObject).initContainers as JsonObject[];
  Object.assign(sidecar[0] as JsonObject, {
    imagePullPolicy: 'IfNotPresent',
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    resources: {},
  });
  return injected;
};
const edited = (change: (spec: JsonObject) => void): JsonObject => {
  const p = running();
  change(p.spec as JsonObject);
  return deepFreeze(p) as JsonObject;
};

test('a pod that holds its record is current', () => {
  assert.deepEqual(
    report([running()]).map((r) => [r.pod, r.state]),
    [['web', 'current']],
  );
});

test('a record the pod does not hold (a look-alike sidecar, an app container without the env) is reported as not injected', () => {
  const lookalike = edited((spec) => Object.assign((spec.initContainers as JsonObject[])[0] as JsonObject, { securityContext: { privileged: true } }));
  const noEnv = edited((spec) => delete ((spec.containers as JsonObject[])[0] as JsonObject).env);
  const rows = report([lookalike, noEnv]);
  assert.deepEqual(
    rows.map((r) => r.state),
    ['not-injected', 'not-injected'],
  );
  assert.match(rows[0]?.detail ?? '', /profile "guard" at version 1: init container "guard": \.securityContext is set, and the profile does not set it/);
  assert.match(rows[0]?.detail ?? '', /although its outrigger\.dev\/status records it; recreate the pod/);
  assert.match(rows[1]?.detail ?? '', /container "app" env "HTTPS_PROXY" is missing/);
});

test('a container added after injection without the profile’s env is reported too', () => {
  const late = edited((spec) => (spec.containers as JsonObject[]).push({ name: 'late', image: 'late:1' }));
  const [row] = report([late]);
  assert.equal(row?.state, 'not-injected');
  assert.match(row?.detail ?? '', /container "late" env "HTTPS_PROXY" is missing/);
});
