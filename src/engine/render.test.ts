import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import { MAX_RENDERED_TEXT, overrideAnnotation, RenderError, renderBudget, renderedTextOf, renderParts, withTag } from './render.ts';
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

describe('withTag', () => {
  test('replaces the tag, keeps the registry port, and drops a digest', () => {
    assert.equal(withTag('nginx', '2'), 'nginx:2');
    assert.equal(withTag('nginx:1.27', '2'), 'nginx:2');
    assert.equal(withTag('registry.example.com:5000/team/agent', '2'), 'registry.example.com:5000/team/agent:2');
    assert.equal(withTag('registry.example.com:5000/team/agent:1', '2'), 'registry.example.com:5000/team/agent:2');
    assert.equal(withTag(`agent:1@sha256:${'a'.repeat(64)}`, '2'), 'agent:2');
    assert.equal(withTag(`registry:5000/agent@sha256:${'a'.repeat(64)}`, '2'), 'registry:5000/agent:2');
    assert.equal(withTag(`@sha256:${'a'.repeat(64)}`, '2'), ':2', 'a digest alone leaves no repository');
  });
});

describe('renderParts: overrides from pod annotations', () => {
  const overridable = profilesFromYaml(
    profileYaml('agent', {
      version: '1',
      overrides: { imageTag: true, resources: true },
      initContainers: [{ name: 'setup', image: 'example.com/setup:1' }],
      containers: [{ name: 'agent', image: 'example.com/agent:1', resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } } }],
    }),
  ).byName.get('agent');
  const fixed = profilesFromYaml(profileYaml('fixed', { version: '1', containers: [{ name: 'f', image: 'f:1' }] })).byName.get('fixed');
  assert.ok(overridable && fixed);
  const noValues = (): TemplateValues => assert.fail('values are read only for templated profiles');
  const rendered = (annotations: Record<string, string>) => renderParts(overridable, noValues, annotations, renderBudget());
  const refused = (annotations: Record<string, string>, message: string, p = overridable) =>
    assert.throws(
      () => renderParts(p, noValues, annotations, renderBudget()),
      (e: unknown) => e instanceof RenderError && e.reason === 'invalid-override' && e.message === message,
    );

  test('the annotation keys', () => {
    assert.equal(overrideAnnotation('agent', 'image-tag'), 'outrigger.dev/agent.image-tag');
    assert.equal(overrideAnnotation('agent', 'resources'), 'outrigger.dev/agent.resources');
  });

  test('no override and no template: the profile itself, shared, with no rendered text', () => {
    assert.equal(rendered({ 'outrigger.dev/other.image-tag': '2' }), overridable);
    assert.deepEqual(renderedTextOf(overridable), { total: 0, perTarget: 0 });
  });

  test('image-tag retags every container and init container', () => {
    const p = rendered({ 'outrigger.dev/agent.image-tag': '2.0' });
    assert.deepEqual(
      [...p.initContainers, ...p.containers].map((c) => c.image),
      ['example.com/setup:2.0', 'example.com/agent:2.0'],
    );
    assert.equal(overridable.containers[0]?.image, 'example.com/agent:1', 'the profile is not changed');
  });

  test('resources merge into each container’s own, per section', () => {
    const p = rendered({ 'outrigger.dev/agent.resources': '{"requests":{"cpu":"50m"},"limits":{"cpu":"1"}}' });
    assert.deepEqual(p.containers[0]?.resources, { requests: { cpu: '50m', memory: '16Mi' }, limits: { memory: '64Mi', cpu: '1' } });
    assert.deepEqual(p.initContainers[0]?.resources, { requests: { cpu: '50m' }, limits: { cpu: '1' } });
    assert.deepEqual(
      [...p.initContainers, ...p.containers].map((c) => c.image),
      ['example.com/setup:1', 'example.com/agent:1'],
      'images keep their tags',
    );
  });

  test('a profile that does not allow an override refuses it, naming the setting', () => {
    refused(
      { 'outrigger.dev/fixed.image-tag': '2' },
      'outrigger.dev/fixed.image-tag: profile "fixed" does not allow overriding the image tag (spec.overrides.imageTag)',
      fixed,
    );
    refused(
      { 'outrigger.dev/fixed.resources': '{}' },
      'outrigger.dev/fixed.resources: profile "fixed" does not allow overriding resources (spec.overrides.resources)',
      fixed,
    );
  });

  test('a bad image tag is refused; a long one is described by its length', () => {
    refused(
      { 'outrigger.dev/agent.image-tag': '-x' },
      'outrigger.dev/agent.image-tag: "-x" must be an image tag (letters, digits, "_", "." and "-", not starting with "." or "-")',
    );
    refused(
      { 'outrigger.dev/agent.image-tag': 'x'.repeat(129) },
      'outrigger.dev/agent.image-tag: the value (129 characters) must be no more than 128 characters',
    );
    refused(
      { 'outrigger.dev/agent.image-tag': `-${'x'.repeat(127)}` },
      `outrigger.dev/agent.image-tag: "-${'x'.repeat(127)}" must be an image tag (letters, digits, "_", "." and "-", not starting with "." or "-")`,
    );
    assert.equal(rendered({ 'outrigger.dev/agent.image-tag': 'x'.repeat(128) }).containers[0]?.image, `example.com/agent:${'x'.repeat(128)}`);
  });

  test('a resources override must be JSON with requests and limits of cpu, memory or ephemeral-storage quantities', () => {
    const key = 'outrigger.dev/agent.resources';
    const bad: [string, string][] = [
      ['not json', `${key}: must be JSON such as {"requests":{"cpu":"100m"},"limits":{"memory":"128Mi"}}`],
      ['[]', `${key}: must be a JSON object with "requests" and/or "limits"`],
      ['{"claims":{}}', `${key}: unknown field "claims"; only "requests" and "limits" may be overridden`],
      ['{"requests":[]}', `${key}: requests must be an object`],
      ['{"limits":{"nvidia.com/gpu":"1"}}', `${key}: limits.nvidia.com/gpu cannot be overridden; allowed resources are cpu, memory, ephemeral-storage`],
      ['{"requests":{"cpu":1}}', `${key}: requests.cpu must be a quantity string such as "100m" or "128Mi"`],
      ['{"requests":{"cpu":"lots"}}', `${key}: requests.cpu must be a quantity string such as "100m" or "128Mi"`],
      ['{"requests":{"cpu":"-1"}}', `${key}: requests.cpu must be a quantity string such as "100m" or "128Mi"`],
      [`{"requests":{"memory":"${'1'.repeat(200)}"}}`, `${key}: requests.memory is 200 characters long; a quantity has at most 64`],
      [' '.repeat(262_145), `${key}: the value is longer than the 256 KiB the API server allows for all annotations together`],
    ];
    for (const [value, message] of bad) refused({ [key]: value }, message);
    refused(
      { [key]: `{"requests":{"cpu":[${new Array(65).fill('1').join(',')}]}}` },
      `${key}: requests.cpu must be a quantity string such as "100m" or "128Mi"`,
    );
    const padded = `{"requests":{"cpu":"${'0'.repeat(62)}1m"}}`;
    // A value of exactly 256 KiB, with a quantity of exactly 64 characters.
    assert.deepEqual(rendered({ [key]: padded + ' '.repeat(262_144 - padded.length) }).containers[0]?.resources, {
      requests: { cpu: `${'0'.repeat(62)}1m`, memory: '16Mi' },
      limits: { memory: '64Mi' },
    });
    assert.deepEqual(rendered({ [key]: '{"requests":{"ephemeral-storage":"1Gi"}}' }).containers[0]?.resources, {
      requests: { cpu: '10m', memory: '16Mi', 'ephemeral-storage': '1Gi' },
      limits: { memory: '64Mi' },
    });
  });
});

