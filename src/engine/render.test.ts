import assert from 'node:assert/strict';
import { test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import { MAX_RENDERED_TEXT, RenderError, renderBudget, renderParts } from './render.ts';
import type { TemplateValues } from './template.ts';

const set = profilesFromYaml(
  profileYaml('copy', {
    version: '1',
    containers: [{ name: 'agent', image: 'example.com/agent:1', env: [{ name: 'A', value: "{{ pod.annotations['a'] }}" }] }],
  }),
);
const profile = set.byName.get('copy');
assert.ok(profile);
const values = (a: string) => (): TemplateValues => ({
  pod: { namespace: 'shop', labels: {}, annotations: { a } },
  namespace: { name: 'shop', labels: {} },
  profile: { name: 'copy', version: '1' },
});

test('a profile rendered again from the same values in one admission is charged once', () => {
  const budget = renderBudget();
  const v = values('x'.repeat(600_000));
  renderParts(profile, v, {}, budget);
  renderParts(profile, v, {}, budget);
  assert.equal(budget.left, MAX_RENDERED_TEXT - 600_000);
});

test('rendered from other values, the same profile is charged again, and the budget is shared', () => {
  const budget = renderBudget();
  renderParts(profile, values('x'.repeat(10)), {}, budget);
  renderParts(profile, values('y'.repeat(600_000)), {}, budget);
  assert.equal(budget.left, MAX_RENDERED_TEXT - 600_010);
  assert.throws(
    () => renderParts(profile, values('z'.repeat(600_000)), {}, budget),
    (e: unknown) => e instanceof RenderError && e.reason === 'template-error' && /render more than 1048576 characters together/.test(e.message),
  );
  // A fresh admission has the whole budget again.
  assert.doesNotThrow(() => renderParts(profile, values('z'.repeat(600_000)), {}, renderBudget()));
});
