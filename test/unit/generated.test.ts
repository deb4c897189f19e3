import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { generatedFiles } from '../../scripts/generated-files.ts';

test('generated files are up to date (run `npm run generate` after changing their sources)', () => {
  for (const [path, text] of Object.entries(generatedFiles())) {
    assert.equal(readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8'), text, `${path} is stale`);
  }
});
