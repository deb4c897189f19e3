import assert from 'node:assert/strict';
import { test } from 'node:test';
import { profileYaml } from '../../test/support/profiles.ts';
import { makeCerts, pod, review, send, startTestServer } from '../../test/support/webhook.ts';
import { UsageError } from '../cli/options.ts';
import { parseServeArgs } from '../cli/serve-flags.ts';
import type { JsonObject } from '../engine/index.ts';

const mandatory = profileYaml('policy', {
  version: '1',
  mandatory: true,
  sidecarMode: 'classic',
  containers: [{ name: 'policy', image: 'example.com/policy:1' }],
});
const plain = profileYaml('logs', { version: '1', sidecarMode: 'classic', containers: [{ name: 'logs', image: 'example.com/logs:1' }] });

const metric = async (port: number, agent: import('node:https').Agent, series: string) => {
  const text = (await send(port, { agent, method: 'GET', path: '/metrics' })).text;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

test('--webhook-opt-out takes true or false', () => {
  const base = ['--profiles', 'p', '--tls-cert', 'c', '--tls-key', 'k'];
  const o = parseServeArgs([...base, '--webhook-opt-out=false']);
  assert.ok(o !== 'help' && o.webhookOptOut === false);
  const d = parseServeArgs(base);
  assert.ok(d !== 'help' && d.webhookOptOut === undefined);
  assert.throws(
    () => parseServeArgs([...base, '--webhook-opt-out=no']),
    (e: unknown) => e instanceof UsageError && /--webhook-opt-out: "no" must be true or false/.test(e.message),
  );
});

test('a mandatory profile behind the opt-out matchCondition is reported (log line, metric); with --webhook-opt-out=false it is not', async () => {
  for (const webhookOptOut of [undefined, false]) {
    const s = await startTestServer({
      certs: makeCerts(),
      profiles: { 'policy.yaml': mandatory, 'logs.yaml': plain },
      ...(webhookOptOut === false ? { webhookOptOut } : {}),
    });
    try {
      const warned = s.logs.find('mandatory profiles can be skipped by pods');
      const gauge = await metric(s.port, s.agent, 'outrigger_profiles_mandatory_bypassable');
      if (webhookOptOut === undefined) {
        assert.equal(warned.length, 1);
        assert.deepEqual(warned[0]?.profiles, ['policy']);
        assert.match(String(warned[0]?.reason), /--no-opt-out-condition/);
        assert.equal(gauge, 1);
      } else {
        assert.equal(warned.length, 0);
        assert.equal(gauge, 0);
      }
      // The engine still applies mandatory to a pod that does reach it.
      const r = await send(s.port, { agent: s.agent, body: JSON.stringify(review(pod({ 'outrigger.dev/inject': 'false' }))) });
      assert.equal((r.json().response as JsonObject).allowed, true);
    } finally {
      await s.stop();
    }
  }
});
