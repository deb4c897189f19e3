/**
 * difference() on its own: the message for each way what a pod holds differs from what a profile
 * renders, and each server default at its edge (the record check reports these messages).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { serviceAccountTokenVolume, TOKEN_PATH } from '../../test/support/service-account.ts';
import type { JsonObject, JsonValue } from '../common/json.ts';
import { CONTAINER, difference, EXACT, VOLUME } from './server-defaults.ts';

const pod: JsonObject = { metadata: { name: 'p' }, spec: { containers: [] } };

describe('difference: what a message says', () => {
  test('the same value has no difference; a missing or other value is named by its path, "the item" at the top', () => {
    assert.equal(difference({ a: [1, { b: 'x' }] }, { a: [1, { b: 'x' }] }, EXACT, pod), undefined);
    assert.equal(difference(undefined, 'x', EXACT, pod), 'the item is missing');
    assert.equal(difference('y', 'x', EXACT, pod), 'the item is not what the profile sets');
    assert.equal(difference({}, { a: 'x' }, EXACT, pod), '.a is missing');
    assert.equal(difference({ a: 'y' }, { a: 'x' }, EXACT, pod), '.a is not what the profile sets');
    assert.equal(difference({ a: 'x', b: 1 }, { a: 'x' }, EXACT, pod), '.b is set, and the profile does not set it');
  });

  test('a list where the profile sets one: not a list, another length, or an item that differs, by its index', () => {
    assert.equal(difference({ l: { 0: 'x' } }, { l: ['x'] }, EXACT, pod), '.l is not a list');
    assert.equal(difference({ l: ['x', 'y'] }, { l: ['x'] }, EXACT, pod), '.l has 2 items, the profile sets 1');
    assert.equal(difference({ l: [] }, { l: ['x'] }, EXACT, pod), '.l has 0 items, the profile sets 1');
    assert.equal(difference({ l: ['x', { n: 2 }] }, { l: ['x', { n: 1 }] }, EXACT, pod), '.l[1].n is not what the profile sets');
    assert.equal(difference(['x'], ['y'], EXACT, pod), '[0] is not what the profile sets');
  });

  test('an object where the profile sets one: anything else is not an object', () => {
    assert.equal(difference({ o: 'x' }, { o: { a: 'x' } }, EXACT, pod), '.o is not an object');
    assert.equal(difference({ o: ['x'] }, { o: { a: 'x' } }, EXACT, pod), '.o is not an object');
    assert.equal(difference(null, {}, EXACT, pod), 'the item is not an object');
  });

  test('keys other than plain field names are quoted, and cut after 40 characters', () => {
    const unset = (k: string) => difference({ [k]: 1 }, {}, EXACT, pod);
    assert.equal(unset('plain_Name-1'), '.plain_Name-1 is set, and the profile does not set it');
    assert.equal(unset('a.b'), '."a.b" is set, and the profile does not set it');
    assert.equal(unset('a/'), '."a/" is set, and the profile does not set it');
    assert.equal(unset('/a'), '."/a" is set, and the profile does not set it');
    assert.equal(unset('k'.repeat(63)), `.${'k'.repeat(63)} is set, and the profile does not set it`);
    assert.equal(unset('k'.repeat(64)), `."${'k'.repeat(40)}…" is set, and the profile does not set it`);
    assert.equal(unset(`${'k'.repeat(39)}.`), `."${'k'.repeat(39)}." is set, and the profile does not set it`);
    assert.equal(unset(`${'k'.repeat(40)}.`), `."${'k'.repeat(40)}…" is set, and the profile does not set it`);
  });
});

describe('difference: quantities', () => {
  const SIZE = VOLUME.fields?.emptyDir ?? {};
  const size = (actual: JsonValue, expected: JsonValue) => difference({ sizeLimit: actual }, { sizeLimit: expected }, SIZE, pod);

  test('a quantity is compared by value, written as a string or as a number', () => {
    assert.equal(size('1024', '1Ki'), undefined);
    assert.equal(size(1024, '1Ki'), undefined);
    assert.equal(size('1Ki', 1024), undefined);
    assert.equal(size(0.5, '500m'), undefined);
    assert.equal(size('1025', '1Ki'), '.sizeLimit is not the quantity the profile sets');
  });

  test('a value that does not parse is never the quantity, not even when the profile writes the same', () => {
    assert.equal(size('lots', '1Ki'), '.sizeLimit is not the quantity the profile sets');
    assert.equal(size('lots', 'lots'), '.sizeLimit is not the quantity the profile sets');
  });

  test('a list or an object is not a quantity', () => {
    assert.equal(size(['1Ki'], '1Ki'), '.sizeLimit is not what the profile sets');
    assert.equal(size({ v: '1Ki' }, '1Ki'), '.sizeLimit is not what the profile sets');
  });
});

describe('difference: the service-account token mount', () => {
  const NAME = 'kube-api-access-x7k2q';
  const tokenVolume = (name = NAME): JsonObject => serviceAccountTokenVolume(name);
  const tokenMount = (o: JsonObject = {}): JsonObject => ({ name: NAME, readOnly: true, mountPath: TOKEN_PATH, ...o });
  const own = { name: 'data', mountPath: '/data' };
  const withVolumes = (...volumes: JsonObject[]): JsonObject => ({ spec: { containers: [], volumes } });
  const sidecar = { name: 'agent', image: 'example.com/agent:1', volumeMounts: [own] };
  const mounts = (actual: JsonValue[], p: JsonObject = withVolumes(tokenVolume())) => difference({ ...sidecar, volumeMounts: actual }, sidecar, CONTAINER, p);

  test('the plugin’s mount of the plugin’s volume may come beside the profile’s mounts, before or after them', () => {
    assert.equal(mounts([own, tokenMount()]), undefined);
    assert.equal(mounts([tokenMount(), own]), undefined);
  });

  test('a sidecar whose profile sets no mounts may get the token mount alone', () => {
    const bare = { name: 'agent', image: 'example.com/agent:1' };
    assert.equal(difference({ ...bare, volumeMounts: [tokenMount()] }, bare, CONTAINER, withVolumes(tokenVolume())), undefined);
    assert.equal(
      difference({ ...bare, volumeMounts: [tokenMount({ readOnly: false })] }, bare, CONTAINER, withVolumes(tokenVolume())),
      '.volumeMounts is set, and the profile does not set it',
    );
  });

  test('a mount that differs from the plugin’s in any field is the pod’s own', () => {
    const twoItems = '.volumeMounts has 2 items, the profile sets 1';
    assert.equal(mounts([own, tokenMount({ readOnly: false })]), twoItems);
    assert.equal(mounts([own, { name: NAME, mountPath: TOKEN_PATH }]), twoItems);
    assert.equal(mounts([own, tokenMount({ mountPath: '/var/run/secrets' })]), twoItems);
    assert.equal(mounts([own, tokenMount({ name: 'kube-api-access-x7k2' })]), twoItems);
    assert.equal(mounts([own, tokenMount({ name: 'my-kube-api-access-x7k2q' })]), twoItems);
    assert.equal(mounts([own, tokenMount({ subPath: '' })]), twoItems);
    assert.equal(mounts([own, null, 'junk']), '.volumeMounts has 3 items, the profile sets 1');
  });

  test('the token mount counts only over exactly the plugin’s volume', () => {
    const twoItems = '.volumeMounts has 2 items, the profile sets 1';
    assert.equal(mounts([own, tokenMount()], withVolumes()), twoItems);
    assert.equal(mounts([own, tokenMount()], withVolumes({ name: NAME, hostPath: { path: '/' } })), twoItems);
    assert.equal(mounts([own, tokenMount()], withVolumes({ ...tokenVolume(), projected: { sources: [], defaultMode: 420 } })), twoItems);
    assert.equal(mounts([own, tokenMount()], withVolumes(tokenVolume('kube-api-access-zzzzz'))), twoItems);
    assert.equal(mounts([own, tokenMount()], { spec: { containers: [] } }), twoItems);
    assert.equal(mounts([own, tokenMount()], { spec: { volumes: 'x' } }), twoItems);
    assert.equal(mounts([own, tokenMount()], {}), twoItems);
  });

  test('two token mounts are both the pod’s own: the plugin adds one', () => {
    assert.equal(mounts([own, tokenMount(), tokenMount()]), '.volumeMounts has 3 items, the profile sets 1');
  });
});

describe('difference: a container the API server has defaulted', () => {
  const rendered = (o: JsonObject = {}): JsonObject => ({ name: 'agent', image: 'example.com/agent:1', ...o });
  const defaulted = (expected: JsonObject, extra: JsonObject) => difference({ ...expected, ...extra }, expected, CONTAINER, pod);

  test('imagePullPolicy from the image reference: a name alone, a digest alone', () => {
    const policy = (image: JsonValue, imagePullPolicy: string) => defaulted(rendered({ image }), { imagePullPolicy });
    assert.equal(policy('busybox', 'Always'), undefined);
    assert.equal(policy('busybox', 'IfNotPresent'), '.imagePullPolicy is set, and the profile does not set it');
    // Everything after "@" is the digest, a ":latest" in it too: no tag, and not untagged.
    assert.equal(policy('@sha256:latest', 'IfNotPresent'), undefined);
    assert.equal(policy(`@sha256:${'a'.repeat(64)}`, 'IfNotPresent'), undefined);
    assert.equal(policy(`@sha256:${'a'.repeat(64)}`, 'Never'), '.imagePullPolicy is set, and the profile does not set it');
  });

  test('no imagePullPolicy is a default for an image that is not a string, not even Always', () => {
    assert.equal(defaulted(rendered({ image: 5 }), { imagePullPolicy: 'Always' }), '.imagePullPolicy is set, and the profile does not set it');
    assert.equal(defaulted(rendered({ image: 5 }), { imagePullPolicy: 'IfNotPresent' }), '.imagePullPolicy is set, and the profile does not set it');
  });

  test('LimitRanger resources on a sidecar without any: limits and requests of quantity strings only', () => {
    const resources = (r: JsonValue) => defaulted(rendered(), { resources: r });
    const notSet = '.resources is set, and the profile does not set it';
    assert.equal(resources({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m' } }), undefined);
    assert.equal(resources({ limits: { cpu: '1', memory: 'lots' } }), notSet);
    assert.equal(resources({ limits: { cpu: 1 } }), notSet);
    assert.equal(resources({ requests: { cpu: 1 } }), notSet);
    assert.equal(resources({ limits: { cpu: '1' }, claims: [{ name: 'gpu' }] }), notSet);
    assert.equal(resources({ other: {} }), notSet);
    assert.equal(resources('1'), notSet);
  });

  test('requests the profile leaves out: each equal to the profile’s limit of its resource, all of them quantities', () => {
    const expected = rendered({ resources: { limits: { cpu: '1', memory: '1Gi' } } });
    const requests = (r: JsonValue) => defaulted(expected, { resources: { limits: { cpu: '1', memory: '1Gi' }, requests: r } });
    const notSet = '.resources.requests is set, and the profile does not set it';
    assert.equal(requests({ cpu: '1', memory: '1Gi' }), undefined);
    assert.equal(requests({ cpu: '1' }), undefined);
    assert.equal(requests({ cpu: '1', memory: '512Mi' }), notSet);
    assert.equal(requests({ cpu: '1', ephemeral: 'lots' }), notSet);
    assert.equal(requests({ ephemeral: '1Gi' }), undefined);
  });

  test('a request the profile leaves out beside requests it sets: any quantity unless the profile sets a limit for it', () => {
    const expected = rendered({ resources: { requests: { cpu: '100m' } } });
    const requests = (r: JsonObject) => defaulted(expected, { resources: { requests: { cpu: '100m', ...r } } });
    assert.equal(requests({ memory: '64Mi' }), undefined);
    assert.equal(requests({ memory: 'lots' }), '.resources.requests.memory is set, and the profile does not set it');
    const withLimit = rendered({ resources: { requests: { cpu: '100m' }, limits: { memory: '1Gi' } } });
    const actual = (memory: string) => ({ ...withLimit, resources: { requests: { cpu: '100m', memory }, limits: { memory: '1Gi' } } });
    assert.equal(difference(actual('1Gi'), withLimit, CONTAINER, pod), undefined);
    assert.equal(difference(actual('64Mi'), withLimit, CONTAINER, pod), '.resources.requests.memory is set, and the profile does not set it');
  });
});
