/** The policy-mode e2e test's team profile, with value rules, and the pods written for them. */
import { VALUE_RULES } from '../../src/engine/index.ts';
import { ruleValues } from '../support/rule-values.ts';
import { app, doc, pod } from './policy-fixtures.ts';
import type { Pod } from './policy-support.ts';

/**
 * On request; a template without fallback (the engine's template-error for a pod without the
 * label), and value rules: the profile's (label-value) on every value from the pod, and a
 * template's own on some. A value that breaks its rule is a template-error with the value in it.
 */
export const TEAM = doc('team', {
  version: '1',
  templateValues: { rule: 'label-value' },
  containers: [
    {
      name: 'team',
      image: 'example.com/team:1',
      args: [
        "--team={{ pod.labels['team'] }}",
        "--app={{ pod.labels['app'] ?? 'none' | dns-label }}",
        "--at={{ pod.annotations['e2e.outrigger.dev/note'] ?? '' }}",
        "--tag={{ pod.annotations['e2e.outrigger.dev/tag'] ?? 'latest' | image-tag }}",
        "--from={{ pod.generateName ?? 'named' | alphanumeric }}.{{ pod.serviceAccountName ?? 'none' }}",
        "--host={{ pod.annotations['e2e.outrigger.dev/host'] ?? 'local' | dns-subdomain }}@{{ profile.version }}",
      ],
    },
  ],
  metadata: { annotations: { 'team.example.com/of': "{{ pod.labels['team'] }}" } },
});

const E = '😀';
const team = (labels: Record<string, string> = {}, annotations: Record<string, string> = {}) => ({ labels: { team: 'checkout', ...labels }, annotations });
const note = (v: string, more: Record<string, string> = {}) => team({}, { 'e2e.outrigger.dev/note': v, ...more });
/**
 * Pods for the team profile's value rules, by the outcome the engine gives them: values that
 * break a rule (quotes, backslashes, controls, U+2028, astral characters, long values cut at 40
 * UTF-16 units, a cut that splits a surrogate pair), values that just follow it, and the order of
 * several errors.
 */
export const RULE_CRAFTED: { where: string; pod: Pod; outcome: 'injected' | 'denied' }[] = [
  ...(
    [
      [
        'rules-followed',
        team({ app: 'shop' }, { 'e2e.outrigger.dev/note': 'fine.note_1', 'e2e.outrigger.dev/tag': 'v1.2', 'e2e.outrigger.dev/host': 'a.example.com' }),
      ],
      ['rules-at-their-longest', team({ app: 'a'.repeat(63) }, { 'e2e.outrigger.dev/note': 'n'.repeat(63), 'e2e.outrigger.dev/tag': `_${'v'.repeat(127)}` })],
      ['rules-empty-note', note('')],
    ] as const
  ).map(([name, meta]) => ({ ...pod(name, { containers: [app()] }, meta), outcome: 'injected' as const })),
  ...(
    [
      ['rule-app-upper', team({ app: 'Shop' })],
      ['rule-app-cut', team({ app: `a_${'b'.repeat(50)}c` })],
      ['rule-note-quotes', note('he said "hi"')],
      ['rule-note-controls', note('a\\b\nc\td\r\u0000\u001f\u007f\b\f\u000b')],
      ['rule-note-separators', note('x\u2028y\u2029z…ü\ufeff')],
      ['rule-note-template', note('he said "hi"\n\\ ü 😀 {{ x }}')],
      ['rule-note-long', note('n'.repeat(64))],
      ['rule-note-emoji-split', note(`${'a'.repeat(39)}${E}b`)],
      ['rule-note-emoji-whole', note(`${'a'.repeat(38)}${E}bb`)],
      ['rule-note-20-emoji', note(E.repeat(20))],
      ['rule-note-21-emoji', note(E.repeat(21))],
      ['rule-note-32-emoji', note(E.repeat(32))],
      ['rule-note-last-plane-split', note(`${'a'.repeat(39)}\u{10FFFF}`)],
      ['rule-note-first-astral-split', note(`${'a'.repeat(39)}\u{10000}zz`)],
      ['rule-note-escape-at-cut', note(`${'a'.repeat(39)}\n${'b'.repeat(10)}`)],
      ['rule-note-backslash-at-cut', note(`${'a'.repeat(39)}\\"${'b'.repeat(10)}`)],
      ['rule-note-huge', note(`${'x'.repeat(200_000)}"`)],
      ['rule-tag-bad', team({}, { 'e2e.outrigger.dev/tag': '.v1' })],
      ['rule-tag-long', team({}, { 'e2e.outrigger.dev/tag': 'v'.repeat(129) })],
      ['rule-tag-emoji-long', team({}, { 'e2e.outrigger.dev/tag': E.repeat(65) })],
      ['rule-host-bad', team({}, { 'e2e.outrigger.dev/host': 'Host.Example' })],
      ['rule-host-long', team({}, { 'e2e.outrigger.dev/host': `${'a.'.repeat(127)}a` })],
      ['rule-first-of-several', team({ app: 'Shop' }, { 'e2e.outrigger.dev/note': '"', 'e2e.outrigger.dev/tag': '.' })],
      ['rule-before-override', note('"', { 'outrigger.dev/team.image-tag': '2' })],
      ['rule-after-missing', { labels: { app: 'Shop' }, annotations: { 'e2e.outrigger.dev/note': '"' } }],
    ] as const
  ).map(([name, meta]) => ({ ...pod(name, { containers: [app()] }, meta), outcome: 'denied' as const })),
  { ...pod('rule-long-service-account', { serviceAccountName: `sa-${'x'.repeat(70)}`, containers: [app()] }, team()), outcome: 'denied' },
  {
    where: 'crafted rule-generate-name',
    pod: { metadata: { generateName: 'rule-gen-', ...team() }, spec: { containers: [app()] } },
    outcome: 'denied',
  },
];

/**
 * Every adversarial value (test/support/rule-values.ts) as the note, under the profile's
 * label-value rule, and those at the image-tag and dns-subdomain bounds as the tag and the host:
 * the API server runs the rule's CEL and builds the message on each.
 */
export const RULE_VALUE_PODS: { where: string; pod: Pod; outcome: 'injected' | 'denied' }[] = (
  [
    ['note', 'label-value', () => true],
    ['tag', 'image-tag', (v: string) => v.length >= 126 && v.length <= 130],
    ['host', 'dns-subdomain', (v: string) => v.length >= 251 && v.length <= 255],
  ] as const
).flatMap(([key, rule, near]) =>
  ruleValues()
    .filter(near)
    .map((v, i) => ({
      ...pod(`rule-${key}-${i}`, { containers: [app()] }, team({}, { [`e2e.outrigger.dev/${key}`]: v })),
      outcome: VALUE_RULES[rule](v) === undefined ? ('injected' as const) : ('denied' as const),
    })),
);
