/**
 * A reinvoked pod whose sidecar the API server has defaulted still holds its record — only when
 * each defaulted field has the value the API server would have given it. Through inject().
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import type { JsonObject } from '../common/json.ts';
import { inject } from './inject.ts';

const ctx = { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } };
const DIGEST = `sha256:${'a'.repeat(64)}`;

/** Injects, lets `defaults` change the sidecar as the API server would, and asks again. */
function again(sidecar: JsonObject, defaults: (c: JsonObject) => void, spec: JsonObject = {}): string {
  const set = profilesFromYaml(profileYaml('agent', { version: '1', sidecarMode: 'classic', containers: [sidecar] }));
  const pod: JsonObject = {
    metadata: { name: 'p', annotations: { 'outrigger.dev/inject': 'agent' } },
    spec: { containers: [{ name: 'app', image: 'app:1' }], ...spec },
  };
  const first = inject(pod, set, ctx);
  assert.equal(first.outcome, 'injected', first.message);
  const stored = structuredClone(first.pod);
  const containers = (stored.spec as JsonObject).containers as JsonObject[];
  defaults(containers.find((c) => c.name === 'agent') as JsonObject);
  return inject(stored, set, ctx).reason;
}
const holds = (sidecar: JsonObject, defaults: (c: JsonObject) => void, spec?: JsonObject) => assert.equal(again(sidecar, defaults, spec), 'already-injected');
const fails = (sidecar: JsonObject, defaults: (c: JsonObject) => void, spec?: JsonObject) =>
  assert.notEqual(again(sidecar, defaults, spec), 'already-injected');

describe('imagePullPolicy, defaulted from the image reference', () => {
  const cases: [string, string][] = [
    ['example.com/agent', 'Always'],
    ['example.com/agent:latest', 'Always'],
    ['registry.example.com:5000/agent', 'Always'],
    ['example.com/agent:1.2', 'IfNotPresent'],
    ['registry.example.com:5000/agent:1.2', 'IfNotPresent'],
    [`example.com/agent@${DIGEST}`, 'IfNotPresent'],
    [`example.com/agent:latest@${DIGEST}`, 'Always'],
  ];
  for (const [image, policy] of cases) {
    // Always also holds everywhere: the AlwaysPullImages admission plugin may have set it.
    test(`${image}: ${policy} holds, ${policy === 'Always' ? 'IfNotPresent' : 'Never'} does not`, () => {
      holds({ name: 'agent', image }, (c) => {
        c.imagePullPolicy = policy;
      });
      fails({ name: 'agent', image }, (c) => {
        c.imagePullPolicy = policy === 'Always' ? 'IfNotPresent' : 'Never';
      });
    });
  }
});

describe('resources LimitRanger fills in', () => {
  test('a sidecar without resources may get any quantities, but only requests and limits of quantities', () => {
    const sidecar = { name: 'agent', image: 'example.com/agent:1' };
    holds(sidecar, (c) => {
      c.resources = { limits: { cpu: '1' }, requests: { cpu: '500m', memory: '64Mi' } };
    });
    fails(sidecar, (c) => {
      c.resources = { limits: { cpu: 'lots' } };
    });
    fails(sidecar, (c) => {
      c.resources = { claims: [{ name: 'gpu' }] };
    });
  });

  test('a request the profile leaves out equals the profile’s limit where it sets one, else any quantity', () => {
    const sidecar = { name: 'agent', image: 'example.com/agent:1', resources: { limits: { cpu: '1' } } };
    holds(sidecar, (c) => {
      c.resources = { limits: { cpu: '1' }, requests: { cpu: '1' } };
    });
    fails(sidecar, (c) => {
      c.resources = { limits: { cpu: '1' }, requests: { cpu: '2' } };
    });
    holds(sidecar, (c) => {
      c.resources = { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '512Mi' } };
    });
    fails(sidecar, (c) => {
      c.resources = { limits: { cpu: '2' }, requests: { cpu: '2' } };
    });
  });
});

describe('hostPort, defaulted to the containerPort on a host-network pod', () => {
  const sidecar = { name: 'agent', image: 'example.com/agent:1', ports: [{ containerPort: 9000 }] };
  const withDefaults = (hostPort: number) => (c: JsonObject) => {
    c.ports = [{ containerPort: 9000, protocol: 'TCP', hostPort }];
  };
  test('with hostNetwork the hostPort equal to the containerPort holds; another does not', () => {
    holds(sidecar, withDefaults(9000), { hostNetwork: true });
    fails(sidecar, withDefaults(9001), { hostNetwork: true });
  });
  test('without hostNetwork a hostPort is not a default', () => {
    fails(sidecar, withDefaults(9000));
    holds(sidecar, (c) => {
      c.ports = [{ containerPort: 9000, protocol: 'TCP' }];
    });
  });
});
