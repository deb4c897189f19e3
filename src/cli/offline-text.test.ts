/**
 * runOffline prints what `outrigger inject` and `outrigger explain` print for the same files and
 * flags: on every golden case, every corpus pod, and inputs that fail in each way.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { corpusCases, goldenCases, HAVE_CORPUS, type PlaygroundCase } from '../../test/support/playground-cases.ts';
import { runCli } from '../../test/support/run-cli.ts';
import { tempDir } from '../../test/support/webhook.ts';
import { contextFlags, injectCommandLine, runOffline, shellWord } from './offline-text.ts';

const tmp = tempDir();
after(() => tmp.cleanup());
let n = 0;

async function compare(c: PlaygroundCase): Promise<ReturnType<typeof runOffline>> {
  const at = join(tmp.dir, String(n++));
  const profiles = { name: `${at}-profiles.yaml`, text: c.profiles };
  const workload = { name: `${at}-workload.yaml`, text: c.workload };
  writeFileSync(profiles.name, profiles.text);
  writeFileSync(workload.name, workload.text);
  const got = runOffline(profiles, workload, c.context);
  const args = ['-f', workload.name, '--profiles', profiles.name, ...contextFlags(c.context)];
  for (const cmd of ['inject', 'explain'] as const) {
    const r = await runCli([cmd, ...args]);
    assert.deepEqual(got[cmd], { exit: r.code, stdout: r.stdout, stderr: r.stderr }, `${c.name}: ${cmd}`);
  }
  return got;
}

describe('runOffline prints what the CLI prints', () => {
  for (const c of goldenCases()) test(c.name, () => compare(c).then(() => undefined));

  test('the corpus pods', { skip: !HAVE_CORPUS && !process.env.CI ? 'no shared corpus' : false }, async () => {
    const cases = corpusCases();
    assert.ok(cases.length > 50, `only ${cases.length} corpus files with pods`);
    let injected = 0;
    for (const c of cases) if ((await compare(c)).workloads.some((w) => w.outcome === 'injected')) injected++;
    assert.ok(injected > 50, `only ${injected} corpus files injected`);
  });

  const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a, image: a}]}\n';
  const profile = 'apiVersion: outrigger.dev/v1alpha1\nkind: SidecarProfile\nmetadata: {name: p}\nspec:\n  version: "1"\n';
  const ctx = { kubeVersion: '', namespace: '', labels: '' };
  for (const [name, c] of [
    ['a bad kube version', { profiles: profile, workload: pod, context: { ...ctx, kubeVersion: '2.1' } }],
    ['a bad namespace label', { profiles: profile, workload: pod, context: { ...ctx, labels: 'no-equals' } }],
    ['a bad namespace', { profiles: profile, workload: pod, context: { ...ctx, namespace: 'Not_A_Name' } }],
    ['an invalid profile', { profiles: `${profile}  containers: [{name: x, image: y, comand: [z]}]\n`, workload: pod, context: ctx }],
    ['a profile that is not YAML', { profiles: 'a: [', workload: pod, context: ctx }],
    ['a workload that is not YAML', { profiles: profile, workload: `${pod}---\nkind: [\n`, context: ctx }],
    ['an empty workload', { profiles: profile, workload: '# nothing\n---\n', context: ctx }],
    [
      'a denied pod',
      {
        profiles: profile,
        workload: pod.replace('{name: a}', '{name: a, annotations: {outrigger.dev/inject: nope}}'),
        context: { ...ctx, unknownProfiles: 'deny' },
      },
    ],
  ] as const) {
    test(name, async () => {
      const got = await compare({ name, ...c });
      assert.notEqual(got.inject.exit, 0, `${name} fails`);
    });
  }
});

test('the command line reads back as the same words', () => {
  assert.equal(shellWord("it's"), `'it'\\''s'`);
  assert.equal(shellWord('a=b'), 'a=b');
  assert.equal(
    injectCommandLine({ name: 'p.yaml', text: '' }, { name: 'w.yaml', text: '' }, { kubeVersion: '1.28', namespace: 'shop', labels: 'a=b\n\n c=d e \n' }),
    "outrigger inject -f w.yaml --profiles p.yaml --kube-version 1.28 --namespace shop --namespace-label a=b --namespace-label 'c=d e'",
  );
});
