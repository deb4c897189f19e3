/**
 * Golden files: each folder under test/golden holds an input manifest, optional CLI arguments
 * (`args`, one per line) and optional profiles (`profiles.yaml`, else examples/profiles), and the
 * expected exit code, stderr and stdout of `outrigger inject` in `expected.txt`.
 * Regenerate after an intended change with `UPDATE_GOLDEN=1 npm run test:unit`, then review the diff.
 * Without UPDATE_GOLDEN a missing `expected.txt` fails (a new case is reviewed before it is trusted),
 * and so does a folder or file here that no case reads. Every case also goes through the webhook:
 * each pod template, sent as a pod in an AdmissionReview, is patched into the pod the CLI printed.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { type HandlerConfig, handleDecoded } from '../../src/admission/handle.ts';
import { decodeReview } from '../../src/admission/review.ts';
import { applyPatch, type JsonObject, type JsonValue, type ProfileSet } from '../../src/engine/index.ts';
import { findPodSites } from '../../src/manifest/workloads.ts';
import { loadProfiles } from '../../src/profiles/load.ts';
import { runCli } from '../support/run-cli.ts';
import { decodePatch, review } from '../support/webhook.ts';

const root = new URL('../golden/', import.meta.url).pathname;
const examples = new URL('../../examples/profiles', import.meta.url).pathname;
const update = process.env.UPDATE_GOLDEN === '1';

/** Every case, by folder name. A folder not listed here, or a case without its folder, fails. */
const CASES = [
  'already-injected',
  'classic-1.28',
  'conflict-denied',
  'every-workload-kind',
  'native-sidecars-1.33',
  'opt-out-and-unknown',
  'selector-and-mandatory',
  'unknown-profiles-denied',
] as const;
/** The files a case may hold: `input.yaml` and `expected.txt` always, the others when the case needs them. */
const CASE_FILES = new Set(['input.yaml', 'expected.txt', 'args', 'profiles.yaml']);

const docsOf = (text: string) => parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJS() as JsonValue);

interface Case {
  dir: string;
  input: string;
  profiles: string;
  args: string[];
}

function caseOf(name: string): Case {
  const dir = join(root, name);
  const profiles = existsSync(join(dir, 'profiles.yaml')) ? join(dir, 'profiles.yaml') : examples;
  const args = existsSync(join(dir, 'args')) ? readFileSync(join(dir, 'args'), 'utf8').split('\n').filter(Boolean) : [];
  return { dir, input: join(dir, 'input.yaml'), profiles, args };
}

describe('golden: the folders are the cases', () => {
  test('every folder under test/golden is a listed case, and every listed case has its folder', () => {
    assert.deepEqual(readdirSync(root).sort(), [...CASES].sort());
  });
  for (const name of CASES) {
    test(`${name} holds input.yaml, and only files a case reads`, () => {
      const files = readdirSync(join(root, name));
      assert.ok(files.includes('input.yaml'), `${name}: no input.yaml`);
      for (const f of files) assert.ok(CASE_FILES.has(f), `${name}/${f} is read by no test`);
    });
  }
});

describe('golden: outrigger inject', () => {
  for (const name of CASES) {
    test(name, async () => {
      const { dir, input, profiles, args } = caseOf(name);
      const r = await runCli(['inject', '-f', input, '--profiles', profiles, ...args]);
      // Paths in messages are made relative so the files read the same on every machine.
      const actual = `exit: ${r.code}\n--- stderr\n${r.stderr.replaceAll(`${dir}/`, '')}--- stdout\n${r.stdout}`;
      const expectedFile = join(dir, 'expected.txt');
      if (update) writeFileSync(expectedFile, actual);
      assert.ok(existsSync(expectedFile), `${name}: no expected.txt; write it with UPDATE_GOLDEN=1 and review it`);
      assert.equal(actual, readFileSync(expectedFile, 'utf8'));

      if (r.code !== 0) return;
      // The output uninjects to what the input uninjects to (the input itself unless it was already
      // injected), and injecting it again changes nothing.
      const back = await runCli(['uninject', '-f', '-'], r.stdout);
      const original = await runCli(['uninject', '-f', input]);
      assert.equal(back.code, 0, back.stderr);
      assert.deepEqual(docsOf(back.stdout), docsOf(original.stdout));
      const again = await runCli(['inject', '-f', '-', '--profiles', profiles, ...args], r.stdout);
      assert.deepEqual(docsOf(again.stdout), docsOf(r.stdout));
    });
  }
});

