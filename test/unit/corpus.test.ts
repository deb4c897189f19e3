/**
 * Every manifest in the shared corpus (real files written by others) goes through the CLI: no
 * crash, every pod site injected or explained, every other document unchanged, and each injection
 * uninjects back and re-injects to nothing. The corpus lives beside the repository (../shared/corpus).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, test } from 'node:test';
import { readInputs } from '../../src/cli/input.ts';
import { writeStream } from '../../src/cli/output.ts';
import { deepEqual } from '../../src/common/json.ts';
import { uninject } from '../../src/engine/uninject.ts';
import { parseYamlDocuments } from '../../src/io/yaml.ts';
import { editYaml } from '../../src/io/yaml-edit.ts';
import { injectDocuments } from '../../src/manifest/process.ts';
import { findPodSites } from '../../src/manifest/workloads.ts';
import { CORPUS, CORPUS_PROBE, corpusFiles } from '../support/corpus.ts';
import { exampleProfiles, profilesFromYaml } from '../support/profiles.ts';
import { runCli } from '../support/run-cli.ts';

const corpus = CORPUS;
const files = corpusFiles;

// CORPUS_PROBE, which every pod gets, plus the examples: exercises selection and requests.

describe('shared corpus', { skip: !existsSync(corpus) && !process.env.CI ? `no corpus at ${corpus}` : false }, () => {
  const all = existsSync(corpus) ? files(corpus) : [];
  test('the corpus is there and not empty', () => {
    assert.ok(all.length > 200, `expected the shared corpus at ${corpus}, found ${all.length} files`);
  });

  const set = profilesFromYaml(CORPUS_PROBE);
  const injected = { total: 0, edited: 0 };
  const stdin = process.stdin;
  for (const file of all) {
    test(relative(corpus, file), async () => {
      let docs: Awaited<ReturnType<typeof readInputs>>;
      try {
        docs = await readInputs([file], false, stdin);
      } catch (e) {
        // A file that is not valid YAML must be named in a clear error, and the CLI must say the same.
        assert.match((e as Error).message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, document \\d+`));
        const r = await runCli(['inject', '-f', file, '--profiles', 'examples/profiles']);
        assert.equal(r.code, 3);
        assert.ok(r.stderr.includes(file));
        return;
      }
      const { docs: out } = injectDocuments(docs, set, { kubeVersion: { major: 1, minor: 33 }, defaultNamespace: 'corpus', namespaceLabels: {} });
      // Injected documents written with their comments read as the same JSON as written anew.
      const written = (before: boolean) =>
        writeStream(out.map((d, i) => ({ value: d.value, changed: d.changed, text: docs[i]?.text ?? '', ...(before ? { before: docs[i]?.value } : {}) })));
      const values = (text: string) => parseYamlDocuments(text, file).map((d) => d.value);
      assert.deepEqual(values(written(true)), values(written(false)), `${file}: the same JSON with comments kept`);
      for (const [i, d] of out.entries()) {
        if (!d.changed) continue;
        injected.total++;
        if (editYaml(docs[i]?.text ?? '', docs[i]?.value ?? null, d.value) !== undefined) injected.edited++;
      }
      for (const d of out) {
        if (d.sites.length === 0) {
          assert.equal(d.changed, false, `${d.where}: a document without pods must not change`);
          continue;
        }
        for (const s of d.sites) {
          const dec = s.decision;
          assert.ok(
            dec.profiles.some((p) => p.profile === 'corpus-probe'),
            `${d.where}: ${s.site.label}: the probe profile was considered`,
          );
          if (dec.outcome !== 'injected') {
            assert.ok(dec.message.length > 0, `${d.where}: ${s.site.label}: explained`);
            continue;
          }
          const back = uninject(dec.pod);
          assert.ok(back.ok && deepEqual(back.pod, s.site.pod), `${d.where}: ${s.site.label}: uninject restores the template`);
        }
        // Re-running on the output changes nothing.
        const again = injectDocuments([{ where: d.where, value: d.value }], set, {
          kubeVersion: { major: 1, minor: 33 },
          defaultNamespace: 'corpus',
          namespaceLabels: {},
        });
        assert.equal(again.docs[0]?.changed, false, `${d.where}: second run is a no-op`);
        assert.equal(findPodSites(d.value).length, d.sites.length);
      }
      // And the real CLI, with the example profiles, neither crashes nor writes half a result.
      const r = await runCli(['inject', '-f', file, '--profiles', 'examples/profiles']);
      if (docs.length === 0) {
        // Only comments: said so, as kubectl says "no objects passed to apply".
        assert.deepEqual({ code: r.code, stdout: r.stdout }, { code: 3, stdout: '' });
        assert.match(r.stderr, /: no objects in the file \(it is empty, or holds only comments and ---\)\n$/);
        return;
      }
      assert.ok(r.code === 0 || r.code === 4, `${file}: exit ${r.code}: ${r.stderr}`);
      // The example profiles inject nothing into the corpus: every file comes back byte for byte.
      if (r.code === 0 && !r.stdout.includes('outrigger.dev/status')) assert.equal(r.stdout, readFileSync(file, 'utf8'), `${file}: passed through unchanged`);
      if (r.code === 4) assert.equal(r.stdout, '');
    });
  }

  test('nearly every injected corpus document keeps its comments (is edited, not written anew)', () => {
    assert.ok(injected.total > 100, `${injected.total} injected`);
    assert.ok(injected.edited >= injected.total * 0.95, `${injected.edited} of ${injected.total} edited`);
  });
});

test('the example profiles load', () => {
  assert.equal(exampleProfiles().profiles.length, 3);
});
