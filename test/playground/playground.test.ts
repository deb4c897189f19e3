/**
 * The playground in real headless Chromium, served by `outrigger playground`'s own server: what
 * its panes show is what the CLI prints for the same files and flags, on every golden case and
 * every corpus pod; errors are shown where they are; the input survives a reload through the URL
 * fragment; the copied command, run in a shell, prints the same; the page works from file://
 * and asks nothing of any other origin.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { bundlePlayground, type PlaygroundFile } from '../../src/cli/playground-bundle.ts';
import { encodeFragment, type PlaygroundState } from '../../src/cli/playground-fragment.ts';
import { type PlaygroundServer, startPlaygroundServer } from '../../src/cli/playground-server.ts';
import { REPO } from '../support/built-package.ts';
import { chromiumProblem, launchChromium, type TestBrowser } from '../support/chromium.ts';
import { corpusCases, exampleProfilesText, goldenCases, HAVE_CORPUS, type PlaygroundCase } from '../support/playground-cases.ts';
import { cliPanes, emptyContext, enter, type Panes, panes, stateOf } from '../support/playground-page.ts';
import { tempDir } from '../support/webhook.ts';

const problem = chromiumProblem();
const ARTIFACTS = join(REPO, '.cache/playground');

describe('the playground in headless Chromium', { skip: problem ?? false }, () => {
  let chromium: TestBrowser;
  let server: PlaygroundServer;
  let context: BrowserContext;
  let page: Page;
  let files: PlaygroundFile[];
  const tmp = tempDir('outrigger-playground-');
  const work = join(tmp.dir, 'work');
  /** Requests to anything but the page's own server, and CSP violations or page errors. */
  const foreign: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    mkdirSync(work);
    mkdirSync(ARTIFACTS, { recursive: true });
    files = await bundlePlayground();
    server = await startPlaygroundServer(files, '127.0.0.1', 0);
    chromium = await launchChromium();
    context = await chromium.browser.newContext({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url.replace(/\/$/, '') });
    context.on('request', (r) => {
      if (!r.url().startsWith(server.url) && !r.url().startsWith('blob:') && !r.url().startsWith('file://')) foreign.push(r.url());
    });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    await page.goto(server.url);
    await page.waitForSelector('body[data-runs]');
  });

  after(async () => {
    await chromium?.close();
    await server?.close();
    tmp.cleanup();
  });

  const cli = (c: PlaygroundState) => cliPanes(work, c);

  async function sameAsCli(c: PlaygroundCase): Promise<Panes> {
    const state = await enter(page, stateOf(c));
    const shown = await panes(page);
    assert.deepEqual(shown, await cli(state), c.name);
    return shown;
  }

  test('it opens on the first example and runs it, with no error and no request elsewhere', async () => {
    const options = await page.$$eval('#examples option', (o) => o.map((e) => e.textContent));
    assert.ok(options.includes('examples/workloads/shop.yaml'), options.join('\n'));
    assert.equal(await page.inputValue('#profiles'), exampleProfilesText());
    assert.match((await panes(page)).explainStdout, /^WORKLOAD +OUTCOME/);
    assert.deepEqual(pageErrors, []);
  });

  for (const c of goldenCases()) test(`${c.name}: the panes are what the CLI prints`, async () => void (await sameAsCli(c)));

  test('every corpus pod: the panes are what the CLI prints', { skip: !HAVE_CORPUS && !process.env.CI ? 'no shared corpus' : false }, async () => {
    const cases = corpusCases();
    assert.ok(cases.length > 50, `only ${cases.length} corpus files with pods`);
    let injected = 0;
    for (const c of cases) if ((await sameAsCli(c)).injectStdout.includes('outrigger.dev/status')) injected++;
    assert.ok(injected > 50, `only ${injected} corpus files injected`);
  });

  test('the diff pane and the patch pane follow the output', async () => {
    const c = goldenCases().find((g) => g.name === 'golden/classic-1.28') as PlaygroundCase;
    await enter(page, stateOf(c));
    const added = await page.$$eval('#diff tr.added td.right', (tds) => tds.map((t) => t.textContent));
    assert.ok(added.includes('    - name: log-shipper'), added.join('\n'));
    assert.ok((await page.$$('#diff tr.same')).length > 5);
    const patch = (await page.textContent('#patch')) ?? '';
    assert.match(patch, /^# workload\.yaml, document 1: Pod batch\/worker-\* \(injected\)\n\[/);
    assert.match(patch, /"op": "add"/);
  });

  test('a profile error is shown with its document, field path and line', async () => {
    const profiles = `${exampleProfilesText()}---\napiVersion: outrigger.dev/v1alpha1\nkind: SidecarProfile\nmetadata: {name: bad}\nspec:\n  version: "1"\n  containers:\n    - name: c\n      image: i\n      comand: [x]\n`;
    const line = profiles.split('\n').indexOf('      comand: [x]') + 1;
    await enter(page, stateOf({ profiles, workload: goldenCases()[0]?.workload ?? '', context: emptyContext }));
    const errors = await page.$$eval('#profile-errors li', (lis) => lis.map((li) => ({ ...li.dataset, text: li.textContent })));
    assert.deepEqual(errors, [
      {
        document: '4',
        path: 'spec.containers[0].comand',
        line: String(line),
        text: `line ${line} · document 4 · spec.containers[0].comand: unknown field (did you mean "command"?)`,
      },
    ]);
    assert.equal((await panes(page)).injectExit, 'exit 3');
    assert.equal(await page.textContent('#workload-error'), '');

    await enter(page, stateOf({ profiles: 'kind: [\n', workload: 'kind: Pod\n', context: emptyContext }));
    const syntax = await page.$$eval('#profile-errors li', (lis) => lis.map((li) => ({ ...li.dataset })));
    assert.equal(syntax.length, 1);
    assert.equal(syntax[0]?.document, '1');
    assert.ok(Number(syntax[0]?.line) >= 1, JSON.stringify(syntax));
  });

  test('a bad workload and a bad context say why, where they are entered', async () => {
    const profiles = exampleProfilesText();
    await enter(page, stateOf({ profiles, workload: 'apiVersion: v1\nkind: Pod\n---\nmetadata: {a: 1, a: 2}\n', context: emptyContext }));
    assert.match((await page.textContent('#workload-error')) ?? '', /^error: workload\.yaml, document 2 \(line 4\): key "a" is set twice in one mapping$/);
    assert.deepEqual(await page.$$('#profile-errors li'), []);
    await enter(page, stateOf({ profiles, workload: '# nothing\n', context: emptyContext }));
    assert.match((await page.textContent('#workload-error')) ?? '', /workload\.yaml: no objects in the file/);
    await enter(page, stateOf({ profiles, workload: 'kind: Pod\n', context: { ...emptyContext, labels: 'team\n' } }));
    assert.match((await page.textContent('#context-error')) ?? '', /^error: --namespace-label: "team" must be KEY=VALUE/);
    assert.equal((await panes(page)).injectExit, 'exit 2');
  });

  test('the input round-trips through the URL fragment: a reload and a new tab show the same panes', async () => {
    const c = goldenCases().find((g) => g.name === 'golden/selector-and-mandatory') as PlaygroundCase;
    await enter(page, stateOf(c));
    const shown = await panes(page);
    const url = page.url();
    assert.equal(new URL(url).hash, encodeFragment(stateOf(c)));
    await page.reload();
    await page.waitForSelector('body[data-runs]');
    assert.deepEqual(await panes(page), shown);
    assert.equal(await page.inputValue('#labels'), c.context.labels);
    const other = await context.newPage();
    try {
      await other.goto(url);
      await other.waitForSelector('body[data-runs]');
      assert.deepEqual(await panes(other), shown);
      assert.equal(await other.inputValue('#kube-version'), c.context.kubeVersion);
    } finally {
      await other.close();
    }
  });

  test('the copied command, run in a shell on the saved panes, prints what the inject pane shows', async () => {
    const c = goldenCases().find((g) => g.name === 'golden/selector-and-mandatory') as PlaygroundCase;
    await enter(page, stateOf(c));
    await page.click('#copy-command');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, await page.textContent('#command'));
    assert.match(copied, /^outrigger inject -f workload\.yaml --profiles profiles\.yaml --namespace payments --namespace-label/);
    // The save buttons give the files the command reads.
    const dir = join(tmp.dir, 'shell');
    mkdirSync(join(dir, 'bin'), { recursive: true });
    for (const [button, name] of [
      ['#save-profiles', 'profiles.yaml'],
      ['#save-workload', 'workload.yaml'],
    ] as const) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
      assert.equal(download.suggestedFilename(), name);
      await download.saveAs(join(dir, name));
    }
    // `outrigger` on PATH is this checkout's CLI, as `npm run outrigger` runs it.
    writeFileSync(join(dir, 'bin/outrigger'), `#!/bin/sh\nexec '${process.execPath}' '${join(REPO, 'src/cli/main.ts')}' "$@"\n`);
    chmodSync(join(dir, 'bin/outrigger'), 0o755);
    const shell = spawnSync('sh', ['-c', copied], { cwd: dir, env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}` }, encoding: 'utf8' });
    const shown = await panes(page);
    assert.deepEqual([`exit ${shell.status}`, shell.stdout, shell.stderr], [shown.injectExit, shown.injectStdout, shown.injectStderr]);
    assert.match(shown.injectStderr, /^warning: /, 'the case has a warning, so stderr is compared too');
  });

  test('typing in a pane runs the engine again: a Kubernetes version before 1.29 gives classic sidecars', async () => {
    const golden = goldenCases().find((g) => g.name === 'golden/classic-1.28') as PlaygroundCase;
    const c = { ...golden, context: emptyContext };
    await enter(page, stateOf(c));
    assert.match((await panes(page)).injectStdout, /"mode":"native"/);
    await page.click('#kube-version');
    await page.keyboard.type('1.28');
    await page.waitForFunction(() => document.querySelector('#inject-stdout')?.textContent?.includes('"mode":"classic"'));
    assert.match((await page.textContent('#command')) ?? '', / --kube-version 1\.28$/);
    assert.deepEqual(await panes(page), await cli({ ...stateOf(c), context: { ...stateOf(c).context, kubeVersion: '1.28' } }));
  });

  test('choosing an example fills the panes and shows what the CLI prints for it', async () => {
    await page.selectOption('#examples', { label: 'examples/workloads/shop.yaml: Job nightly-report' });
    await page.waitForFunction(() => document.querySelector<HTMLTextAreaElement>('#workload')?.value.includes('nightly-report'));
    const state: PlaygroundState = { profiles: await page.inputValue('#profiles'), workload: await page.inputValue('#workload'), context: emptyContext };
    await page.waitForFunction((hash) => location.hash === hash, encodeFragment(state));
    assert.doesNotMatch(state.workload, /shop-frontend/);
    assert.deepEqual(await panes(page), await cli(state));
  });

  test('a screenshot of the page, kept in .cache/playground', async () => {
    await page.selectOption('#examples', { label: 'examples/workloads/shop.yaml: Deployment shop-frontend' });
    await page.waitForFunction(() => document.querySelector<HTMLTextAreaElement>('#workload')?.value.includes('shop-frontend'));
    await page.evaluate(() => {
      (document.activeElement as HTMLElement | null)?.blur();
      window.scrollTo(0, 0);
    });
    await page.waitForTimeout(400);
    const shot = await page.screenshot({ path: join(ARTIFACTS, 'playground.png') });
    assert.ok(shot.length > 10_000);
    if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(join(ARTIFACTS, 'playground.png'), join(REPO, 'docs/playground.png'));
  });

  test('from file://, offline: the static build runs under its CSP and loads only its own files', async () => {
    const dir = join(tmp.dir, 'static');
    mkdirSync(dir);
    for (const f of files) writeFileSync(join(dir, f.name), f.bytes);
    const offline = await chromium.browser.newContext({ offline: true });
    try {
      const p = await offline.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      p.on('request', (r) => requests.push(r.url()));
      p.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      const c = goldenCases()[0] as PlaygroundCase;
      await p.goto(`file://${dir}/index.html${encodeFragment(stateOf(c))}`);
      await p.waitForSelector('body[data-runs]');
      assert.deepEqual(await panes(p), await cli(stateOf(c)));
      assert.deepEqual(errors, []);
      assert.deepEqual(
        [...new Set(requests.map((u) => u.replace(/#.*/, '')))].sort(),
        ['favicon.svg', 'index.html', 'playground.css', 'playground.js'].map((n) => `file://${dir}/${n}`),
      );
    } finally {
      await offline.close();
    }
  });

  test('nothing was requested from any other origin, and the page logged no error', () => {
    assert.deepEqual(foreign, []);
    assert.deepEqual(pageErrors, []);
  });
});
