import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { specErrors as errorsOf, SPEC_HEADER as header } from '../../test/support/profiles.ts';
import { runCli } from '../../test/support/run-cli.ts';

test('cross-field container rules name the field', () => {
  assert.deepEqual(errorsOf('  containers: [{name: s, image: i, resources: {requests: {memory: 2Gi}, limits: {memory: 1Gi}}}]\n'), [
    'spec.containers[0].resources.requests.memory: "2Gi" must not be greater than spec.containers[0].resources.limits.memory ("1Gi")',
  ]);
  assert.deepEqual(errorsOf('  containers: [{name: s, image: i, resources: {requests: {cpu: 1000m}, limits: {cpu: 1}}}]\n'), []);
  assert.deepEqual(errorsOf('  containers: [{name: s, image: i, livenessProbe: {exec: {command: [x]}, httpGet: {port: 80}}}]\n'), [
    'spec.containers[0].livenessProbe: must have exactly one handler, not exec and httpGet',
  ]);
  assert.deepEqual(errorsOf('  containers: [{name: s, image: i, startupProbe: {tcpSocket: {port: 80}, successThreshold: 2}}]\n'), [
    'spec.containers[0].startupProbe.successThreshold: must be 1 for a startupProbe, not 2',
  ]);
  assert.deepEqual(errorsOf('  initContainers: [{name: s, image: i, lifecycle: {preStop: {sleep: {seconds: 1}}}}]\n'), [
    'spec.initContainers[0].lifecycle: is only allowed on init containers with restartPolicy "Always" (native sidecars)',
  ]);
  assert.deepEqual(errorsOf('  initContainers: [{name: s, image: i, restartPolicy: Always, lifecycle: {preStop: {sleep: {seconds: 1}}}}]\n'), []);
  assert.deepEqual(errorsOf('  containers: [{name: s, image: i, ports: [{name: http, containerPort: 80}, {name: http, containerPort: 81}]}]\n'), [
    'spec.containers[0].ports[1].name: "http" is already used by spec.containers[0].ports[0]',
  ]);
});

test('outrigger validate refuses the typos it used to call ok', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'outrigger-rules-'));
  try {
    const file = join(dir, 'p.yaml');
    writeFileSync(
      file,
      `${header}  containers:\n    - name: s\n      image: i\n      comand: [sh]\n      command: [true]\n      resource: {}\n      imagePullPolicy: Sometimes\n`,
    );
    const r = await runCli(['validate', '--profiles', file]);
    assert.equal(r.code, 3);
    for (const m of [
      'comand: unknown field (did you mean "command"?)',
      'command[0]: must be a string',
      'resource: unknown field (did you mean "resources"?)',
      'imagePullPolicy: must be one of',
    ])
      assert.ok(r.stderr.includes(m), m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
