/**
 * The e2e suites that must hold on every Kubernetes minor the README claims, run once per minor
 * under test/e2e/apiserver/versions/ (E2E_KUBE=<minor>); the whole e2e suite runs on go.mod's.
 *
 *   ./node_modules/.bin/node test/e2e/run-versions.ts          # every other minor
 *   ./node_modules/.bin/node test/e2e/run-versions.ts 1.37     # one
 */
import { spawnSync } from 'node:child_process';
import { kubernetesVersion, otherMinors, repoRoot } from './build-apiserver.ts';

/**
 * Webhook registration through a Service, injection, reinvocation, native sidecars, dry-run,
 * matchConditions; the harness itself; and policy mode, which needs 1.36 (skipped before, saying so;
 * before 1.36 `serve --admission policy` is shown to refuse).
 */
export const VERSION_SUITES = [
  'test/e2e/apiserver.e2e.test.ts',
  'test/e2e/webhook.e2e.test.ts',
  'test/e2e/policy.e2e.test.ts',
  'test/e2e/policy-cluster.e2e.test.ts',
  'test/e2e/policy-chain.e2e.test.ts',
  'test/e2e/policy-cost.e2e.test.ts',
  'test/e2e/policy-shared.e2e.test.ts',
  'test/e2e/policy-size.e2e.test.ts',
  'test/e2e/policy-edit.e2e.test.ts',
];

const wanted = process.argv.slice(2);
const minors = wanted.length > 0 ? wanted : otherMinors();
const failed: string[] = [];
for (const minor of minors) {
  if (!otherMinors().includes(minor)) throw new Error(`${minor}: no test/e2e/apiserver/versions/${minor}/go.mod (have ${otherMinors().join(', ')})`);
  process.stderr.write(`\ne2e versions: Kubernetes ${kubernetesVersion(minor)} (E2E_KUBE=${minor}): ${VERSION_SUITES.join(' ')}\n`);
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=1', ...VERSION_SUITES], {
    cwd: repoRoot,
    stdio: 'inherit',
    env: { ...process.env, E2E_KUBE: minor },
  });
  if (r.status !== 0) failed.push(`${minor} (${kubernetesVersion(minor)}): exit ${r.status ?? r.signal}`);
}
if (failed.length > 0) {
  process.stderr.write(`\ne2e versions: failed on ${failed.join(', ')}\n`);
  process.exit(1);
}
process.stderr.write(`\ne2e versions: passed on ${minors.map((m) => kubernetesVersion(m)).join(', ')}\n`);
