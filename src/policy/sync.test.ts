/**
 * PolicySync against an in-memory fake of the calls it makes (server-side apply, list by label,
 * delete), so each path is driven exactly; test/e2e/policy-cluster.e2e.test.ts runs it against a
 * real API server through `outrigger serve --admission policy`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeApi } from '../../test/support/policy-api.ts';
import type { JsonObject } from '../common/json.ts';
import { SYNCED_BY_LABEL } from '../common/labels.ts';
import { profileSet } from '../engine/index.ts';
import type { KubeClient } from '../kube/client.ts';
import { parseProfiles } from '../profiles/parse.ts';
import { PolicySync, servedCondition } from './sync.ts';

const OWNER = 'outrigger-system';
const BASE = '/apis/admissionregistration.k8s.io/v1';
const KUBE = { major: 1, minor: 37 };
const doc = (name: string, spec: object) => JSON.stringify({ apiVersion: 'outrigger.dev/v1alpha1', kind: 'SidecarProfile', metadata: { name }, spec });
const setOf = (...docs: string[]) => {
  const r = parseProfiles(docs.join('\n---\n'), 'test');
  assert.deepEqual(r.errors, []);
  return profileSet(r.profiles);
};
const AGENT = doc('agent', { version: '1', containers: [{ name: 'agent', image: 'example.com/agent:1' }] });
const OTHER = doc('other', { version: '1', containers: [{ name: 'other', image: 'example.com/other:1' }] });
const TEMPLATED = doc('templated', { version: '1', containers: [{ name: 't', image: 'example.com/t:1', env: [{ name: 'A', value: '{{ pod.name }}' }] }] });

const start = (api: FakeApi, extra: { isLeader?: () => boolean; onServed?: () => void; resyncMs?: number } = {}) =>
  new PolicySync(api.client as unknown as KubeClient, { controllerNamespace: OWNER, kubeVersion: KUBE, ...extra });

describe('PolicySync', () => {
  test("applies a compiled profile's objects and the set's, labelled as its own, and says the profile is served by them", async () => {
    const api = new FakeApi();
    let served = 0;
    const sync = start(api, { onServed: () => served++ });
    const set = setOf(AGENT);
    sync.update(set);
    await sync.idle();
    assert.deepEqual(api.kinds(), [
      'MutatingAdmissionPolicy/outrigger-agent',
      'MutatingAdmissionPolicyBinding/outrigger-agent',
      'ValidatingAdmissionPolicy/outrigger-agent-deny',
      'ValidatingAdmissionPolicy/outrigger-unknown-profiles',
      'ValidatingAdmissionPolicyBinding/outrigger-agent-deny',
      'ValidatingAdmissionPolicyBinding/outrigger-unknown-profiles',
    ]);
    for (const o of api.objects.values()) assert.equal(((o.metadata as JsonObject).labels as JsonObject)[SYNCED_BY_LABEL], OWNER);
    // Policies before their bindings.
    assert.deepEqual(
      api.calls.filter((c) => c.startsWith('PATCH')).map((c) => c.split('/')[4]),
      // The profile's objects as a unit, then the set's.
      [
        'mutatingadmissionpolicies',
        'validatingadmissionpolicies',
        'mutatingadmissionpolicybindings',
        'validatingadmissionpolicybindings',
        'validatingadmissionpolicies',
        'validatingadmissionpolicybindings',
      ],
    );
    assert.equal(served, 1);
    const agent = set.byName.get('agent');
    assert.ok(agent);
    assert.deepEqual(sync.served(agent), { policy: 'outrigger-agent' });
    assert.deepEqual(servedCondition({ key: `${OWNER}/agent`, generation: 1, active: agent }, sync), {
      status: 'True',
      reason: 'Policy',
      message: 'Injected by the API server: MutatingAdmissionPolicy outrigger-agent.',
    });
  });

  test('the same set again costs no request; an equal object is not written again', async () => {
    const api = new FakeApi();
    const sync = start(api);
    const set = setOf(AGENT);
    sync.update(set);
    await sync.idle();
    const before = api.calls.length;
    sync.update(set);
    await sync.idle();
    assert.equal(api.calls.length, before);
    // A new set with the same profile: listed again, nothing re-applied.
    sync.update(setOf(AGENT));
    await sync.idle();
    assert.deepEqual(
      api.calls.slice(before).filter((c) => !c.startsWith('GET')),
      [],
    );
  });

  test('a profile gone takes its objects away, and only objects carrying its label', async () => {
    const api = new FakeApi();
    const sync = start(api);
    sync.update(setOf(AGENT));
    await sync.idle();
    const foreign = '/apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies/someone-elses';
    api.objects.set(foreign, { kind: 'MutatingAdmissionPolicy', metadata: { name: 'someone-elses', labels: { [SYNCED_BY_LABEL]: 'another-install' } } });
    sync.update(setOf());
    await sync.idle();
    assert.deepEqual(api.kinds(), ['MutatingAdmissionPolicy/someone-elses']);
  });

  test('a profile gone loses its validating bindings before its mutating one: the validating policy never runs without the mutation', async () => {
    const api = new FakeApi();
    const sync = start(api);
    sync.update(setOf(AGENT));
    await sync.idle();
    const before = api.calls.length;
    sync.update(setOf());
    await sync.idle();
    const deletes = api.calls
      .slice(before)
      .filter((c) => c.startsWith('DELETE'))
      .map((c) => c.split('/')[4]);
    assert.equal(deletes.length, 6);
    assert.ok(deletes.lastIndexOf('validatingadmissionpolicybindings') < deletes.indexOf('mutatingadmissionpolicybindings'), deletes.join('\n'));
    assert.ok(deletes.indexOf('mutatingadmissionpolicybindings') < deletes.indexOf('mutatingadmissionpolicies'), deletes.join('\n'));
    await sync.stop();
  });

  test('a refused profile is reported with its field, and nothing of it is applied', async () => {
    const api = new FakeApi();
    const sync = start(api);
    const set = setOf(TEMPLATED);
    sync.update(set);
    await sync.idle();
    assert.deepEqual(api.kinds(), []);
    const p = set.byName.get('templated');
    assert.ok(p);
    const c = servedCondition({ key: `${OWNER}/templated`, generation: 1, active: p }, sync);
    assert.equal(c?.status, 'False');
    assert.equal(c?.reason, 'PolicyRefused');
    assert.match(
      c?.message ?? '',
      /^Not injected: it cannot be compiled to an admission policy: spec\.containers\[0\]\.env\[0\]\.value: .*\{\{ pod\.name \}\}/,
    );
  });

  test('a profile not yet reconciled has no condition', () => {
    const sync = start(new FakeApi());
    const cluster = setOf(AGENT).byName.get('agent');
    assert.ok(cluster);
    assert.equal(servedCondition({ key: `${OWNER}/agent`, generation: 1, active: cluster }, sync), undefined);
    assert.equal(servedCondition({ key: `${OWNER}/agent`, generation: 1 }, sync), undefined);
  });

  test('a failed reconcile is retried; a replica that does not hold the Lease writes nothing until it does', async () => {
    const api = new FakeApi();
    api.failNext = 1;
    const sync = start(api);
    sync.update(setOf(AGENT));
    await sync.idle();
    assert.deepEqual(api.kinds(), []);
    await new Promise((r) => setTimeout(r, 1_200));
    await sync.idle();
    assert.equal(api.kinds().length, 6);
    await sync.stop();

    const follower = new FakeApi();
    let leader = false;
    const f = start(follower, { isLeader: () => leader });
    f.update(setOf(AGENT));
    await f.idle();
    assert.deepEqual(follower.calls, []);
    leader = true;
    f.resync();
    await f.idle();
    assert.equal(follower.kinds().length, 6);
    await f.stop();
  });

  /** The agent's objects applied, then its mutating binding deleted by hand. */
  async function servedThenBindingDeleted(opts?: Parameters<typeof start>[1]) {
    const api = new FakeApi();
    const sync = start(api, opts);
    const set = setOf(AGENT);
    sync.update(set);
    await sync.idle();
    const binding = `${BASE}/mutatingadmissionpolicybindings/outrigger-agent`;
    api.objects.delete(binding);
    return { api, sync, set, binding };
  }

  test('an object deleted or edited by hand is put back by the next pass, with the same set', async () => {
    const { api, sync, set, binding } = await servedThenBindingDeleted();
    const policy = `${BASE}/mutatingadmissionpolicies/outrigger-agent`;
    const applied = api.objects.get(policy);
    api.objects.set(policy, { ...applied, spec: {}, metadata: { ...(applied?.metadata as JsonObject), resourceVersion: 'edited' } });
    sync.update(set);
    await sync.idle();
    assert.equal(api.objects.has(binding), false, 'the same set again costs no request');
    sync.resync();
    await sync.idle();
    assert.ok(api.objects.has(binding));
    assert.deepEqual(api.objects.get(policy)?.spec, applied?.spec);
    await sync.stop();
  });

  test('the periodic pass runs by itself', async () => {
    const { api, sync, binding } = await servedThenBindingDeleted({ resyncMs: 50 });
    await new Promise((r) => setTimeout(r, 300));
    await sync.idle();
    assert.ok(api.objects.has(binding));
    await sync.stop();
  });

  test('a resync asked for during a pass is not lost', async () => {
    const { api, sync, binding } = await servedThenBindingDeleted();
    sync.resync();
    // Asked again while that pass runs (it is waiting on its first list).
    sync.resync();
    await sync.idle();
    assert.ok(api.objects.has(binding));
    await sync.stop();
  });

  test('a resync asked for in the same turn as an update that found nothing to do is not lost', async () => {
    const { api, sync, set, binding } = await servedThenBindingDeleted();
    sync.update(set);
    sync.resync();
    await sync.idle();
    assert.ok(api.objects.has(binding));
    await sync.stop();
  });

  test('a profile whose objects the API server refuses is taken away whole and says so; the rest is served', async () => {
    const api = new FakeApi();
    const sync = start(api);
    sync.update(setOf(AGENT));
    await sync.idle();
    assert.equal(api.kinds().length, 6);
    // Version 2's deny policy is refused: its new mutating policy must not stay with the old deny one.
    api.refuse.set(`${BASE}/validatingadmissionpolicies/outrigger-agent-deny`, 422);
    const v2 = setOf(AGENT.replace('"version":"1"', '"version":"2"'));
    sync.update(v2);
    await sync.idle();
    assert.deepEqual(api.kinds(), ['ValidatingAdmissionPolicy/outrigger-unknown-profiles', 'ValidatingAdmissionPolicyBinding/outrigger-unknown-profiles']);
    const agent = v2.byName.get('agent');
    assert.ok(agent);
    assert.deepEqual(servedCondition({ key: `${OWNER}/agent`, generation: 2, active: agent }, sync), {
      status: 'False',
      reason: 'PolicyNotApplied',
      message:
        'Not injected: the API server refused its admission policies: PATCH /apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/outrigger-agent-deny: 422 Invalid: spec.variables[3].expression: compilation failed',
    });
    await sync.stop();
  });

  test("several profiles are one unit, the set's: each is served by its policy, and when it is refused none is", async () => {
    const api = new FakeApi();
    const sync = start(api);
    const set = setOf(AGENT, OTHER);
    sync.update(set);
    await sync.idle();
    assert.deepEqual(api.kinds(), [
      'MutatingAdmissionPolicy/outrigger.profiles',
      'MutatingAdmissionPolicyBinding/outrigger.profiles',
      'ValidatingAdmissionPolicy/outrigger-unknown-profiles',
      'ValidatingAdmissionPolicy/outrigger.profiles-deny',
      'ValidatingAdmissionPolicyBinding/outrigger-unknown-profiles',
      'ValidatingAdmissionPolicyBinding/outrigger.profiles-deny',
    ]);
    for (const name of ['agent', 'other']) assert.deepEqual(sync.served(set.byName.get(name) as never), { policy: 'outrigger.profiles' });
    api.refuse.set(`${BASE}/mutatingadmissionpolicies/outrigger.profiles`, 422);
    const changed = setOf(AGENT, doc('other', { version: '2', containers: [{ name: 'other', image: 'example.com/other:2' }] }));
    sync.update(changed);
    await sync.idle();
    assert.deepEqual(api.kinds(), []);
    for (const name of ['agent', 'other']) {
      const c = servedCondition({ key: `${OWNER}/${name}`, generation: 1, active: changed.byName.get(name) as never }, sync);
      assert.equal(c?.reason, 'PolicyNotApplied', name);
      assert.match(c?.message ?? '', /mutatingadmissionpolicies\/outrigger\.profiles: 422/);
    }
  });

  test('a cluster-wide unit whose write fails for a moment (503) keeps the objects already served until the retry', async () => {
    const api = new FakeApi();
    const sync = start(api);
    sync.update(setOf(AGENT));
    await sync.idle();
    assert.equal(api.kinds().length, 6);
    // Version 2's mutating policy meets a passing 503: the version 1 objects must keep injecting meanwhile.
    const policy = `${BASE}/mutatingadmissionpolicies/outrigger-agent`;
    api.refuse.set(policy, 503);
    sync.update(setOf(AGENT.replace('"version":"1"', '"version":"2"')));
    await sync.idle();
    assert.ok(api.objects.has(policy), 'the mutating policy is still there');
    assert.ok(api.objects.has(`${BASE}/mutatingadmissionpolicybindings/outrigger-agent`), 'its binding is still there');
    assert.equal(api.kinds().length, 6);
    api.refuse.delete(policy);
    await new Promise((r) => setTimeout(r, 1_200));
    await sync.idle();
    const meta = api.objects.get(policy)?.metadata as JsonObject;
    assert.equal((meta.annotations as JsonObject)['outrigger.dev/profile-version'], '2');
    await sync.stop();
  });

  test('a replica that loses the Lease during a pass writes nothing more', async () => {
    const api = new FakeApi();
    let leader = true;
    const sync = start(api, { isLeader: () => leader });
    const request = api.client.request;
    let patches = 0;
    api.client.request = async (method, path, opts) => {
      if (method === 'PATCH' && ++patches === 2) leader = false;
      return request(method, path, opts);
    };
    sync.update(setOf(AGENT));
    await sync.idle();
    assert.equal(patches, 2);
    assert.equal(api.kinds().length, 2);
    await sync.stop();
  });
});
