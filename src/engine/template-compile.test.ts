/** compileTemplate and renderTemplate on their own: segments, every compile error word for word, and rendering. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileTemplate, KNOWN_VARIABLES, renderTemplate, type TemplateValues, VALUE_RULE_NAMES } from './template.ts';

const values: TemplateValues = {
  pod: { name: 'web-0', namespace: 'shop', serviceAccountName: '', labels: { app: 'web', "it's": 'q' }, annotations: { long: 'x'.repeat(70) } },
  namespace: { name: 'shop', labels: { team: 'payments' } },
  profile: { name: 'agent', version: '1.2' },
};
const compiled = (text: string) => {
  const t = compileTemplate(text);
  assert.ok(t, text);
  return t;
};
const render = (text: string, rule?: Parameters<typeof renderTemplate>[2], max?: number) => renderTemplate(compiled(text), values, rule, max);
const compileError = (text: string, message: string) => assert.throws(() => compileTemplate(text), { message });

describe('compileTemplate', () => {
  test('a string without "{{" is no template', () => {
    assert.equal(compileTemplate('plain }} text'), undefined);
    assert.equal(compileTemplate(''), undefined);
  });

  test('text and expressions in order; a quoted literal is text', () => {
    assert.deepEqual(compiled("a{{ pod.name }}b{{ 'lit' }}{{namespace.name}}").segments, [
      'a',
      { variable: { root: 'pod', field: 'name' }, source: 'pod.name' },
      'b',
      'lit',
      { variable: { root: 'namespace', field: 'name' }, source: 'namespace.name' },
    ]);
    assert.deepEqual(compiled("{{ pod.labels['app'] ?? 'none' | dns-label }}").segments, [
      { variable: { root: 'pod', field: 'labels', key: 'app' }, source: "pod.labels['app'] ?? 'none' | dns-label", fallback: 'none', rule: 'dns-label' },
    ]);
    assert.deepEqual(compiled("{{ pod.labels['it\\'s'] }}").segments, [
      { variable: { root: 'pod', field: 'labels', key: "it's" }, source: "pod.labels['it\\'s']" },
    ]);
    assert.deepEqual(compiled("{{ 'a\\'b' }}").segments, ["a'b"]);
  });

  test('every compile error names the expression and what is wrong', () => {
    compileError('x {{ pod.name', 'unclosed "{{" in "x {{ pod.name"');
    compileError('{{ pod.name | shout }}', `{{ pod.name | shout }}: unknown rule "shout"; known rules are ${VALUE_RULE_NAMES.join(', ')}`);
    compileError("{{ pod.name ?? 'a' ?? 'b' }}", `{{ pod.name ?? 'a' ?? 'b' }}: only one "??" fallback is allowed`);
    compileError('{{ pod.name ?? none }}', `{{ pod.name ?? none }}: the fallback after "??" must be a quoted string such as 'none'`);
    assert.throws(() => compileTemplate("{{ pod.name ?? 'Not A Label' | dns-label }}"), {
      message: /^\{\{ pod\.name \?\? 'Not A Label' \| dns-label \}\}: the fallback "Not A Label" does not follow rule dns-label: it must be a DNS-1123 label/,
    });
    for (const ref of ['pod.uid', 'pod', 'spec.name', "pod.name['x']", "profile.labels['x']", "namespace.annotations['x']", 'pod.labels'])
      compileError(`{{ ${ref} }}`, `{{ ${ref} }}: unknown variable ${JSON.stringify(ref)}; known variables are ${KNOWN_VARIABLES}`);
  });
});

describe('renderTemplate', () => {
  test('values, fallbacks, and empty scalars as missing', () => {
    assert.equal(render("{{ pod.name }}/{{ namespace.labels['team'] }}/{{ profile.version }}"), 'web-0/payments/1.2');
    assert.equal(render("{{ pod.labels['nope'] ?? 'dflt' }}"), 'dflt');
    assert.equal(render("{{ pod.serviceAccountName ?? 'default' }}"), 'default', 'an empty string is no value');
    assert.throws(() => render('{{ pod.generateName }}'), { message: '{{ pod.generateName }} has no value for this pod and no "??" fallback' });
  });

  test('a rule checks values from the pod and namespace, the template’s own before the profile’s; profile values are not checked', () => {
    assert.equal(render("{{ pod.labels['app'] | dns-label }}"), 'web');
    const broken = `{{ pod.annotations['long'] | dns-label }}: the value "${'x'.repeat(40)}…" breaks rule dns-label: it must be no more than 63 characters`;
    assert.throws(() => render("{{ pod.annotations['long'] | dns-label }}"), { message: broken });
    // The profile's rule applies where the template names none; the template's own wins over it.
    assert.throws(() => render("{{ pod.annotations['long'] }}", 'dns-label'), /breaks rule dns-label/);
    assert.equal(render("{{ pod.annotations['long'] | dns-subdomain }}", 'dns-label'), 'x'.repeat(70));
    assert.equal(render("{{ pod.labels['it\\'s'] | dns-label }}", 'label-value'), 'q', 'an escaped quote in the key');
    assert.equal(render('{{ profile.version }}', 'dns-label'), '1.2', 'the profile’s own values follow no rule');
  });

  test('the length bound is checked as the text grows and at the end', () => {
    assert.equal(render('{{ pod.name }}', undefined, 5), 'web-0');
    assert.throws(() => render('{{ pod.name }}!', undefined, 5), { message: 'renders to more than 5 characters' });
    assert.throws(() => render("{{ pod.annotations['long'] }}{{ pod.name }}", undefined, 10), RangeError);
  });
});
