/** Extending an injected pod to containers added later touches only those containers. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../../test/support/profiles.ts';
import type { JsonObject } from '../../common/json.ts';
import { type Decision, type InjectContext, inject } from '../inject.ts';
import { MAX_OBJECT_BYTES } from '../pod-size.ts';
import type { ProfileSet } from '../profile.ts';
import { renderBudget } from '../render.ts';
import { readStatus, type StatusRecord } from '../status.ts';
import { removeRecorded, uninject } from '../uninject.ts';
import { noNotes, RECORD_TOO_LARGE } from './decision.ts';
import { keepOrExtend } from './extend.ts';
import { patchReproducesPod } from './verify.ts';

const ctx = { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } };
const set = profilesFromYaml(
  profileYaml('agent', {
    version: '1',
    sidecarMode: 'native',
    containers: [{ name: 'agent', image: 'example.com/agent:1' }],
    env: [{ name: 'AGENT', value: 'on' }],
  }),
);

test('a native sidecar the API server defaulted is left alone when the profile is extended to a new container', () => {
  const first = inject(
    { metadata: { name: 'web', annotations: { 'outrigger.dev/inject': 'agent' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
    set,
    ctx,
  );
  assert.equal(first.outcome, 'injected');
  const spec = first.pod.spec as JsonObject;
  // As read back from the API server: defaults filled in on the sidecar.
  const defaulted = (spec.initContainers as JsonObject[]).map((c) => ({
    ...c,
    imagePullPolicy: 'IfNotPresent',
    terminationMessagePath: '/dev/termination-log',
  }));
  const later = {
    ...first.pod,
    spec: { ...spec, initContainers: defaulted, containers: [...(spec.containers as JsonObject[]), { name: 'late', image: 'x:1' }] },
  };
  const d = inject(later, set, ctx);
  assert.equal(d.outcome, 'injected', d.message);
  assert.deepEqual(
    d.patch.map((op) => op.path),
    ['/metadata/annotations/outrigger.dev~1status', '/spec/containers/1/env'],
  );
});

/** The pod `first` injected, as another webhook left it: with these containers and init containers added. */
function grown(first: Decision, add: { containers?: JsonObject[]; initContainers?: JsonObject[] }): JsonObject {
  const spec = first.pod.spec as JsonObject;
  return {
    ...first.pod,
    spec: {
      ...spec,
      containers: [...((spec.containers as JsonObject[] | undefined) ?? []), ...(add.containers ?? [])],
      ...(add.initContainers ? { initContainers: [...((spec.initContainers as JsonObject[] | undefined) ?? []), ...add.initContainers] } : {}),
    },
  };
}

const annotated = (inject: string, spec: JsonObject): JsonObject => ({ metadata: { name: 'web', annotations: { 'outrigger.dev/inject': inject } }, spec });
const recorded = (d: Decision) => readStatus(d.pod).status;
const envOf = (pod: JsonObject, field: 'containers' | 'initContainers', name: string) =>
  ((pod.spec as JsonObject)[field] as JsonObject[]).find((c) => c.name === name)?.env;

describe('whether the record is kept', () => {
  const two = (logsVersion: string) =>
    profilesFromYaml(
      [
        profileYaml('agent', { version: '1', env: [{ name: 'AGENT', value: 'on' }] }),
        profileYaml('logs', { version: logsVersion, env: [{ name: 'LOG_DIR', value: `/var/log/${logsVersion}` }] }),
      ].join('\n---\n'),
    );

  test('a record that matches only some of the wanted profiles is rebuilt: the changed one is updated', () => {
    const first = inject(annotated('agent, logs', { containers: [{ name: 'app', image: 'a' }] }), two('1'), ctx);
    assert.equal(first.outcome, 'injected', first.message);
    const d = inject(first.pod, two('2'), ctx);
    assert.deepEqual([d.outcome, d.reason], ['injected', 'updated']);
    assert.deepEqual(
      d.profiles.map((o) => [o.profile, o.reason]),
      [
        ['agent', 'already-injected'],
        ['logs', 'updated'],
      ],
    );
    assert.deepEqual(envOf(d.pod, 'containers', 'app'), [
      { name: 'AGENT', value: 'on' },
      { name: 'LOG_DIR', value: '/var/log/2' },
    ]);
  });

  test('a record of another profile with the same content is not kept for the profile now asked for', () => {
    const same = { version: '1', env: [{ name: 'AGENT', value: 'on' }] };
    const set = profilesFromYaml([profileYaml('agent', same), profileYaml('twin', same)].join('\n---\n'));
    const first = inject(annotated('agent', { containers: [{ name: 'app', image: 'a' }] }), set, ctx);
    assert.equal(first.outcome, 'injected', first.message);
    const meta = first.pod.metadata as JsonObject;
    const asked = { ...first.pod, metadata: { ...meta, annotations: { ...(meta.annotations as JsonObject), 'outrigger.dev/inject': 'twin' } } };
    const d = inject(asked, set, ctx);
    assert.deepEqual([d.outcome, d.reason, d.message], ['injected', 'injected', 'injected twin@1']);
    assert.deepEqual(
      recorded(d)?.profiles.map((r) => r.name),
      ['twin'],
    );
  });
});

