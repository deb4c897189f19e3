/**
 * A set of many small profiles against a real kube-apiserver: every object `outrigger policy`
 * prints for it must be stored (a profile that would not fit is refused by the compiler, never by
 * the API server, which would leave the set unserved).
 *
 *   E2E_KUBE=1.37 ./node_modules/.bin/node --test --test-reporter=spec test/e2e/policy-size.e2e.test.ts
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compilePolicies } from '../../src/policy/compile.ts';
import { FIRST_POLICY_MINOR } from '../../src/policy/refusals.ts';
import { profilesFromYaml, profileYaml } from '../support/profiles.ts';
import { type ControlPlane, e2eAvailability, kubernetesVersion, startControlPlane } from './harness.ts';
import { install, uninstall } from './policy-support.ts';

const MINOR = Number(kubernetesVersion().replace(/^v1\.(\d+)\..*$/, '$1'));
const tooOld = `policy mode needs Kubernetes 1.${FIRST_POLICY_MINOR}; this server is ${kubernetesVersion()}: E2E_KUBE=1.37 runs it`;
const skip = MINOR < FIRST_POLICY_MINOR ? tooOld : (await e2eAvailability()).skip;

/** 64 small profiles: a sidecar, a volume, a mount and env for every container and init container. */
const SIXTY_FOUR = Array.from({ length: 64 }, (_, i) =>
  profileYaml(`p${i}`, {
    version: '1',
    order: i,
    containers: [{ name: `side-${i}`, image: `example.com/side-${i}:1` }],
    volumes: [{ name: `v${i}`, emptyDir: {} }],
    volumeMounts: [{ name: `v${i}`, mountPath: `/p${i}` }],
    env: [{ name: `P${i}`, value: 'on' }],
    targets: ['*'],
    initContainerTargets: ['*'],
  }),
).join('\n---\n');

describe('policy mode: a set of many profiles, on a real kube-apiserver', { skip }, () => {
  let cp: ControlPlane;
  before(async () => {
    cp = await startControlPlane();
  });
  after(async () => {
    await cp?.stop();
  });

  it('every object compiled for 64 small profiles is stored by the API server', async () => {
    const out = compilePolicies(profilesFromYaml(SIXTY_FOUR), { major: 1, minor: MINOR });
    assert.ok(out.compiled.length > 0);
    await install(cp, out.objects);
    await uninstall(cp, out.objects);
  });
});
