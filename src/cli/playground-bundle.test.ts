import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tempDir } from '../../test/support/webhook.ts';
import { bundlePlayground, examples, PLAYGROUND_FILES } from './playground-bundle.ts';

const tmp = tempDir();
after(() => tmp.cleanup());
const src = new URL('../', import.meta.url).pathname;

test('the bundle is the page, its CSS and one script that imports nothing', async () => {
  const files = await bundlePlayground();
  assert.deepEqual(
    files.map((f) => f.name),
    [...PLAYGROUND_FILES],
  );
  const js = new TextDecoder().decode(files.find((f) => f.name === 'playground.js')?.bytes);
  assert.ok(js.length > 10_000);
  assert.doesNotMatch(js, /\bimport\s*[("'{*]|\brequire\(|["']node:/, 'the bundle loads no module and names no Node built-in');
  // The examples are in it, from examples/.
  assert.match(js, /examples\/workloads\/shop\.yaml/);
  const html = new TextDecoder().decode(files.find((f) => f.name === 'index.html')?.bytes);
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'self'/);
  assert.doesNotMatch(html, /https?:\/\//, 'the page names no other origin');
});

for (const [i, [what, line, names]] of (
  [
    ['node:fs', "import { readFileSync } from 'node:fs'; console.log(readFileSync);", /node:fs imported by .*entry-0\.ts/],
    ['fs', "import { readFileSync } from 'fs'; console.log(readFileSync);", /\bfs imported by .*entry-1\.ts/],
    [
      'a module that reaches node:fs',
      `import { loadProfiles } from '${src}profiles/load.ts'; console.log(loadProfiles);`,
      /node:fs\/promises imported by .*io\/directory\.ts/,
    ],
  ] as const satisfies readonly (readonly [string, string, RegExp])[]
).entries()) {
  test(`a bundle that reaches ${what} is refused, naming who imports it`, async () => {
    const entry = join(tmp.dir, `entry-${i}.ts`);
    writeFileSync(entry, line);
    await assert.rejects(bundlePlayground({ entry }), (e: Error) => {
      assert.match(e.message, /the playground bundle may not use Node built-ins/);
      assert.match(e.message, names);
      return true;
    });
  });
}

test('the examples menu: every example workload file, whole and a document at a time, with the example profiles', async () => {
  const list = await examples();
  const names = list.map((e) => e.name);
  assert.ok(names.includes('examples/workloads/shop.yaml'));
  assert.ok(names.includes('examples/workloads/shop.yaml: Deployment shop-frontend'), names.join('\n'));
  for (const e of list) assert.match(e.profiles, /name: log-shipper/);
});
