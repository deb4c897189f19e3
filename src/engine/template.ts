/**
 * Templating of profile string values from the pod and its namespace.
 *
 * Syntax: `{{ pod.labels['app.kubernetes.io/name'] }}`, `{{ namespace.name }}`, with an optional
 * fallback for a missing value: `{{ pod.labels['team'] ?? 'none' }}` and an optional rule the value
 * must follow: `{{ pod.labels['team'] | dns-label }}`. A template is compiled once at profile load
 * (an unknown variable or rule is a load error) and rendered per pod. Rendering only ever produces a
 * string that replaces a string: values from the pod never become YAML or JSON text, but they can
 * carry any character into it (a newline, `;`, `..`), which is what the rules are for.
 */
import { dns1123Label, dns1123Subdomain, imageTag, labelValue } from '../common/k8s-names.ts';

export type Variable =
  | { root: 'pod'; field: 'name' | 'generateName' | 'namespace' | 'serviceAccountName' }
  | { root: 'pod'; field: 'labels' | 'annotations'; key: string }
  | { root: 'namespace'; field: 'name' }
  | { root: 'namespace'; field: 'labels'; key: string }
  | { root: 'profile'; field: 'name' | 'version' };

/**
 * Rules a value from the pod or its namespace must follow, a fixed set of character classes checked
 * in linear time (no pattern from a profile ever runs on a pod's value).
 */
export const VALUE_RULES = {
  'dns-label': dns1123Label,
  'dns-subdomain': dns1123Subdomain,
  'label-value': labelValue,
  'image-tag': imageTag,
  alphanumeric: (v: string) => (v.length > 0 && v.length <= 253 && /^[A-Za-z0-9]+$/.test(v) ? undefined : 'must be 1 to 253 letters and digits'),
} as const satisfies Record<string, (v: string) => string | undefined>;

export type ValueRule = keyof typeof VALUE_RULES;
export const VALUE_RULE_NAMES = Object.keys(VALUE_RULES) as ValueRule[];
const isRule = (r: string): r is ValueRule => Object.hasOwn(VALUE_RULES, r);

export type Segment = string | { variable: Variable; source: string; fallback?: string; rule?: ValueRule };

export interface Template {
  segments: Segment[];
}

export interface TemplateValues {
  pod: {
    name?: string;
    generateName?: string;
    namespace: string;
    serviceAccountName?: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  namespace: { name: string; labels: Record<string, string> };
  profile: { name: string; version: string };
}

const SCALARS: Record<string, readonly string[]> = {
  pod: ['name', 'generateName', 'namespace', 'serviceAccountName'],
  namespace: ['name'],
  profile: ['name', 'version'],
};
const MAPS: Record<string, readonly string[]> = { pod: ['labels', 'annotations'], namespace: ['labels'] };

export const KNOWN_VARIABLES =
  "pod.name, pod.generateName, pod.namespace, pod.serviceAccountName, pod.labels['KEY'], pod.annotations['KEY'], namespace.name, namespace.labels['KEY'], profile.name, profile.version";

/** Returns undefined for a string without `{{`, so plain strings cost nothing at render time. */
export function compileTemplate(text: string): Template | undefined {
  if (!text.includes('{{')) return undefined;
  const segments: Segment[] = [];
  let rest = text;
  while (rest.length > 0) {
    const open = rest.indexOf('{{');
    if (open < 0) {
      segments.push(rest);
      break;
    }
    if (open > 0) segments.push(rest.slice(0, open));
    const close = rest.indexOf('}}', open + 2);
    if (close < 0) throw new Error(`unclosed "{{" in ${JSON.stringify(text)}`);
    const source = rest.slice(open + 2, close).trim();
    segments.push(parseExpression(source));
    rest = rest.slice(close + 2);
  }
  return { segments };
}

const LITERAL = /^'((?:[^'\\]|\\.)*)'$/;

function unquote(lit: string): string | undefined {
  const m = LITERAL.exec(lit.trim());
  return m ? (m[1] as string).replace(/\\(.)/g, '$1') : undefined;
}

// A trailing `| rule`; a quoted fallback ends in a quote, so a `|` inside it never matches.
const RULE_SUFFIX = /\|\s*([a-z-]+)$/;

