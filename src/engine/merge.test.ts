/** mergeProfile on its own: what lands where, what is recorded, and how a clash is settled. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import { deepFreeze, type JsonObject } from '../common/json.ts';
import { type MergeState, mergeProfile } from './merge.ts';
import type { SidecarProfile } from './profile.ts';

const profileOf = (spec: object): SidecarProfile => {
  const p = profilesFromYaml(profileYaml('agent', { version: '1', ...spec })).byName.get('agent');
  assert.ok(p);
  return p;
};
const stateOf = (pod: JsonObject, initInsertAt = 0): MergeState => {
  const spec = (pod.spec ?? {}) as JsonObject;
  const names = (l: unknown) => new Set(((l ?? []) as JsonObject[]).map((c) => c.name as string));
  return { pod: deepFreeze(pod), initInsertAt, created: [], own: { containers: names(spec.containers), initContainers: names(spec.initContainers) } };
};
const podOf = (spec: JsonObject, metadata: JsonObject = { name: 'p' }): JsonObject => ({ metadata, spec });
const merge = (pod: JsonObject, spec: object, mode: 'native' | 'classic' = 'classic', initInsertAt = 0) => {
  const p = profileOf(spec);
  return { p, r: mergeProfile(stateOf(pod, initInsertAt), p, p, mode) };
};
const ok = (r: ReturnType<typeof mergeProfile>) => {
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r;
};
const agent = { name: 'agent', image: 'example.com/agent:1' };
const app = { name: 'app', image: 'app:1' };

describe('containers', () => {
  test('classic: appended to the pod’s containers and recorded; the input pod is untouched', () => {
    const pod = podOf({ containers: [app] });
    const { p, r } = merge(pod, { containers: [agent] });
    const m = ok(r);
    assert.deepEqual(m.state.pod, podOf({ containers: [app, agent] }));
    assert.deepEqual(m.record, { name: 'agent', version: '1', hash: p.hash, mode: 'classic', containers: ['agent'] });
    assert.deepEqual(m.state.created, []);
    assert.equal(m.state.initInsertAt, 0);
    assert.deepEqual(m.warnings, []);
    assert.deepEqual(pod, podOf({ containers: [app] }));
  });

  test('native: inserted as init containers with restartPolicy Always at initInsertAt, which moves past them', () => {
    const pod = podOf({
      initContainers: [
        { name: 'first', image: 'f' },
        { name: 'own', image: 'o' },
      ],
      containers: [app],
    });
    const m = ok(merge(pod, { initContainers: [{ name: 'setup', image: 's' }], containers: [agent] }, 'native', 1).r);
    const spec = m.state.pod.spec as JsonObject;
    assert.deepEqual(spec.initContainers, [
      { name: 'first', image: 'f' },
      { name: 'setup', image: 's' },
      { ...agent, restartPolicy: 'Always' },
      { name: 'own', image: 'o' },
    ]);
    assert.deepEqual(spec.containers, [app]);
    assert.deepEqual(m.record.initContainers, ['setup', 'agent']);
    assert.equal(m.record.containers, undefined);
    assert.equal(m.state.initInsertAt, 3);
    assert.equal(m.record.mode, 'native');
  });

  test('a container that already sets restartPolicy Always is used as it is in native mode', () => {
    const m = ok(merge(podOf({ containers: [app] }), { initContainers: [], containers: [{ ...agent, restartPolicy: 'Always' }] }, 'native').r);
    assert.deepEqual((m.state.pod.spec as JsonObject).initContainers, [{ ...agent, restartPolicy: 'Always' }]);
  });

  test('lists the pod lacks are created and recorded as created', () => {
    const m = ok(merge(podOf({ containers: [app] }), { initContainers: [{ name: 'setup', image: 's' }], volumes: [{ name: 'v', emptyDir: {} }] }).r);
    assert.deepEqual(m.state.created, ['spec.initContainers', 'spec.volumes']);
    const none = ok(merge({ metadata: { name: 'p' } }, { containers: [agent] }).r);
    assert.deepEqual(none.state.created, ['spec.containers', 'spec']);
    assert.deepEqual(none.state.pod.spec, { containers: [agent] });
    // A list that is there but null is recorded as such, so uninject puts the null back.
    const nulled = ok(merge(podOf({ containers: [app], volumes: null }), { volumes: [{ name: 'v', emptyDir: {} }] }).r);
    assert.deepEqual(nulled.state.created, ['spec.volumes=null']);
  });

  test('a name the pod uses for a container or an init container is a conflict; the same container is not', () => {
    const specs: JsonObject[] = [
      { containers: [app, { name: 'agent', image: 'other' }] },
      { initContainers: [{ name: 'agent', image: 'other' }], containers: [app] },
    ];
    for (const spec of specs) {
      const { r } = merge(podOf(spec), { containers: [agent] });
      assert.deepEqual(r, {
        ok: false,
        message: 'it adds container "agent", but the pod already has a container or init container named "agent" (conflictPolicy: fail)',
      });
    }
    const same = ok(merge(podOf({ containers: [app, agent] }), { containers: [agent], volumes: [{ name: 'v', emptyDir: {} }] }).r);
    assert.deepEqual((same.state.pod.spec as JsonObject).containers, [app, agent]);
    assert.equal(same.record.containers, undefined);
  });

  test('the same container in the other list is a conflict, not already present', () => {
    // A classic sidecar the pod has as an init container, and a native sidecar or init container
    // the pod has among its containers: in the wrong list it would not run as the profile means.
    const cases: [JsonObject, object, 'native' | 'classic', string][] = [
      [{ initContainers: [agent], containers: [app] }, { containers: [agent] }, 'classic', 'container'],
      [{ containers: [app, { ...agent, restartPolicy: 'Always' }] }, { containers: [agent] }, 'native', 'native sidecar'],
      [{ containers: [app, { name: 'setup', image: 's' }] }, { initContainers: [{ name: 'setup', image: 's' }] }, 'classic', 'init container'],
    ];
    for (const [spec, profile, mode, label] of cases) {
      const name = label === 'init container' ? 'setup' : 'agent';
      assert.deepEqual(merge(podOf(spec), profile, mode).r, {
        ok: false,
        message: `it adds ${label} "${name}", but the pod already has a container or init container named "${name}" (conflictPolicy: fail)`,
      });
      const kept = ok(merge(podOf(spec), { ...profile, conflictPolicy: 'keep-pod' }, mode).r);
      assert.deepEqual(kept.warnings, [`profile "agent": kept the pod's own ${label} "${name}" (conflictPolicy: keep-pod)`]);
      assert.deepEqual(kept.state.pod.spec, spec);
    }
  });

  test('keep-pod keeps the pod’s container, says so, and merges the rest', () => {
    const m = ok(
      merge(podOf({ containers: [app, { name: 'agent', image: 'other' }] }), {
        containers: [agent],
        conflictPolicy: 'keep-pod',
        volumes: [{ name: 'v', emptyDir: {} }],
      }).r,
    );
    assert.deepEqual(m.warnings, ['profile "agent": kept the pod\'s own container "agent" (conflictPolicy: keep-pod)']);
    assert.deepEqual((m.state.pod.spec as JsonObject).containers, [app, { name: 'agent', image: 'other' }]);
    assert.deepEqual(m.record.volumes, ['v']);
  });

  test('the names of the native sidecar and init container are told apart in conflict messages', () => {
    const pod = podOf({ containers: [app, { name: 'agent', image: 'x' }, { name: 'setup', image: 'x' }] });
    assert.match((merge(pod, { containers: [agent] }, 'native').r as { message: string }).message, /^it adds native sidecar "agent"/);
    assert.match((merge(pod, { initContainers: [{ name: 'setup', image: 's' }] }).r as { message: string }).message, /^it adds init container "setup"/);
  });
});

describe('pod-level lists: volumes and imagePullSecrets', () => {
  test('added after the pod’s own; an identical one is left alone and not recorded; a different one conflicts', () => {
    const pod = podOf({ containers: [app], volumes: [{ name: 'data', emptyDir: {} }], imagePullSecrets: [{ name: 'regcred' }] });
    const m = ok(
      merge(pod, {
        volumes: [
          { name: 'data', emptyDir: {} },
          { name: 'v', emptyDir: {} },
        ],
        imagePullSecrets: [{ name: 'regcred' }, { name: 'more' }],
      }).r,
    );
    const spec = m.state.pod.spec as JsonObject;
    assert.deepEqual(spec.volumes, [
      { name: 'data', emptyDir: {} },
      { name: 'v', emptyDir: {} },
    ]);
    assert.deepEqual(spec.imagePullSecrets, [{ name: 'regcred' }, { name: 'more' }]);
    assert.deepEqual([m.record.volumes, m.record.imagePullSecrets], [['v'], ['more']]);
    assert.deepEqual(merge(pod, { volumes: [{ name: 'data', configMap: { name: 'c' } }] }).r, {
      ok: false,
      message: 'it adds volume "data", but the pod already has a different volume "data" (conflictPolicy: fail)',
    });
  });

  test('all already there: the spec object itself is kept', () => {
    const pod = podOf({ containers: [app], volumes: [{ name: 'v', emptyDir: {} }] });
    const s = stateOf(pod);
    const p = profileOf({ volumes: [{ name: 'v', emptyDir: {} }] });
    const m = ok(mergeProfile(s, p, p, 'classic'));
    assert.equal(m.state.pod.spec, s.pod.spec);
    assert.deepEqual(m.record, { name: 'agent', version: '1', hash: p.hash, mode: 'classic' });
  });
});

describe('env, envFrom and mounts into targeted app containers', () => {
  const spec = {
    env: [{ name: 'LOG_DIR', value: '/logs' }],
    envFrom: [{ configMapRef: { name: 'cfg' } }],
    volumes: [{ name: 'logs', emptyDir: {} }],
    volumeMounts: [{ name: 'logs', mountPath: '/logs' }],
  };

  test('every own container by default; never a sidecar the profile adds', () => {
    const pod = podOf({ containers: [app, { name: 'web', image: 'w' }] });
    const m = ok(merge(pod, { ...spec, containers: [agent] }).r);
    const containers = (m.state.pod.spec as JsonObject).containers as JsonObject[];
    for (const c of containers.slice(0, 2)) {
      assert.deepEqual(c.env, spec.env);
      assert.deepEqual(c.envFrom, spec.envFrom);
      assert.deepEqual(c.volumeMounts, spec.volumeMounts);
    }
    assert.deepEqual(containers[2], agent);
    const rec = { env: ['LOG_DIR'], envFrom: spec.envFrom, volumeMounts: ['/logs'] };
    assert.deepEqual(m.record.targets, { app: rec, web: rec });
    assert.deepEqual(m.state.created, [
      'spec.volumes',
      'spec.containers[app].env',
      'spec.containers[app].envFrom',
      'spec.containers[app].volumeMounts',
      'spec.containers[web].env',
      'spec.containers[web].envFrom',
      'spec.containers[web].volumeMounts',
    ]);
  });

  test('targets are globs over the pod’s own containers; initContainerTargets over its init containers', () => {
    const pod = podOf({ initContainers: [{ name: 'migrate', image: 'm' }], containers: [app, { name: 'web-1', image: 'w' }] });
    const m = ok(merge(pod, { ...spec, targets: ['web-*'], initContainerTargets: ['mig?ate'] }).r);
    const s = m.state.pod.spec as JsonObject;
    assert.deepEqual((s.containers as JsonObject[])[0], app);
    assert.deepEqual(Object.keys(m.record.targets ?? {}), ['web-1']);
    assert.deepEqual(Object.keys(m.record.initTargets ?? {}), ['migrate']);
    assert.deepEqual((s.initContainers as JsonObject[])[0]?.env, spec.env);
  });

  test('no targets, or nothing to add to them: the containers are untouched and no targets are recorded', () => {
    const pod = podOf({ containers: [app] });
    const none = ok(merge(pod, { ...spec, targets: [] }).r);
    assert.deepEqual((none.state.pod.spec as JsonObject).containers, [app]);
    assert.equal(none.record.targets, undefined);
    const nothing = ok(merge(pod, { volumes: [{ name: 'v', emptyDir: {} }] }).r);
    assert.equal(nothing.record.targets, undefined);
  });

  test('what the container already has, identically, is skipped and not recorded; a different env or mount conflicts', () => {
    const pod = podOf({ containers: [{ ...app, env: [{ name: 'LOG_DIR', value: '/logs' }], envFrom: [{ configMapRef: { name: 'cfg' } }] }] });
    const m = ok(merge(pod, spec).r);
    assert.deepEqual(m.record.targets, { app: { volumeMounts: ['/logs'] } });
    assert.deepEqual(m.state.created, ['spec.volumes', 'spec.containers[app].volumeMounts']);
    const envClash = merge(podOf({ containers: [{ ...app, env: [{ name: 'LOG_DIR', value: '/elsewhere' }] }] }), spec).r;
    assert.deepEqual(envClash, {
      ok: false,
      message: 'it adds env "LOG_DIR" in container "app", but that container already sets "LOG_DIR" differently (conflictPolicy: fail)',
    });
    const mountClash = merge(podOf({ initContainers: [{ name: 'i', image: 'i', volumeMounts: [{ name: 'x', mountPath: '/logs' }] }], containers: [app] }), {
      ...spec,
      initContainerTargets: ['i'],
    }).r;
    assert.deepEqual(mountClash, {
      ok: false,
      message: 'it adds volumeMount at "/logs" in init container "i", but that container already mounts something else there (conflictPolicy: fail)',
    });
  });

  test('the last of duplicate env entries is the one compared, as the kubelet uses it', () => {
    const env = [
      { name: 'LOG_DIR', value: '/elsewhere' },
      { name: 'LOG_DIR', value: '/logs' },
    ];
    const m = ok(merge(podOf({ containers: [{ ...app, env }] }), { env: spec.env }).r);
    assert.equal(m.record.targets, undefined);
  });

  test('a null env list is recorded as null, so uninject restores it', () => {
    const m = ok(merge(podOf({ containers: [{ ...app, env: null }] }), { env: spec.env }).r);
    assert.deepEqual(m.state.created, ['spec.containers[app].env=null']);
  });
});

describe('labels and annotations', () => {
  test('added, recorded, and the maps created when the pod has none', () => {
    const m = ok(merge({ spec: { containers: [app] } }, { metadata: { labels: { team: 'a' }, annotations: { 'example.com/x': 'y' } } }).r);
    assert.deepEqual(m.state.pod.metadata, { labels: { team: 'a' }, annotations: { 'example.com/x': 'y' } });
    assert.deepEqual([m.record.labels, m.record.annotations], [['team'], ['example.com/x']]);
    assert.deepEqual(m.state.created, ['metadata', 'metadata.labels', 'metadata.annotations']);
  });

  test('the same value already there is skipped; another value conflicts, or is kept with keep-pod', () => {
    const pod = podOf({ containers: [app] }, { name: 'p', labels: { team: 'a' } });
    const state = stateOf(pod);
    const sameProfile = profileOf({ metadata: { labels: { team: 'a' } } });
    const same = ok(mergeProfile(state, sameProfile, sameProfile, 'classic'));
    assert.equal(same.state.pod.metadata, state.pod.metadata, 'nothing to add: the metadata object is kept');
    assert.equal(same.record.labels, undefined);
    assert.deepEqual(merge(pod, { metadata: { labels: { team: 'b' } } }).r, {
      ok: false,
      message: 'it adds label "team", but the pod already has it with another value (conflictPolicy: fail)',
    });
    const kept = ok(merge(pod, { conflictPolicy: 'keep-pod', metadata: { labels: { team: 'b', more: 'x' } } }).r);
    assert.deepEqual((kept.state.pod.metadata as JsonObject).labels, { team: 'a', more: 'x' });
    assert.deepEqual(kept.warnings, ['profile "agent": kept the pod\'s own label "team" (conflictPolicy: keep-pod)']);
  });

  test('an annotation conflict names the annotation', () => {
    const pod = podOf({ containers: [app] }, { annotations: { k: 'v' } });
    assert.deepEqual(merge(pod, { metadata: { annotations: { k: 'w' } } }).r, {
      ok: false,
      message: 'it adds annotation "k", but the pod already has it with another value (conflictPolicy: fail)',
    });
  });
});