describe('extending to containers added after injection', () => {
  const agentAndLogs = (logs: object = {}) =>
    profilesFromYaml(
      [
        profileYaml('agent', {
          version: '1',
          conflictPolicy: 'keep-pod',
          env: [
            { name: 'AGENT', value: 'on' },
            { name: 'MODE', value: 'quiet' },
          ],
        }),
        profileYaml('logs', { version: '2', env: [{ name: 'LOG_DIR', value: '/var/log' }], targets: ['late*'], ...logs }),
      ].join('\n---\n'),
    );
  const app = { name: 'app', image: 'a', env: [{ name: 'X', value: '1' }] };

  test('the decision names the profiles extended and the new containers; a profile with nothing new is already injected', () => {
    const set = agentAndLogs();
    const first = inject(annotated('agent, logs', { containers: [app] }), set, ctx);
    assert.equal(first.outcome, 'injected', first.message);
    const d = inject(grown(first, { containers: [{ name: 'side', image: 's', env: [{ name: 'MODE', value: 'loud' }] }] }), set, ctx);
    assert.deepEqual([d.outcome, d.reason, d.message], ['injected', 'injected', 'extended agent to new containers']);
    assert.deepEqual(d.profiles, [
      { profile: 'agent', reason: 'injected', message: 'profile "agent" extended to container(s) added after injection: side', version: '1' },
      { profile: 'logs', reason: 'already-injected', message: 'profile "logs" is already injected at version 2', version: '2' },
    ]);
    assert.deepEqual(d.warnings, [`profile "agent": kept the pod's own env "MODE" in container "side" (conflictPolicy: keep-pod)`]);
    assert.deepEqual(envOf(d.pod, 'containers', 'side'), [
      { name: 'MODE', value: 'loud' },
      { name: 'AGENT', value: 'on' },
    ]);
    // Every profile stays in the record, the one not extended as it was.
    assert.deepEqual(recorded(d)?.profiles, [
      { ...recorded(first)?.profiles[0], targets: { app: { env: ['AGENT', 'MODE'] }, side: { env: ['AGENT'] } } },
      recorded(first)?.profiles[1],
    ]);
  });

  test('several profiles extended to several new containers are all named', () => {
    const set = agentAndLogs();
    const first = inject(annotated('agent, logs', { containers: [app] }), set, ctx);
    const d = inject(
      grown(first, {
        containers: [
          { name: 'late-a', image: 'l' },
          { name: 'late-b', image: 'l' },
        ],
      }),
      set,
      ctx,
    );
    assert.deepEqual([d.outcome, d.reason, d.message], ['injected', 'injected', 'extended agent, logs to new containers']);
    assert.deepEqual(
      d.profiles.map((o) => o.message),
      [
        'profile "agent" extended to container(s) added after injection: late-a, late-b',
        'profile "logs" extended to container(s) added after injection: late-a, late-b',
      ],
    );
    assert.deepEqual(d.warnings, []);
  });

  test('the record lists what the extension created, and only that, when injection created nothing before', () => {
    const set = agentAndLogs();
    const first = inject(annotated('agent, logs', { containers: [app] }), set, ctx);
    assert.equal(recorded(first)?.created, undefined);
    const d = inject(grown(first, { containers: [{ name: 'late', image: 'l' }] }), set, ctx);
    assert.equal(d.outcome, 'injected', d.message);
    assert.deepEqual(recorded(d)?.created, ['spec.containers[late].env']);
    const u = uninject(d.pod);
    assert.ok(u.ok);
    assert.deepEqual((u.pod.spec as JsonObject).containers, [app, { name: 'late', image: 'l' }]);
  });

  test('a profile that fails to extend (failurePolicy ignore) is noted in its own place while the others are extended', () => {
    const set = agentAndLogs({ failurePolicy: 'ignore' });
    const first = inject(annotated('agent, logs', { containers: [app] }), set, ctx);
    const d = inject(grown(first, { containers: [{ name: 'late', image: 'l', env: [{ name: 'LOG_DIR', value: '/tmp' }] }] }), set, ctx);
    assert.deepEqual([d.outcome, d.reason, d.message], ['injected', 'injected', 'extended agent to new containers']);
    const failure =
      'profile "logs" cannot be extended to new containers: it adds env "LOG_DIR" in container "late", but that container already sets "LOG_DIR" differently (conflictPolicy: fail)';
    assert.deepEqual(d.profiles, [
      { profile: 'agent', reason: 'injected', message: 'profile "agent" extended to container(s) added after injection: late', version: '1' },
      { profile: 'logs', reason: 'name-conflict', message: failure, version: '2' },
    ]);
    assert.deepEqual(d.warnings, [`${failure} (the pod is admitted without it: failurePolicy ignore)`]);
    assert.deepEqual(
      recorded(d)?.profiles.map((r) => [r.name, Object.keys(r.targets ?? {})]),
      [
        ['agent', ['app', 'late']],
        ['logs', []],
      ],
    );
  });

  test('a profile with failurePolicy fail that cannot be extended denies the pod, with every profile’s outcome', () => {
    const set = agentAndLogs();
    const first = inject(annotated('agent, logs', { containers: [app] }), set, ctx);
    const d = inject(grown(first, { containers: [{ name: 'late', image: 'l', env: [{ name: 'LOG_DIR', value: '/tmp' }] }] }), set, ctx);
    const failure =
      'profile "logs" cannot be extended to new containers: it adds env "LOG_DIR" in container "late", but that container already sets "LOG_DIR" differently (conflictPolicy: fail)';
    assert.deepEqual([d.outcome, d.reason, d.message], ['denied', 'name-conflict', failure]);
    assert.deepEqual(
      d.profiles.map((o) => [o.profile, o.reason]),
      [
        ['agent', 'injected'],
        ['logs', 'name-conflict'],
      ],
    );
    assert.deepEqual(d.warnings, []);
    assert.deepEqual(d.patch, []);
  });

  test('when the only extension fails (failurePolicy ignore), the pod is admitted unchanged, headed by that failure', () => {
    const set = profilesFromYaml(
      profileYaml('logs', { version: '2', failurePolicy: 'ignore', env: [{ name: 'LOG_DIR', value: '/var/log' }], targets: ['late*'] }),
    );
    // The unknown profile is an error outcome of its own, ahead of the extension's.
    const first = inject(annotated('nope, logs', { containers: [app] }), set, ctx);
    assert.equal(first.outcome, 'injected', first.message);
    const d = inject(grown(first, { containers: [{ name: 'late', image: 'l', env: [{ name: 'LOG_DIR', value: '/tmp' }] }] }), set, ctx);
    const failure =
      'profile "logs" cannot be extended to new containers: it adds env "LOG_DIR" in container "late", but that container already sets "LOG_DIR" differently (conflictPolicy: fail)';
    assert.deepEqual([d.outcome, d.reason, d.message], ['unchanged', 'name-conflict', failure]);
    assert.deepEqual(
      d.profiles.map((o) => [o.profile, o.reason]),
      [
        ['nope', 'unknown-profile'],
        ['logs', 'name-conflict'],
      ],
    );
    assert.deepEqual(d.patch, []);
  });
});

