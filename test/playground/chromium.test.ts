/** The test browser leaves no process behind: closed normally, and when it has died under the test. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chromiumProblem, launchChromium } from '../support/chromium.ts';
import { processAlive } from '../support/processes.ts';

describe('the test browser', { skip: chromiumProblem() ?? false }, () => {
  test('close() ends every process it started', async () => {
    const b = await launchChromium();
    try {
      assert.ok(b.pids.length > 0, 'the launch started a process');
      const page = await b.browser.newPage();
      await page.setContent('<p>x</p>');
    } finally {
      await b.close();
    }
    assert.deepEqual(
      b.pids.filter((p) => processAlive(p)),
      [],
    );
  });

  test('a browser killed under the test still closes without error or hang, leaving nothing', async () => {
    const b = await launchChromium();
    for (const p of b.pids) process.kill(p, 'SIGKILL');
    await b.close();
    await b.close();
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      b.pids.filter((p) => processAlive(p)),
      [],
    );
  });
});
