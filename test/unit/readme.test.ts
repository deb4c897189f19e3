import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { REASONS } from '../../src/common/errors.ts';

test('the README documents every reason with the same sentence', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const [code, sentence] of Object.entries(REASONS)) assert.ok(readme.includes(`| \`${code}\` | ${sentence} |`), `README is missing reason ${code}`);
});