describe('which containers are new', () => {
  test('a new init container is extended too when the profile targets init containers, next to a new container', () => {
    const set = profilesFromYaml(profileYaml('agent', { version: '1', env: [{ name: 'AGENT', value: 'on' }], initContainerTargets: ['*'] }));
    const first = inject(annotated('agent', { initContainers: [{ name: 'setup', image: 's' }], containers: [{ name: 'app', image: 'a' }] }), set, ctx);
    assert.equal(first.outcome, 'injected', first.message);
    const d = inject(grown(first, { containers: [{ name: 'late', image: 'l' }], initContainers: [{ name: 'migrate', image: 'm' }] }), set, ctx);
    assert.deepEqual([d.outcome, d.message], ['injected', 'extended agent to new containers']);
    assert.equal(d.profiles[0]?.message, 'profile "agent" extended to container(s) added after injection: late, migrate');
    assert.deepEqual(envOf(d.pod, 'initContainers', 'migrate'), [{ name: 'AGENT', value: 'on' }]);
    const r = recorded(d)?.profiles[0];
    assert.deepEqual(r?.targets, { app: { env: ['AGENT'] }, late: { env: ['AGENT'] } });
    assert.deepEqual(r?.initTargets, { setup: { env: ['AGENT'] }, migrate: { env: ['AGENT'] } });
  });

  test('a new init container alone is extended', () => {
    const set = profilesFromYaml(profileYaml('agent', { version: '1', env: [{ name: 'AGENT', value: 'on' }], initContainerTargets: ['*'] }));
    const first = inject(annotated('agent', { containers: [{ name: 'app', image: 'a' }] }), set, ctx);
    const d = inject(grown(first, { initContainers: [{ name: 'migrate', image: 'm' }] }), set, ctx);
    assert.equal(d.outcome, 'injected', d.message);
    assert.deepEqual(recorded(d)?.profiles[0]?.initTargets, { migrate: { env: ['AGENT'] } });
  });

  test('the profile’s own sidecar among the init containers is not a new container', () => {
    const set = profilesFromYaml(
      profileYaml('agent', {
        version: '1',
        sidecarMode: 'native',
        containers: [{ name: 'agent', image: 'example.com/agent:1' }],
        env: [{ name: 'AGENT', value: 'on' }],
        initContainerTargets: ['*'],
      }),
    );
    const first = inject(annotated('agent', { initContainers: [{ name: 'setup', image: 's' }], containers: [{ name: 'app', image: 'a' }] }), set, ctx);
    assert.equal(first.outcome, 'injected', first.message);
    assert.deepEqual(
      ((first.pod.spec as JsonObject).initContainers as JsonObject[]).map((c) => c.name),
      ['agent', 'setup'],
    );
    const d = inject(first.pod, set, ctx);
    assert.deepEqual([d.outcome, d.reason], ['unchanged', 'already-injected']);
  });

  test('a new container the profile does not target, or one already carrying its env, leaves the pod as it is', () => {
    const set = profilesFromYaml(profileYaml('agent', { version: '1', env: [{ name: 'AGENT', value: 'on' }], targets: ['app*'] }));
    const first = inject(annotated('agent', { containers: [{ name: 'app', image: 'a' }] }), set, ctx);
    const lates: JsonObject[] = [
      { name: 'other', image: 'o' },
      { name: 'app-late', image: 'l', env: [{ name: 'AGENT', value: 'on' }] },
    ];
    for (const late of lates) {
      const d = inject(grown(first, { containers: [late] }), set, ctx);
      assert.deepEqual(
        [d.outcome, d.reason, d.message],
        ['unchanged', 'already-injected', 'The pod already carries this profile at its current version; nothing to do.'],
        String(late.name),
      );
      assert.deepEqual(d.profiles, [
        { profile: 'agent', reason: 'already-injected', message: 'profile "agent" is already injected at version 1', version: '1' },
      ]);
    }
  });

  test('a profile with only envFrom, or only volume mounts, is extended too', () => {
    for (const spec of [
      { envFrom: [{ configMapRef: { name: 'settings' } }] },
      { volumes: [{ name: 'data', emptyDir: {} }], volumeMounts: [{ name: 'data', mountPath: '/data' }] },
    ]) {
      const set = profilesFromYaml(profileYaml('agent', { version: '1', ...spec }));
      const first = inject(annotated('agent', { containers: [{ name: 'app', image: 'a' }] }), set, ctx);
      assert.equal(first.outcome, 'injected', first.message);
      const d = inject(grown(first, { containers: [{ name: 'late', image: 'l' }] }), set, ctx);
      assert.deepEqual([d.outcome, d.message], ['injected', 'extended agent to new containers'], JSON.stringify(spec));
      const late = ((d.pod.spec as JsonObject).containers as JsonObject[])[1];
      assert.deepEqual(late?.envFrom ?? late?.volumeMounts, spec.envFrom ?? spec.volumeMounts);
    }
  });
});

