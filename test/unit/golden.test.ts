/**
 * Golden files: each folder under test/golden holds an input manifest, optional CLI arguments
 * (`args`, one per line) and optional profiles (`profiles.yaml`, else examples/profiles), and the
 * expected exit code, stderr and stdout of `outrigger inject` in `expected.txt`.
 * Regenerate after an intended change with `UPDATE_GOLDEN=1 npm run test:unit`, then review the diff.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { runCli } from '../support/run-cli.ts';

const root = new URL('../golden/', import.meta.url).pathname;
const examples = new URL('../../examples/profiles', import.meta.url).pathname;
const update = process.env.UPDATE_GOLDEN === '1';

const docsOf = (text: string) => parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJS());

describe('golden: outrigger inject', () => {
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name);
    test(name, async () => {
      const input = join(dir, 'input.yaml');
      const profiles = existsSync(join(dir, 'profiles.yaml')) ? join(dir, 'profiles.yaml') : examples;
      const extra = existsSync(join(dir, 'args')) ? readFileSync(join(dir, 'args'), 'utf8').split('\n').filter(Boolean) : [];
      const r = await runCli(['inject', '-f', input, '--profiles', profiles, ...extra]);
      // Paths in messages are made relative so the files read the same on every machine.
      const actual = `exit: ${r.code}\n--- stderr\n${r.stderr.replaceAll(`${dir}/`, '')}--- stdout\n${r.stdout}`;
      const expectedFile = join(dir, 'expected.txt');
      if (update || !existsSync(expectedFile)) writeFileSync(expectedFile, actual);
      assert.equal(actual, readFileSync(expectedFile, 'utf8'));

      if (r.code !== 0) return;
      // The output uninjects to what the input uninjects to (the input itself unless it was already
      // injected), and injecting it again changes nothing.
      const back = await runCli(['uninject', '-f', '-'], r.stdout);
      const original = await runCli(['uninject', '-f', input]);
      assert.equal(back.code, 0, back.stderr);
      assert.deepEqual(docsOf(back.stdout), docsOf(original.stdout));
      const again = await runCli(['inject', '-f', '-', '--profiles', profiles, ...extra], r.stdout);
      assert.deepEqual(docsOf(again.stdout), docsOf(r.stdout));
    });
  }
});
