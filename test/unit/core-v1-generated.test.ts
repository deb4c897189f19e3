import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CORE_V1_FILE, coreV1File, haveGo, kubernetesModule } from '../../scripts/core-v1/module.ts';

const go = haveGo();
const skip = !go && process.env.CI !== 'true' ? 'go is not installed: the core/v1 schema is generated from the k8s.io/kubernetes Go module' : false;

test(`${CORE_V1_FILE} is what the generator writes from the pinned k8s.io/kubernetes (run \`npm run generate\`)`, { skip }, () => {
  assert.ok(go, 'go is required under CI=true');
  assert.equal(readFileSync(new URL(`../../${CORE_V1_FILE}`, import.meta.url), 'utf8'), coreV1File(kubernetesModule()), `${CORE_V1_FILE} is stale`);
});
