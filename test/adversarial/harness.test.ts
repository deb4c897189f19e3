// The watcher itself: quiet when nothing happens, and it does see a stalled server (the process
// stopped with SIGSTOP), so a passing attack test means the probes really ran through the attack.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertWithinBudget, startTarget, type Target, underAttack } from './support.ts';

let t: Target;
before(async () => {
  t = await startTarget();
});
after(() => t.stop());

test('with no attack, every probe is answered correctly within budget', async () => {
  const { watch } = await underAttack(t, () => new Promise((r) => setTimeout(r, 300)));
  assert.ok(watch.probes >= 3, `${watch.probes} probes`);
  assertWithinBudget(watch);
});

test('a stalled server shows as a long probe', async () => {
  const { watch } = await underAttack(t, async () => {
    await new Promise((r) => setTimeout(r, 50));
    process.kill(t.pid, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 400));
    process.kill(t.pid, 'SIGCONT');
    await new Promise((r) => setTimeout(r, 100));
  });
  assert.deepEqual(watch.failures, []);
  assert.ok(Math.max(watch.maxHealthzMs, watch.maxReviewMs) >= 300, `longest probe ${Math.max(watch.maxHealthzMs, watch.maxReviewMs)} ms`);
  assert.throws(() => assertWithinBudget(watch), /took/);
});
