/** Reading and filling the playground's panes in a browser page, and the CLI's output in the same shape. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { contextFlags, type RunContext } from '../../src/cli/offline-text.ts';
import { encodeFragment, type PlaygroundState } from '../../src/cli/playground-fragment.ts';
import { runCli } from './run-cli.ts';

/** What the panes show. */
export interface Panes {
  injectExit: string;
  injectStdout: string;
  injectStderr: string;
  explainExit: string;
  explainStdout: string;
  explainStderr: string;
}

export async function panes(page: Page): Promise<Panes> {
  const t = async (id: string) => (await page.textContent(`#${id}`)) ?? '';
  return {
    injectExit: await t('inject-exit'),
    injectStdout: await t('inject-stdout'),
    injectStderr: await t('inject-stderr'),
    explainExit: await t('explain-exit'),
    explainStdout: await t('explain-stdout'),
    explainStderr: await t('explain-stderr'),
  };
}

export const emptyContext: RunContext = { kubeVersion: '', namespace: '', labels: '', unknownProfiles: '' };
export const stateOf = (c: { profiles: string; workload: string; context: RunContext }): PlaygroundState => ({
  profiles: c.profiles,
  workload: c.workload,
  context: { ...emptyContext, ...c.context },
});

/**
 * Types the case into the panes and waits until the page has run on exactly that input (it writes
 * the fragment after each run). Returns the input as the page holds it: a textarea keeps line
 * breaks as LF only, so a CRLF file is what the CLI is then given too.
 */
export async function enter(page: Page, c: PlaygroundState): Promise<PlaygroundState> {
  await page.fill('#profiles', c.profiles);
  await page.fill('#workload', c.workload);
  await page.fill('#kube-version', c.context.kubeVersion);
  await page.fill('#namespace', c.context.namespace);
  await page.fill('#labels', c.context.labels);
  await page.selectOption('#unknown-profiles', c.context.unknownProfiles ?? '');
  const held: PlaygroundState = { ...c, profiles: await page.inputValue('#profiles'), workload: await page.inputValue('#workload') };
  assert.equal(held.workload, c.workload.replaceAll('\r\n', '\n'));
  await page
    .waitForFunction((hash) => location.hash === hash, encodeFragment(held), { timeout: 20_000 })
    .catch(async (e: Error) => {
      throw new Error(`the page did not run on the input (${e.message}); its inject pane says: ${await page.textContent('#inject-stderr')}`);
    });
  return held;
}

/** The CLI on the same files, named as the page names them, in `work`, a directory of their own. */
export async function cliPanes(work: string, c: PlaygroundState): Promise<Panes> {
  writeFileSync(join(work, 'profiles.yaml'), c.profiles);
  writeFileSync(join(work, 'workload.yaml'), c.workload);
  const cwd = process.cwd();
  process.chdir(work);
  try {
    const args = ['-f', 'workload.yaml', '--profiles', 'profiles.yaml', ...contextFlags(c.context)];
    const inject = await runCli(['inject', ...args]);
    const explain = await runCli(['explain', ...args]);
    return {
      injectExit: `exit ${inject.code}`,
      injectStdout: inject.stdout,
      injectStderr: inject.stderr,
      explainExit: `exit ${explain.code}`,
      explainStdout: explain.stdout,
      explainStderr: explain.stderr,
    };
  } finally {
    process.chdir(cwd);
  }
}
