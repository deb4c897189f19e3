/** The record-size limit's two attempts, at their last branch: the mandatory profiles alone are still too large. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../../test/support/profiles.ts';
import type { JsonObject } from '../../common/json.ts';
import { inject } from '../inject.ts';

const v133 = { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } };
const pod = (n: number): JsonObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'many', annotations: { 'outrigger.dev/inject': 'agent, logs' } },
  spec: { containers: Array.from({ length: n }, (_, i) => ({ name: `app-${i}`, image: 'a' })) },
});
const set = profilesFromYaml(
  [
    profileYaml('agent', { version: '1', env: [{ name: 'AGENT', value: 'on' }], targets: ['app-*'] }),
    profileYaml('logs', { version: '1', failurePolicy: 'ignore', env: [{ name: 'LOG_DIR', value: '/var/log' }], targets: ['app-*'] }),
  ].join('\n---\n'),
);

test('when the failurePolicy fail profiles alone still make the record too large, the pod is denied and the dropped ones are noted', () => {
  const d = inject(pod(6000), set, v133);
  assert.equal(d.outcome, 'denied');
  assert.equal(d.reason, 'invalid-result');
  assert.match(d.message, /^cannot inject agent: the status record outrigger\.dev\/status would take/);
  assert.deepEqual(
    d.profiles.map((o) => [o.profile, o.reason]),
    [
      ['agent', 'invalid-result'],
      ['logs', 'invalid-result'],
    ],
  );
  assert.equal(d.warnings.length, 1);
  assert.match(d.warnings[0] ?? '', /^profile "logs" cannot be injected: the status record .* \(the pod is admitted without it: failurePolicy ignore\)$/);
  assert.deepEqual(d.patch, []);
});