describe('the extended pod stays one the API server accepts', () => {
  /** The pod injected with `set`, grown by a container `late`, `headroom` bytes below the size the API server stores. */
  function nearSizeLimit(set: ProfileSet, headroom: number): JsonObject {
    const make = (n: number) => annotated('agent', { containers: [{ name: 'app', image: 'a', args: ['x'.repeat(n)] }] });
    const late = { name: 'late', image: 'l' };
    const grownAt = (n: number) => grown(inject(make(n), set, ctx), { containers: [late] });
    const pod = grownAt(MAX_OBJECT_BYTES - headroom - JSON.stringify(grownAt(0)).length);
    assert.equal(JSON.stringify(pod).length, MAX_OBJECT_BYTES - headroom);
    return pod;
  }

  test('an extension that would take the pod over the size the API server stores fails, denying the pod (failurePolicy fail)', () => {
    const set = profilesFromYaml(profileYaml('agent', { version: '1', env: [{ name: 'AGENT', value: 'v'.repeat(2000) }] }));
    const d = inject(nearSizeLimit(set, 1000), set, ctx);
    assert.deepEqual([d.outcome, d.reason], ['denied', 'invalid-result']);
    assert.match(
      d.message,
      /^profile "agent" cannot be extended to new containers: the pod would be about \d+ bytes as JSON, more than the 1572864 the API server stores/,
    );
  });

  test('only the env, envFrom and mounts an extension adds count toward the size, not the sidecars already in the pod', () => {
    const set = profilesFromYaml(
      profileYaml('agent', {
        version: '1',
        sidecarMode: 'native',
        containers: [{ name: 'agent', image: 'example.com/agent:1', args: ['y'.repeat(100_000)] }],
        env: [{ name: 'AGENT', value: 'on' }],
      }),
    );
    const d = inject(nearSizeLimit(set, 1000), set, ctx);
    assert.deepEqual([d.outcome, d.message], ['injected', 'extended agent to new containers']);
  });

  test('an extension the API server would reject fails with the problem it introduced, not the pod’s own', () => {
    const set = profilesFromYaml(profileYaml('agent', { version: '1', volumeMounts: [{ name: 'shared', mountPath: '/shared' }] }));
    const first = inject(annotated('agent', { volumes: [{ name: 'shared', emptyDir: {} }], containers: [{ name: 'app', image: 'a' }] }), set, ctx);
    assert.equal(first.outcome, 'injected', first.message);
    // Another webhook dropped the volume: the container already mounting it is the pod's own problem.
    const { volumes: _, ...spec } = grown(first, {
      containers: [
        { name: 'late', image: 'l' },
        { name: 'later', image: 'l' },
      ],
    }).spec as JsonObject;
    const d = inject({ ...first.pod, spec }, set, ctx);
    assert.deepEqual(
      [d.outcome, d.reason, d.message],
      [
        'denied',
        'invalid-result',
        'profile "agent" cannot be extended to new containers: the API server would reject the pod: ' +
          'container "late": volumeMount "shared" names a volume the pod does not have; container "later": volumeMount "shared" names a volume the pod does not have',
      ],
    );
  });

  test('when the record of an extension would be too large, only the profiles it extended fail for that', () => {
    const set = profilesFromYaml(
      [
        // A long env name makes each target's entry in the record long.
        profileYaml('agent', { version: '1', failurePolicy: 'ignore', env: [{ name: 'A'.repeat(2000), value: '1' }], targets: ['late-*'] }),
        profileYaml('logs', { version: '1', failurePolicy: 'ignore', env: [{ name: 'LOG_DIR', value: '/var/log' }], targets: ['late-*'] }),
      ].join('\n---\n'),
    );
    const first = inject(annotated('agent, logs', { containers: [{ name: 'app', image: 'a' }] }), set, ctx);
    assert.equal(first.outcome, 'injected', first.message);
    const late = Array.from({ length: 200 }, (_, i) => ({ name: `late-${i}`, image: 'l', ...(i === 0 ? { env: [{ name: 'LOG_DIR', value: '/tmp' }] } : {}) }));
    const d = inject(grown(first, { containers: late }), set, ctx);
    const tooLarge = `profile "agent" cannot be extended to new containers: ${RECORD_TOO_LARGE}`;
    const conflict =
      'profile "logs" cannot be extended to new containers: it adds env "LOG_DIR" in container "late-0", but that container already sets "LOG_DIR" differently (conflictPolicy: fail)';
    assert.deepEqual([d.outcome, d.reason, d.message], ['unchanged', 'name-conflict', conflict]);
    assert.deepEqual(
      d.profiles.map((o) => [o.profile, o.reason, o.message]),
      [
        ['agent', 'invalid-result', tooLarge],
        ['logs', 'name-conflict', conflict],
      ],
    );
    assert.deepEqual(
      d.warnings,
      [conflict, tooLarge].map((m) => `${m} (the pod is admitted without it: failurePolicy ignore)`),
    );
  });

  test('a pod with problems of its own is still extended', () => {
    const set = profilesFromYaml(profileYaml('agent', { version: '1', env: [{ name: 'AGENT', value: 'on' }] }));
    const broken = { name: 'app', image: 'a', volumeMounts: [{ name: 'missing', mountPath: '/m' }] };
    const first = inject(annotated('agent', { containers: [broken] }), set, ctx);
    assert.equal(first.outcome, 'injected', first.message);
    const d = inject(grown(first, { containers: [{ name: 'late', image: 'l' }] }), set, ctx);
    assert.deepEqual([d.outcome, d.message], ['injected', 'extended agent to new containers']);
  });
});

