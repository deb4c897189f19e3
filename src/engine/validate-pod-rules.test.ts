/** validatePod and the annotation size limit, on their own: one rule at a time, each at its edge. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JsonObject } from '../common/json.ts';
import { annotationsTooLarge, MAX_ANNOTATION_BYTES, validatePod } from './validate-pod.ts';

const LIMIT = 262_144;
const podWith = (spec: JsonObject, metadata: JsonObject = { name: 'p' }): JsonObject => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec });
const app = (extra: JsonObject = {}): JsonObject => ({ name: 'app', image: 'app:1', ...extra });
const one = (c: JsonObject, spec: JsonObject = {}) => validatePod(podWith({ containers: [c], ...spec }));
const init = (c: JsonObject) => validatePod(podWith({ initContainers: [c], containers: [app()] }));

describe('the annotation size limit, at its exact boundary', () => {
  // One annotation whose key and value together take `bytes` bytes of UTF-8.
  const sized = (bytes: number, unit = 'x') => {
    const key = 'k';
    const unitBytes = Buffer.byteLength(unit);
    const rest = bytes - key.length;
    const value = unit.repeat(Math.floor(rest / unitBytes)) + 'x'.repeat(rest % unitBytes);
    assert.equal(Buffer.byteLength(key) + Buffer.byteLength(value), bytes);
    return { [key]: value };
  };

  test('the limit is 256 KiB', () => assert.equal(MAX_ANNOTATION_BYTES, LIMIT));

  for (const unit of ['x', 'é', '€', '😀']) {
    test(`${JSON.stringify(unit)} (${Buffer.byteLength(unit)} bytes each): ${LIMIT} bytes are accepted, ${LIMIT + 1} refused`, () => {
      assert.equal(annotationsTooLarge(sized(LIMIT, unit)), false);
      assert.equal(annotationsTooLarge(sized(LIMIT + 1, unit)), true);
      assert.deepEqual(validatePod(podWith({ containers: [app()] }, { annotations: sized(LIMIT, unit) })), []);
      assert.deepEqual(validatePod(podWith({ containers: [app()] }, { annotations: sized(LIMIT + 1, unit) })), [
        "metadata.annotations: together they exceed the API server's limit of 262144 bytes",
      ]);
    });
  }

  test('keys count as well as values, summed over every annotation', () => {
    const half = 'v'.repeat(LIMIT / 2 - 2);
    assert.equal(annotationsTooLarge({ ab: half, cd: half }), false);
    assert.equal(annotationsTooLarge({ abc: half, cd: half }), true);
  });

  test('a lone surrogate counts 3 bytes (the API server sees U+FFFD), a pair 4', () => {
    const lone = '\ud800';
    const n = Math.floor((LIMIT - 1) / 3);
    const fill = 'x'.repeat(LIMIT - 1 - 3 * n);
    assert.equal(annotationsTooLarge({ k: lone.repeat(n) + fill }), false);
    assert.equal(annotationsTooLarge({ k: `${lone.repeat(n) + fill}x` }), true);
    // A high surrogate at the very end has no pair: 3 bytes, not 4.
    assert.equal(annotationsTooLarge({ k: `${'x'.repeat(LIMIT - 4)}\ud83d` }), false);
    assert.equal(annotationsTooLarge({ k: `${'x'.repeat(LIMIT - 3)}\ud83d` }), true);
  });

  test('more UTF-16 code units than the limit has bytes is too large; no annotations, or non-string values, are not', () => {
    assert.equal(annotationsTooLarge({ k: 'x'.repeat(LIMIT) }), true);
    assert.equal(annotationsTooLarge(undefined), false);
    assert.equal(annotationsTooLarge('x'.repeat(LIMIT + 1)), false);
    assert.equal(annotationsTooLarge({ k: 1, j: null }), false);
  });
});

describe('validatePod: metadata', () => {
  test('a valid pod has no problems', () => {
    assert.deepEqual(
      validatePod(podWith({ containers: [app()] }, { labels: { 'app.kubernetes.io/name': 'x', empty: '' }, annotations: { 'a/b': 'any value!' } })),
      [],
    );
  });

  test('label and annotation keys must be qualified names; label values label values', () => {
    const errors = validatePod(podWith({ containers: [app()] }, { labels: { 'bad key': 'v', ok: 'bad value!' }, annotations: { '/x': 'fine value!' } }));
    assert.equal(errors.length, 3, errors.join('\n'));
    assert.match(errors[0] ?? '', /^metadata\.labels: key "bad key" /);
    assert.match(errors[1] ?? '', /^metadata\.labels\["ok"\]: value "bad value!" must be empty or consist of/);
    assert.match(errors[2] ?? '', /^metadata\.annotations: key "\/x" prefix must not be empty/);
  });

  test('a pod without metadata or spec is checked as empty', () => {
    assert.deepEqual(validatePod({}), []);
    assert.deepEqual(validatePod({ metadata: 'x', spec: 3 }), []);
  });

  test('a label value that is not a string (null, which the API server reads as empty) is not judged as a value', () => {
    assert.deepEqual(validatePod(podWith({ containers: [app()] }, { labels: { a: null, b: 'ok' } })), []);
  });
});

describe('validatePod: one container', () => {
  test('name and image', () => {
    assert.deepEqual(one({ name: 'App', image: 'a' }), [
      'container "App": name must be a DNS-1123 label (lower case alphanumerics and "-", starting and ending with an alphanumeric)',
    ]);
    assert.deepEqual(one({ name: 'app', image: ' ' }), ['container "app": image is required']);
    assert.deepEqual(one({ name: 'app' }), ['container "app": image is required']);
    assert.match(one({ image: 'a' })[0] ?? '', /^container "": name must be a DNS-1123 label/);
  });

  test('port names are IANA service names, each used once; unnamed ports are fine', () => {
    assert.deepEqual(one(app({ ports: [{ containerPort: 1 }, { name: 'http', containerPort: 2 }, { name: 'http', containerPort: 3 }] })), [
      'container "app": port name "http" is used more than once',
    ]);
    assert.deepEqual(one(app({ ports: [{ name: 'no--hyphens', containerPort: 1 }] })), [
      'container "app": port name "no--hyphens" must not contain consecutive hyphens',
    ]);
  });

  test('a mountPath is used once per container', () => {
    const mounts = [
      { name: 'v', mountPath: '/a' },
      { name: 'v', mountPath: '/b' },
      { name: 'w', mountPath: '/a' },
    ];
    const vols = { volumes: [{ name: 'v' }, { name: 'w' }] };
    assert.deepEqual(one(app({ volumeMounts: mounts }), vols), ['container "app": mountPath "/a" is used more than once']);
  });

  test('mounts without a mountPath, and entries that are not objects, have no mount path to repeat', () => {
    assert.deepEqual(one(app({ volumeMounts: [{ name: 'v' }, { name: 'v' }, null, 'junk'] }), { volumes: [{ name: 'v' }] }), []);
  });

  test('env names are printable ASCII without "="', () => {
    assert.deepEqual(one(app({ env: [{ name: 'OK_1' }, { name: 'A=B' }, 'junk'] })), [
      'container "app": env "A=B" must consist of printable ASCII characters other than "="',
    ]);
  });

  test('env entries without a string name, or that are not objects, are not checked by name', () => {
    assert.deepEqual(one(app({ env: [{ value: 'x' }, { name: 5 }, null] })), []);
  });

  test('resources: quantities must parse, and a request may equal its limit but not exceed it', () => {
    const res = (requests: JsonObject, limits: JsonObject = {}) => one(app({ resources: { requests, limits } }));
    assert.deepEqual(res({ cpu: '100m' }, { cpu: '0.1' }), []);
    assert.deepEqual(res({ cpu: '101m' }, { cpu: '0.1' }), [
      'container "app": resources.requests.cpu (101m) must not be greater than resources.limits.cpu (0.1)',
    ]);
    assert.deepEqual(res({ memory: 1024 }, { memory: '1Ki' }), []);
    assert.deepEqual(res({ memory: 1025 }, { memory: '1Ki' }), [
      'container "app": resources.requests.memory (1025) must not be greater than resources.limits.memory (1Ki)',
    ]);
    assert.deepEqual(res({ cpu: 'lots' }), ['container "app": resources.requests.cpu "lots" is not a valid quantity']);
    assert.deepEqual(res({}, { cpu: 'lots' }), ['container "app": resources.limits.cpu "lots" is not a valid quantity']);
    // A request with no limit of its kind, or non-quantity values, are not compared.
    assert.deepEqual(res({ cpu: '2' }, { memory: '1Gi' }), []);
    assert.deepEqual(res({ cpu: true }, { cpu: '1' }), []);
    assert.deepEqual(res({ cpu: '2' }, { cpu: null }), []);
  });

  test('resources: a number is a quantity as a limit too; a limit that is neither string nor number is not compared', () => {
    const res = (requests: JsonObject, limits: JsonObject) => one(app({ resources: { requests, limits } }));
    assert.deepEqual(res({ cpu: '2' }, { cpu: 1 }), ['container "app": resources.requests.cpu (2) must not be greater than resources.limits.cpu (1)']);
    assert.deepEqual(res({ cpu: '2' }, { cpu: ['1'] }), []);
    assert.deepEqual(res({}, { cpu: 1e100 }), ['container "app": resources.limits.cpu 1e+100 is not a valid quantity']);
    assert.deepEqual(res({ cpu: 1e100 }, {}), ['container "app": resources.requests.cpu 1e+100 is not a valid quantity']);
  });

  test('restartPolicy: never on an app container; on an init container only "Always"', () => {
    assert.deepEqual(one(app({ restartPolicy: 'Always' })), ['container "app": restartPolicy is only allowed on init containers']);
    assert.deepEqual(init({ name: 'i', image: 'i', restartPolicy: 'Always' }), []);
    assert.deepEqual(init({ name: 'i', image: 'i', restartPolicy: 'OnFailure' }), ['init container "i": restartPolicy may only be "Always"']);
  });

  test('probes and lifecycle only on native sidecars', () => {
    for (const f of ['readinessProbe', 'livenessProbe', 'startupProbe', 'lifecycle']) {
      assert.deepEqual(init({ name: 'i', image: 'i', [f]: {} }), [
        `init container "i": ${f} is only allowed on init containers with restartPolicy "Always" (native sidecars)`,
      ]);
      assert.deepEqual(init({ name: 'i', image: 'i', restartPolicy: 'Always', [f]: {} }), []);
      assert.deepEqual(one(app({ [f]: {} })), []);
    }
  });

  test('one container object is judged by where it stands: as an init container and as a container', () => {
    const c = { name: 'i', image: 'i', restartPolicy: 'Always' };
    assert.deepEqual(one(c), ['container "i": restartPolicy is only allowed on init containers']);
    assert.deepEqual(init(c), []);
    assert.deepEqual(one(c), ['container "i": restartPolicy is only allowed on init containers']);
  });
});

describe('validatePod: the pod as a whole', () => {
  test('volume names are DNS-1123 labels, each used once', () => {
    assert.deepEqual(validatePod(podWith({ containers: [app()], volumes: [{ name: 'v' }, { name: 'v' }, { name: 'V' }, { noName: 1 }] })), [
      'volume "v": name is used more than once',
      'volume "V": name must be a DNS-1123 label (lower case alphanumerics and "-", starting and ending with an alphanumeric)',
    ]);
  });

  test('containers and init containers share one name space', () => {
    assert.deepEqual(validatePod(podWith({ initContainers: [{ name: 'a', image: 'i' }], containers: [{ name: 'a', image: 'i' }] })), [
      'container "a": name is used by another container or init container',
    ]);
    assert.deepEqual(validatePod(podWith({ containers: [app(), app()] })), ['container "app": name is used by another container or init container']);
  });

  test('a hostPort is used once per hostIP and protocol; hostPort 0 or unset is no host port', () => {
    const ports = (...ps: JsonObject[]) => validatePod(podWith({ containers: ps.map((p, i) => ({ name: `c${i}`, image: 'i', ports: [p] })) }));
    assert.deepEqual(ports({ hostPort: 80 }, { hostPort: 80, protocol: 'TCP' }), ['container "c1": hostPort 80/TCP is already used by another container']);
    assert.deepEqual(ports({ hostPort: 80, protocol: 'UDP' }, { hostPort: 80, protocol: 'UDP' }), [
      'container "c1": hostPort 80/UDP is already used by another container',
    ]);
    assert.deepEqual(ports({ hostPort: 80 }, { hostPort: 80, protocol: 'UDP' }), []);
    assert.deepEqual(ports({ hostPort: 80, hostIP: '10.0.0.1' }, { hostPort: 80, hostIP: '10.0.0.2' }), []);
    assert.deepEqual(ports({ hostPort: 0 }, { hostPort: 0 }), []);
    assert.deepEqual(ports({ containerPort: 80 }, { containerPort: 80 }), []);
  });

  test('an empty hostIP is the unset one; a hostPort that is not a number is no host port', () => {
    const ports = (...ps: JsonObject[]) => validatePod(podWith({ containers: ps.map((p, i) => ({ name: `c${i}`, image: 'i', ports: [p] })) }));
    assert.deepEqual(ports({ hostPort: 80 }, { hostPort: 80, hostIP: '' }), ['container "c1": hostPort 80/TCP is already used by another container']);
    assert.deepEqual(ports({ hostPort: '80' }, { hostPort: '80' }), []);
  });

  test('a volumeMount must name a volume of the pod', () => {
    assert.deepEqual(one(app({ volumeMounts: [{ name: 'missing', mountPath: '/m' }] })), [
      'container "app": volumeMount "missing" names a volume the pod does not have',
    ]);
    assert.deepEqual(one(app({ volumeMounts: [{ name: 'v', mountPath: '/m' }] }), { volumes: [{ name: 'v' }] }), []);
  });

  test('a volumeMount without a name names no volume', () => {
    assert.deepEqual(one(app({ volumeMounts: [{ mountPath: '/m' }, null] })), []);
  });

  test('a container without a name is reported as ""', () => {
    assert.deepEqual(validatePod(podWith({ containers: [{ image: 'i', volumeMounts: [{ name: 'gone', mountPath: '/g' }] }] })), [
      'container "": name must be a DNS-1123 label (lower case alphanumerics and "-", starting and ending with an alphanumeric)',
      'container "": volumeMount "gone" names a volume the pod does not have',
    ]);
  });

  test('entries of the container lists that are not objects are left out', () => {
    assert.deepEqual(validatePod(podWith({ initContainers: [null, 'junk'], containers: [app(), 7] })), []);
  });

  test('init containers are reported before containers, each problem once', () => {
    const errors = validatePod(podWith({ initContainers: [{ name: 'i', image: '' }], containers: [{ name: 'c', image: '' }] }));
    assert.deepEqual(errors, ['init container "i": image is required', 'container "c": image is required']);
  });
});

describe('UTF-8 lengths at each encoding boundary', () => {
  // A value of `n` copies of `ch` plus ASCII filling it to exactly the limit, then one byte more.
  const at = (ch: string) => {
    const bytes = Buffer.byteLength(ch);
    const n = Math.floor((LIMIT - 1) / bytes);
    const fill = 'x'.repeat(LIMIT - 1 - n * bytes);
    return { exact: { k: ch.repeat(n) + fill }, over: { k: `${ch.repeat(n) + fill}x` } };
  };
  for (const ch of ['\u007f', '\u0080', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{10ffff}']) {
    test(`U+${ch.codePointAt(0)?.toString(16).toUpperCase().padStart(4, '0')} (${Buffer.byteLength(ch)} bytes)`, () => {
      const { exact, over } = at(ch);
      assert.equal(annotationsTooLarge(exact), false);
      assert.equal(annotationsTooLarge(over), true);
    });
  }

  test('a high surrogate followed by something other than a low one is 3 bytes, and so is the next unit', () => {
    const n = Math.floor((LIMIT - 1) / 6);
    const pairs = '\ud800a'.repeat(n); // 3 + 1 bytes each
    const fill = 'x'.repeat(LIMIT - 1 - n * 4);
    assert.equal(annotationsTooLarge({ k: pairs + fill }), false);
    assert.equal(annotationsTooLarge({ k: `${pairs + fill}x` }), true);
    const lowFirst = '\udc00\ud800'.repeat(Math.floor((LIMIT - 1) / 6)); // two lone surrogates: 6 bytes
    const rest = 'x'.repeat(LIMIT - 1 - Buffer.byteLength(lowFirst.toWellFormed()));
    assert.equal(annotationsTooLarge({ k: lowFirst + rest }), false);
    assert.equal(annotationsTooLarge({ k: `${lowFirst + rest}x` }), true);
  });

  test('a low surrogate is lone (3 bytes) unless a high surrogate comes just before it', () => {
    for (const pair of ['\u0800\udc00', '\ud7ff\udc00', '\ue000\udc00', '\udc00\udc00', '\udbff\udfff']) {
      const { exact, over } = at(pair);
      assert.equal(annotationsTooLarge(exact), false, JSON.stringify(pair));
      assert.equal(annotationsTooLarge(over), true, JSON.stringify(pair));
    }
  });

  test('non-string values count nothing, their keys do', () => {
    const big = 'v'.repeat(LIMIT - 10);
    assert.equal(annotationsTooLarge({ k: big, n: 5 as unknown as string, ['x'.repeat(8)]: '' }), false);
    assert.equal(annotationsTooLarge({ k: big, n: 5 as unknown as string, ['x'.repeat(9)]: '' }), true);
    assert.equal(annotationsTooLarge({ k: big, n: null, ['x'.repeat(8)]: '' }), false);
    assert.equal(annotationsTooLarge({ k: big, n: null, ['x'.repeat(9)]: '' }), true);
  });
});
