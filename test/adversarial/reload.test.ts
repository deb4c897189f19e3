/**
 * A profile file rewritten in place, non-atomically and without end (as `kubectl cp`, an editor or
 * a config agent writes), while admissions stream. Each rewrite passes through states that are
 * valid YAML but lack the mandatory profile (empty, or cut after the first document). Outrigger
 * must never serve one of them: once the mandatory profile is loaded, every admission gets it; and
 * once the writer stops, the server is back in sync with the file.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodePatch, EXAMPLE_PROFILES, pod, review, send } from '../support/webhook.ts';
import { assertWithinBudget, startTarget, type Target, underAttack } from './support.ts';

const RUN_MS = 15_000;

// A plain profile first, then the mandatory one, which selects the test's pods by label.
const PLATFORM = `apiVersion: outrigger.dev/v1alpha1
kind: SidecarProfile
metadata:
  name: metrics
spec:
  version: "1"
  sidecarMode: classic
  containers:
    - {name: metrics, image: "example.com/metrics:1"}
---
apiVersion: outrigger.dev/v1alpha1
kind: SidecarProfile
metadata:
  name: policy
spec:
  version: "1"
  mandatory: true
  selector: {podSelector: {matchLabels: {app: shop-frontend}}}
  sidecarMode: classic
  containers:
    - {name: policy, image: "example.com/policy:1"}
`;

let t: Target;
before(async () => {
  t = await startTarget({
    profiles: { 'log-shipper.yaml': readFileSync(join(EXAMPLE_PROFILES, 'log-shipper.yaml'), 'utf8'), 'platform.yaml': PLATFORM },
    args: ['--reload-interval', '100ms'],
  });
});
after(() => t.stop());

/** Rewrites the file in place line by line (truncate, then a few lines per write) until stopped. */
async function rewriteForever(file: string, stop: () => boolean): Promise<number> {
  const lines = PLATFORM.split(/(?<=\n)/);
  let rewrites = 0;
  while (!stop()) {
    const fh = await open(file, 'w'); // truncates: the file is empty now, and that parses
    try {
      for (let i = 0; i < lines.length; ) {
        const n = 1 + Math.floor(Math.random() * 4);
        await fh.write(lines.slice(i, i + n).join(''));
        i += n;
        await sleep(Math.floor(Math.random() * 4));
      }
    } finally {
      await fh.close();
    }
    rewrites++;
    await sleep(Math.floor(Math.random() * 3));
  }
  return rewrites;
}

/** Reviews a pod that asks for nothing; the mandatory profile selects it. */
async function streamReviews(stop: () => boolean): Promise<{ admitted: number; withoutPolicy: string[] }> {
  const agent = new Agent({ keepAlive: true, ca: t.caPem, maxSockets: 1 });
  const body = JSON.stringify(review(pod()));
  let admitted = 0;
  const withoutPolicy: string[] = [];
  try {
    while (!stop()) {
      const r = await send(t.port, { agent, body });
      const resp = (r.json().response ?? {}) as { allowed?: boolean; patch?: string };
      admitted++;
      const containers = resp.patch ? JSON.stringify(decodePatch(resp.patch)) : '';
      if (r.status !== 200 || resp.allowed !== true || !containers.includes('example.com/policy:1')) withoutPolicy.push(r.text.slice(0, 300));
      await sleep(1); // a steady stream, not a saturating one: the probes measure the reload, not a queue
    }
  } finally {
    agent.destroy();
  }
  return { admitted, withoutPolicy };
}

test('a profile file rewritten non-atomically in a loop: no admission is ever served without the mandatory profile', async (tc) => {
  const file = join(t.profilesDir, 'platform.yaml');
  const end = Date.now() + RUN_MS;
  const stop = () => Date.now() >= end;
  const { result, watch } = await underAttack(t, () => Promise.all([rewriteForever(file, stop), streamReviews(stop), streamReviews(stop)]));
  const [rewrites, ...streams] = result;
  const admitted = streams.reduce((n, s) => n + s.admitted, 0);
  const withoutPolicy = streams.flatMap((s) => s.withoutPolicy);
  tc.diagnostic(
    `${rewrites} rewrites, ${admitted} admissions, ${withoutPolicy.length} without the mandatory profile; probes ${watch.probes}, longest healthz ${watch.maxHealthzMs.toFixed(1)} ms, review ${watch.maxReviewMs.toFixed(1)} ms, peak RSS ${(watch.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  assert.ok(rewrites > 100, `${rewrites} rewrites`);
  assert.ok(admitted > 100, `${admitted} admissions`);
  assert.deepEqual(withoutPolicy.slice(0, 3), [], `${withoutPolicy.length} of ${admitted} admissions without the mandatory profile`);
  assertWithinBudget(watch);

  // The writer has stopped with the whole file on disk: served = disk again (poll + quiet period).
  const agent = new Agent({ keepAlive: true, ca: t.caPem, maxSockets: 1 });
  try {
    let detail: { inSync?: boolean; loaded?: string[] } = {};
    for (let i = 0; i < 100 && detail.inSync !== true; i++) {
      await sleep(100);
      detail = ((await send(t.adminPort, { agent, method: 'GET', path: '/readyz?verbose' })).json() as { profiles: typeof detail }).profiles;
    }
    assert.equal(detail.inSync, true, 'in sync with the file within poll + quiet period');
    assert.deepEqual(detail.loaded, ['log-shipper@2.1.0', 'metrics@1', 'policy@1']);
    const metrics = (await send(t.port, { agent, method: 'GET', path: '/metrics' })).text;
    assert.match(metrics, /^outrigger_profiles_in_sync 1$/m);
    assert.doesNotMatch(metrics, /^outrigger_profiles_reloads_total\{result="failure"\} [1-9]/m, 'no half-written state was even judged');
  } finally {
    agent.destroy();
  }
});