/** The CLI flags a case uses, as the webhook's configuration. */
async function handlerConfig(c: Case): Promise<{ cfg: HandlerConfig; defaultNamespace: string }> {
  let kubeVersion = { major: 1, minor: 33 };
  let defaultNamespace = 'default';
  let unknownProfiles: 'admit' | 'deny' | undefined;
  const labels: Record<string, string> = {};
  for (let i = 0; i < c.args.length; i += 2) {
    const [flag, value = ''] = [c.args[i], c.args[i + 1]];
    if (flag === '--kube-version') {
      const [major = '', minor = ''] = value.replace(/^v/, '').split('.');
      kubeVersion = { major: Number(major), minor: Number(minor) };
    } else if (flag === '--namespace') defaultNamespace = value;
    // serve has the same flag.
    else if (flag === '--unknown-profiles') {
      assert.ok(value === 'deny' || value === 'admit', `${c.dir}/args: --unknown-profiles ${value}`);
      unknownProfiles = value;
    } else if (flag === '--namespace-label') {
      const [k = '', v = ''] = value.split('=');
      labels[k] = v;
    } else assert.fail(`${c.dir}/args: ${flag} has no webhook equivalent here; teach this test`);
  }
  const profiles: ProfileSet = await loadProfiles([c.profiles]);
  return { cfg: { profiles, kubeVersion, namespaceLabels: () => labels, ...(unknownProfiles ? { unknownProfiles } : {}) }, defaultNamespace };
}

describe('golden: the same inputs through the webhook', () => {
  for (const name of CASES) {
    test(name, async () => {
      const c = caseOf(name);
      const { cfg, defaultNamespace } = await handlerConfig(c);
      const expected = readFileSync(join(c.dir, 'expected.txt'), 'utf8');
      const [, code = '', stderr = '', stdout = ''] = /^exit: (\d+)\n--- stderr\n([\s\S]*?)--- stdout\n([\s\S]*)$/.exec(expected) ?? [];
      const inputs = docsOf(readFileSync(c.input, 'utf8'));
      const printed = code === '0' ? docsOf(stdout) : [];
      // The CLI's errors, by document: `error: input.yaml, document 2: Pod shop/x: message`.
      const errors = new Map([...stderr.matchAll(/^error: input\.yaml, document (\d+): [^:]+: (.*)$/gm)].map((m) => [Number(m[1]) - 1, m[2]]));
      let pods = 0;
      let patched = 0;
      let changed = 0;
      inputs.forEach((doc, d) => {
        const out = findPodSites(printed[d] ?? null);
        findPodSites(doc).forEach((site, i) => {
          const p: JsonObject = { apiVersion: 'v1', kind: 'Pod', ...site.pod };
          const r = handleDecoded(decodeReview(Buffer.from(JSON.stringify(review(p, { namespace: site.namespace ?? defaultNamespace })))), cfg);
          assert.ok('response' in r, `document ${d + 1}: HTTP ${JSON.stringify(r)}`);
          const response = r.response.response;
          pods++;
          if (code !== '0') {
            const message = errors.get(d);
            if (message === undefined) return; // the CLI stopped at another document's error
            assert.equal(response.allowed, false, `document ${d + 1} is denied`);
            assert.equal(response.status?.message, message);
            return;
          }
          const want: JsonObject = { apiVersion: 'v1', kind: 'Pod', ...(out[i]?.pod ?? {}) };
          assert.equal(response.allowed, true, `document ${d + 1}, pod ${i + 1}`);
          if (response.patch !== undefined) patched++;
          if (JSON.stringify(want) !== JSON.stringify(p)) changed++;
          const got = response.patch === undefined ? p : applyPatch(p, decodePatch(response.patch) as never);
          assert.deepStrictEqual(got, want, `document ${d + 1}, pod ${i + 1}`);
        });
      });
      assert.ok(pods > 0, `${name}: no pods`);
      if (code !== '0') assert.ok(errors.size > 0, `${name}: exit ${code} but no error line`);
      // Patched exactly the pods the CLI changed: the comparison above is not passing vacuously.
      else assert.equal(patched, changed, `${name}: pods patched`);
    });
  }
});
