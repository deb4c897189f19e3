/**
 * The error table and the README's list of codes, checked against each other in both directions:
 * every code in the table is documented with its layer, status and sentence, and every code the
 * README documents is in the table (the README's list is closed).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ADMISSION_ERRORS, CODES, type Code, ERROR_REASONS, HTTP_ERRORS, REASONS } from '../../src/common/errors.ts';

interface Row {
  layers: string;
  status: string;
  sentence: string;
}

/** The rows of the table under "What Outrigger decides, and why", by code. */
function readmeRows(): Map<string, Row> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('## What Outrigger decides, and why');
  assert.ok(start >= 0, 'README has a section "What Outrigger decides, and why"');
  const end = readme.indexOf('\n## ', start + 1);
  const rows = new Map<string, Row>();
  for (const line of readme.slice(start, end < 0 ? undefined : end).split('\n')) {
    const m = /^\| ([a-z, ]+) \| (\d{3}) \| `([a-z0-9-]+)` \| (.+) \|$/.exec(line);
    if (!m) continue;
    const [, layers, status, code, sentence] = m as unknown as [string, string, string, string, string];
    assert.ok(!rows.has(code), `README lists ${code} twice`);
    rows.set(code, { layers, status, sentence });
  }
  return rows;
}

test('every code in the table is in the README, with its layer, status and sentence', () => {
  const rows = readmeRows();
  for (const [code, e] of Object.entries(CODES)) {
    const row = rows.get(code);
    assert.ok(row, `README is missing code ${code}`);
    assert.deepEqual(row, { layers: e.layers.join(', '), status: String(e.status), sentence: e.sentence }, `README row for ${code}`);
  }
});

test('every code the README lists is in the table', () => {
  for (const code of readmeRows().keys()) assert.ok(Object.hasOwn(CODES, code), `README documents ${code}, which the table does not hold`);
});

test('the per-layer views are exactly the table, split by layer', () => {
  const at = (layer: string) => Object.keys(CODES).filter((c) => (CODES[c as Code].layers as readonly string[]).includes(layer));
  assert.deepEqual(Object.keys(REASONS), at('engine'));
  assert.deepEqual(Object.keys(ADMISSION_ERRORS), at('admission'));
  assert.deepEqual(Object.keys(HTTP_ERRORS), at('http'));
  for (const [code, status] of Object.entries(HTTP_ERRORS)) assert.ok(status >= 400 && status < 600, `${code}: ${status} is an error status`);
  for (const code of ERROR_REASONS) assert.ok(CODES[code].status >= 400, `${code} refuses`);
  for (const code of Object.keys(CODES)) assert.match(code, /^[a-z0-9]+(-[a-z0-9]+)*$/, 'codes are kebab-case');
});
