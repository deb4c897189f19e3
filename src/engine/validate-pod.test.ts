import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonObject } from '../common/json.ts';
import { introducedErrors, validatePod } from './validate-pod.ts';

/** What introducedErrors must equal: the full validation of both pods, subtracted. */
function expected(base: JsonObject, pod: JsonObject): string[] {
  const known = new Set(validatePod(base));
  return validatePod(pod).filter((e) => !known.has(e));
}

const app = (o: JsonObject = {}): JsonObject => ({
  name: 'app',
  image: 'nginx',
  ports: [{ name: 'http', containerPort: 80 }],
  env: [{ name: 'A', value: '1' }],
  volumeMounts: [{ name: 'data', mountPath: '/data' }],
  resources: { requests: { cpu: '100m' }, limits: { cpu: '1' } },
  ...o,
});

/** A pod that already breaks rules of its own: those are never reported as introduced. */
const broken = (): JsonObject => ({
  metadata: { labels: { 'bad label!': 'x', ok: 'v' }, annotations: { a: '1' } },
  spec: {
    containers: [
      app({
        env: [
          { name: 'A', value: '1' },
          { name: 'A=B', value: '2' },
        ],
        image: '',
      }),
      app({ name: 'Other_Bad', volumeMounts: [{ name: 'gone', mountPath: '/g' }] }),
    ],
    initContainers: [{ name: 'init', image: 'busybox', readinessProbe: {} }],
    volumes: [{ name: 'data', emptyDir: {} }],
  },
});

/** Copy-on-write edits, as the merge makes them: whatever is not changed is the same object. */
const edits: Record<string, (p: JsonObject) => JsonObject> = {
  'nothing changed': (p) => p,
  'a valid sidecar added': (p) => withSpec(p, { containers: [...list(p, 'containers'), { name: 'sidecar', image: 'envoy' }] }),
  'a sidecar with a bad name and a duplicate port name': (p) =>
    withSpec(p, { containers: [...list(p, 'containers'), { name: 'Side', image: 'envoy', ports: [{ name: 'p' }, { name: 'p' }] }] }),
  'a sidecar with the name of an app container': (p) =>
    withSpec(p, { initContainers: [...list(p, 'initContainers'), { name: 'app', image: 'x', restartPolicy: 'Always' }] }),
  'env appended to every container, one bad': (p) => mapContainers(p, (c) => ({ ...c, env: [...(c.env as JsonObject[]), { name: 'B=AD', value: 'x' }] })),
  'env appended, with a name the container already has bad': (p) =>
    mapContainers(p, (c) => ({ ...c, env: [...(c.env as JsonObject[]), { name: 'A=B', value: 'y' }] })),
  'env replaced by equal copies': (p) => mapContainers(p, (c) => ({ ...c, env: structuredClone(c.env ?? []) })),
  'a mount on a missing volume, and a repeated mount path': (p) =>
    mapContainers(p, (c) => ({ ...c, volumeMounts: [...(c.volumeMounts as JsonObject[]), { name: 'nope', mountPath: '/data' }] })),
  'the image emptied': (p) => mapContainers(p, (c) => ({ ...c, image: ' ' })),
  'requests raised over limits': (p) => mapContainers(p, (c) => ({ ...c, resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } })),
  'ports replaced by a bad one': (p) => mapContainers(p, (c) => ({ ...c, ports: [{ name: 'much-too-long-port-name' }] })),
  'a restartPolicy on a container': (p) => mapContainers(p, (c) => ({ ...c, restartPolicy: 'Always' })),
  'a duplicate volume and a bad one': (p) => withSpec(p, { volumes: [...list(p, 'volumes'), { name: 'data' }, { name: 'Bad_Vol' }] }),
  'labels: a bad key, a bad value, a changed value': (p) =>
    withMeta(p, { labels: { ...(meta(p).labels as JsonObject), 'bad key!': 'x', ok: 'not ok!', fine: 'ok' } }),
  'annotations: a bad key added': (p) => withMeta(p, { annotations: { ...(meta(p).annotations as JsonObject), '/bad': 'x' } }),
  'annotations over the size limit': (p) => withMeta(p, { annotations: { ...(meta(p).annotations as JsonObject), big: 'x'.repeat(300_000) } }),
  'a host port used twice': (p) => mapContainers(p, (c) => ({ ...c, ports: [{ name: 'h', containerPort: 1, hostPort: 8080 }] })),
};