function parseExpression(source: string): Segment {
  const literal = unquote(source);
  if (literal !== undefined) return literal;
  const ruled = RULE_SUFFIX.exec(source);
  const rule = ruled?.[1];
  if (rule !== undefined && !isRule(rule))
    throw new Error(`{{ ${source} }}: unknown rule ${JSON.stringify(rule)}; known rules are ${VALUE_RULE_NAMES.join(', ')}`);
  const expr = ruled ? source.slice(0, ruled.index).trim() : source;
  const [ref, fallbackText, ...extra] = expr.split('??');
  if (extra.length > 0) throw new Error(`{{ ${source} }}: only one "??" fallback is allowed`);
  let fallback: string | undefined;
  if (fallbackText !== undefined) {
    fallback = unquote(fallbackText);
    if (fallback === undefined) throw new Error(`{{ ${source} }}: the fallback after "??" must be a quoted string such as 'none'`);
  }
  const variable = parseVariable((ref as string).trim(), source);
  if (rule !== undefined && fallback !== undefined) {
    const e = VALUE_RULES[rule](fallback);
    if (e) throw new Error(`{{ ${source} }}: the fallback ${JSON.stringify(fallback)} does not follow rule ${rule}: it ${e}`);
  }
  return { variable, source, ...(fallback === undefined ? {} : { fallback }), ...(rule === undefined ? {} : { rule }) };
}

function parseVariable(ref: string, source: string): Variable {
  const unknown = () => new Error(`{{ ${source} }}: unknown variable ${JSON.stringify(ref)}; known variables are ${KNOWN_VARIABLES}`);
  const m = /^([a-zA-Z]+)\.([a-zA-Z]+)(?:\[\s*'((?:[^'\\]|\\.)*)'\s*\])?$/.exec(ref);
  if (!m) throw unknown();
  const [, root, field, rawKey] = m as unknown as [string, string, string, string | undefined];
  if (rawKey === undefined) {
    if (!SCALARS[root]?.includes(field)) throw unknown();
    return { root, field } as Variable;
  }
  if (!MAPS[root]?.includes(field)) throw unknown();
  return { root, field, key: rawKey.replace(/\\(.)/g, '$1') } as Variable;
}

/**
 * Renders a compiled template; throws a message naming the variable when a value is missing and no
 * fallback is given, or when a value from the pod or namespace breaks its rule (the template's own,
 * else `defaultRule`, the profile's).
 */
export function renderTemplate(t: Template, values: TemplateValues, defaultRule?: ValueRule, maxLength = Number.POSITIVE_INFINITY): string {
  let out = '';
  for (const s of t.segments) {
    // Checked as it grows: a template repeating a large annotation would otherwise build gigabytes.
    if (out.length > maxLength) throw new RangeError(`renders to more than ${maxLength} characters`);
    if (typeof s === 'string') {
      out += s;
      continue;
    }
    const v = lookup(s.variable, values);
    if (v === undefined) {
      if (s.fallback === undefined) throw new Error(`{{ ${s.source} }} has no value for this pod and no "??" fallback`);
      out += s.fallback;
      continue;
    }
    const rule = s.rule ?? (s.variable.root === 'profile' ? undefined : defaultRule);
    const broken = rule === undefined ? undefined : VALUE_RULES[rule](v);
    if (broken) throw new Error(`{{ ${s.source} }}: the value ${cut(v)} breaks rule ${rule}: it ${broken}`);
    out += v;
  }
  if (out.length > maxLength) throw new RangeError(`renders to more than ${maxLength} characters`);
  return out;
}

/** A pod's value in a message: quoted, and cut, since it can be as long as an annotation. */
const cut = (v: string): string => JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);

export function lookup(v: Variable, values: TemplateValues): string | undefined {
  const scope = values[v.root] as Record<string, unknown>;
  if ('key' in v) {
    const map = scope[v.field] as Record<string, string>;
    return Object.hasOwn(map, v.key) ? map[v.key] : undefined;
  }
  const s = scope[v.field];
  return typeof s === 'string' && s !== '' ? s : undefined;
}