describe('renderParts: renderings remembered per profile', () => {
  // A fresh profile per test: its renderings live with it.
  const load = () => {
    const p = profilesFromYaml(
      profileYaml('copy', {
        version: '1',
        containers: [{ name: 'agent', image: 'example.com/agent:1', env: [{ name: 'A', value: "{{ pod.annotations['a'] }}" }] }],
        env: [{ name: 'B', value: "{{ pod.annotations['a'] }}-b" }],
        volumeMounts: [{ name: 'data', mountPath: "/data/{{ pod.annotations['a'] }}" }],
      }),
    ).byName.get('copy');
    assert.ok(p);
    return p;
  };

  test('counts the rendered text, and apart from it what goes into every target', () => {
    const parts = renderParts(load(), values('abc'), {}, renderBudget());
    // "abc" in the sidecar; "abc-b" and "/data/abc" go into each target.
    assert.deepEqual(renderedTextOf(parts), { total: 3 + 5 + 9, perTarget: 5 + 9 });
    assert.equal(parts.env[0]?.value, 'abc-b');
    assert.equal(parts.volumeMounts[0]?.mountPath, '/data/abc');
  });

  test('renderings are remembered by the values they read, one per set of values', () => {
    const p = load();
    const first = renderParts(p, values('a'), {}, renderBudget());
    assert.equal(renderParts(p, values('a'), {}, renderBudget()), first);
    const other = renderParts(p, values('b'), {}, renderBudget());
    assert.notEqual(other, first);
    assert.equal(renderParts(p, values('a'), {}, renderBudget()), first);
    assert.equal(renderParts(p, values('b'), {}, renderBudget()), other);
  });

  test('a rendering is remembered when the values it read are at most 4096 characters as JSON, else rendered each time', () => {
    const p = load();
    // The key is the values read, as a JSON list: ["…"] is 4 characters more than the value.
    const kept = renderParts(p, values('k'.repeat(4092)), {}, renderBudget());
    assert.equal(renderParts(p, values('k'.repeat(4092)), {}, renderBudget()), kept);
    const long = renderParts(p, values('k'.repeat(4093)), {}, renderBudget());
    assert.notEqual(renderParts(p, values('k'.repeat(4093)), {}, renderBudget()), long);
    assert.deepEqual(renderParts(p, values('k'.repeat(4093)), {}, renderBudget()), long);
  });

  test('at most 256 renderings are remembered: the next one starts afresh', () => {
    const p = load();
    const first = renderParts(p, values('v0'), {}, renderBudget());
    for (let i = 1; i < 256; i++) renderParts(p, values(`v${i}`), {}, renderBudget());
    assert.equal(renderParts(p, values('v0'), {}, renderBudget()), first, '256 are kept');
    renderParts(p, values('v256'), {}, renderBudget());
    const again = renderParts(p, values('v0'), {}, renderBudget());
    assert.notEqual(again, first);
    assert.deepEqual(again, first);
  });

  test('a remembered rendering is charged to each admission, and refused when it no longer fits', () => {
    const p = load();
    const text = renderedTextOf(renderParts(p, values('abc'), {}, renderBudget())).total;
    const exact = { left: text, charged: new Map() };
    renderParts(p, values('abc'), {}, exact);
    assert.equal(exact.left, 0, 'exactly the budget left fits');
    assert.throws(
      () => renderParts(p, values('abc'), {}, { left: text - 1, charged: new Map() }),
      (e: unknown) =>
        e instanceof RenderError &&
        e.reason === 'template-error' &&
        e.message === `spec: the templates of the profiles this pod requests render more than ${MAX_RENDERED_TEXT} characters together`,
    );
  });
});