const spec = (p: JsonObject) => (p.spec ?? {}) as JsonObject;
const meta = (p: JsonObject) => (p.metadata ?? {}) as JsonObject;
const list = (p: JsonObject, f: string) => (spec(p)[f] ?? []) as JsonObject[];
const withSpec = (p: JsonObject, s: JsonObject): JsonObject => ({ ...p, spec: { ...spec(p), ...s } });
const withMeta = (p: JsonObject, m: JsonObject): JsonObject => ({ ...p, metadata: { ...meta(p), ...m } });
const mapContainers = (p: JsonObject, f: (c: JsonObject) => JsonObject) => withSpec(p, { containers: list(p, 'containers').map(f) });

const valid = (): JsonObject => ({ metadata: { labels: { ok: 'v' } }, spec: { containers: [app()], volumes: [{ name: 'data', emptyDir: {} }] } });

for (const [name, edit] of Object.entries(edits)) {
  test(`introduced problems are the full validation of both pods, subtracted: ${name}`, () => {
    for (const base of [valid(), broken()]) {
      const pod = edit(base);
      let asked = false;
      const got = introducedErrors(base, pod, () => {
        asked = true;
        return new Set(validatePod(base));
      });
      assert.deepEqual(got, expected(base, pod));
      // The pod's own problems are looked up only when a changed part has one.
      if (base === pod) assert.equal(asked, false);
    }
  });
}

test('a valid pod with valid additions never needs the base pod validated', () => {
  const base = valid();
  assert.deepEqual(
    introducedErrors(base, edits['a valid sidecar added']?.(base) as JsonObject, () => assert.fail('asked')),
    [],
  );
  const pod = edits['env appended to every container, one bad']?.(base) as JsonObject;
  const got = introducedErrors(base, pod, () => new Set(validatePod(base)));
  assert.equal(got.length, 1);
  assert.match(got[0] as string, /^container "app": env "B=AD" /);
});

/**
 * A base pod whose problems are all in parts a copy-on-write edit can share: a label key, and
 * containers whose problems each lie in one field. "old" also has problems of the container as a
 * whole (a repeated mountPath, a restartPolicy), which only sharing the very object leaves out.
 */
const flawed = (): JsonObject => ({
  metadata: { labels: { 'bad key!': 'x' } },
  spec: {
    initContainers: [null],
    containers: [
      {
        name: 'app',
        image: '',
        ports: [{ name: 'p' }, { name: 'p' }],
        env: [
          { name: 'A', value: '1' },
          { name: 'B=B', value: '2' },
        ],
        resources: { requests: { cpu: '2' }, limits: { cpu: '1' } },
      },
      {
        name: 'old',
        image: 'old',
        restartPolicy: 'Always',
        volumeMounts: [
          { name: 'data', mountPath: '/d' },
          { name: 'data', mountPath: '/d' },
        ],
      },
    ],
    volumes: [{ name: 'data', emptyDir: {} }],
  },
});

test('the base pod’s problems are not looked up when each changed part is fine in what it changed', () => {
  const notAsked = () => assert.fail('the base pod’s problems were asked for');
  const base = flawed();
  const own = [
    /^metadata\.labels: key "bad key!" /,
    /^container "app": image is required$/,
    /^container "app": port name "p" is used more than once$/,
    /^container "app": env "B=B" /,
    /^container "app": resources\.requests\.cpu \(2\) must not be greater/,
    /^container "old": mountPath "\/d" is used more than once$/,
    /^container "old": restartPolicy is only allowed on init containers$/,
  ];
  const errors = validatePod(base);
  assert.equal(errors.length, own.length, errors.join('\n'));
  for (const [i, re] of own.entries()) assert.match(errors[i] ?? '', re);
  const [app, old] = list(base, 'containers') as [JsonObject, JsonObject];
  const changed: JsonObject[] = [
    edits['a valid sidecar added']?.(base) as JsonObject,
    withMeta(base, { labels: { ...(meta(base).labels as JsonObject), fine: 'ok' } }),
    withSpec(base, { containers: [{ ...app, env: [...(app.env as JsonObject[]), { name: 'C', value: '3' }] }, old] }),
  ];
  for (const pod of changed) assert.deepEqual(introducedErrors(base, pod, notAsked), []);
});

test('an env var added before those a container already has is checked, and theirs are not reported again', () => {
  const base = flawed();
  const [app, old] = list(base, 'containers') as [JsonObject, JsonObject];
  const pod = withSpec(base, { containers: [{ ...app, env: [{ name: 'X=Y', value: '0' }, ...(app.env as JsonObject[])] }, old] });
  assert.deepEqual(
    introducedErrors(base, pod, () => new Set(validatePod(base))),
    ['container "app": env "X=Y" must consist of printable ASCII characters other than "="'],
  );
});