describe('rendering for an extension', () => {
  // Called directly, to hand it an admission whose render budget earlier steps have spent.
  const spent = () => ({ ...renderBudget(), left: 0 });
  const keep = (pod: JsonObject, set: ProfileSet, context: InjectContext = ctx, budget = spent()) => {
    const status = readStatus(pod).status as StatusRecord;
    const kept = { pod, base: removeRecorded(pod, status), status, wanted: set.profiles, ctx: context, budget };
    return keepOrExtend(kept, noNotes(), patchReproducesPod);
  };
  const templated = (spec: object) => profilesFromYaml(profileYaml('agent', { version: '1', ...spec }));
  const targeted = templated({ env: [{ name: 'POD', value: '{{ pod.name }}' }], targets: ['app*'] });

  test('a profile whose templates the admission can no longer pay for fails to extend with a template error', () => {
    const first = inject(annotated('agent', { containers: [{ name: 'app', image: 'a' }] }), targeted, ctx);
    assert.equal(first.outcome, 'injected', first.message);
    const d = keep(grown(first, { containers: [{ name: 'app-late', image: 'l' }] }), targeted);
    assert.deepEqual(
      [d.outcome, d.reason, d.message],
      [
        'denied',
        'template-error',
        'profile "agent" cannot be extended to new containers: spec: the templates of the profiles this pod requests render more than 1048576 characters together',
      ],
    );
  });

  test('nothing is rendered when no new container is targeted: the pod is kept as it is', () => {
    const sidecarOnly = templated({ sidecarMode: 'native', containers: [{ name: 'agent', image: 'example.com/agent:1', args: ['--pod={{ pod.name }}'] }] });
    const cases: [string, ProfileSet, JsonObject[]][] = [
      ['no new container', targeted, []],
      ['a new container the profile does not target', targeted, [{ name: 'other', image: 'o' }]],
      ['a profile with nothing to give a container', sidecarOnly, [{ name: 'app-late', image: 'l' }]],
    ];
    for (const [what, set, containers] of cases) {
      const first = inject(annotated('agent', { containers: [{ name: 'app', image: 'a' }] }), set, ctx);
      assert.equal(first.outcome, 'injected', first.message);
      const d = keep(grown(first, { containers }), set);
      assert.deepEqual([d.outcome, d.reason], ['unchanged', 'already-injected'], what);
    }
  });

  test('an error that is not a template’s is not taken for the profile’s failure', () => {
    const first = inject(annotated('agent', { containers: [{ name: 'app', image: 'a' }] }), targeted, ctx);
    const failing: InjectContext = {
      ...ctx,
      get namespaceLabels(): Record<string, string> {
        throw new Error('namespace labels unavailable');
      },
    };
    assert.throws(
      () => keep(grown(first, { containers: [{ name: 'app-late', image: 'l' }] }), targeted, failing, renderBudget()),
      /namespace labels unavailable/,
    );
  });
});
