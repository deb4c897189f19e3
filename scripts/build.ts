/**
 * `npm run build [-- --out DIR]`: compiles src/ to DIR (default dist/) and stamps it with the git
 * commit (DIR/build-info.json), which `outrigger version` and outrigger_build_info report; bundles
 * the browser playground into DIR/playground/ (src/playground is not compiled with the rest).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundlePlayground } from '../src/cli/playground-bundle.ts';
import { gitCommit, writeBuildInfo } from './build/info.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
let out: string;
try {
  const { values } = parseArgs({ options: { out: { type: 'string' } }, strict: true });
  out = resolve(values.out ?? `${repo}dist`);
} catch (e) {
  process.stderr.write(`error: ${(e as Error).message}\nUsage: npm run build [-- --out DIR]\n`);
  process.exit(2);
}
execFileSync(`${repo}node_modules/.bin/tsc`, ['-p', `${repo}tsconfig.build.json`, '--outDir', out], { cwd: repo, stdio: 'inherit' });
writeBuildInfo(out, gitCommit(repo));

const page = join(out, 'playground');
rmSync(page, { recursive: true, force: true });
mkdirSync(page, { recursive: true });
for (const f of await bundlePlayground()) writeFileSync(join(page, f.name), f.bytes);
