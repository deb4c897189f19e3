/** A pod that requests a profile that does not exist: admitted without it by default, denied where the server or the namespace says so. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import type { JsonObject } from '../common/json.ts';
import { UNKNOWN_PROFILES_LABEL } from '../common/labels.ts';
import { type InjectContext, inject } from './inject.ts';

const set = profilesFromYaml(profileYaml('agent', { version: '1', containers: [{ name: 'agent', image: 'a' }] }));
const pod = (request: string): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', annotations: { 'outrigger.dev/inject': request } },
  spec: { containers: [{ name: 'app', image: 'app' }] },
});
const ctx = (extra: Partial<InjectContext> = {}): InjectContext => ({ namespace: 'shop', kubeVersion: { major: 1, minor: 33 }, ...extra });
const MISSING = 'outrigger.dev/inject requests profile "nope", which does not exist';

test('by default the pod is injected with what exists and a warning names the missing profile', () => {
  for (const c of [ctx(), ctx({ unknownProfiles: 'admit' })]) {
    const d = inject(pod('agent, nope'), set, c);
    assert.equal(d.outcome, 'injected');
    assert.deepEqual(d.warnings, [MISSING]);
    assert.deepEqual(
      d.profiles.map((o) => [o.profile, o.reason]),
      [
        ['nope', 'unknown-profile'],
        ['agent', 'injected'],
      ],
    );
  }
});

test('--unknown-profiles deny refuses the pod, naming the profile and why', () => {
  const d = inject(pod('agent, nope'), set, ctx({ unknownProfiles: 'deny' }));
  assert.deepEqual(
    { outcome: d.outcome, reason: d.reason, message: d.message, patch: d.patch },
    {
      outcome: 'denied',
      reason: 'unknown-profile',
      message: `${MISSING}; pods that request an unknown profile are denied by --unknown-profiles deny`,
      patch: [],
    },
  );
  // The denial says it; no warning repeats it. A second unknown profile is still warned about.
  assert.deepEqual(d.warnings, []);
  assert.deepEqual(inject(pod('nope, other'), set, ctx({ unknownProfiles: 'deny' })).warnings, [
    'outrigger.dev/inject requests profile "other", which does not exist',
  ]);
  // A pod that asks for nothing unknown is not affected.
  assert.equal(inject(pod('agent'), set, ctx({ unknownProfiles: 'deny' })).outcome, 'injected');
});

test("the namespace's label overrides the server's setting both ways; another value is warned about and ignored", () => {
  const labelled = (value: string, unknownProfiles: 'admit' | 'deny') =>
    inject(pod('nope'), set, ctx({ unknownProfiles, namespaceLabels: { [UNKNOWN_PROFILES_LABEL]: value } }));
  const denied = labelled('deny', 'admit');
  assert.equal(denied.outcome, 'denied');
  assert.equal(denied.message, `${MISSING}; pods that request an unknown profile are denied by the namespace's label ${UNKNOWN_PROFILES_LABEL}=deny`);
  assert.equal(labelled('admit', 'deny').outcome, 'unchanged');
  const odd = labelled('Deny', 'admit');
  assert.equal(odd.outcome, 'unchanged');
  assert.deepEqual(odd.warnings, [MISSING, `namespace label ${UNKNOWN_PROFILES_LABEL}: "Deny" is neither deny nor admit; the server's setting applies`]);
  assert.equal(labelled('yes', 'deny').outcome, 'denied');
});
