/**
 * Templating of profile string values from the pod and its namespace.
 *
 * Syntax: `{{ pod.labels['app.kubernetes.io/name'] }}`, `{{ namespace.name }}`, with an optional
 * fallback for a missing value: `{{ pod.labels['team'] ?? 'none' }}`. A template is compiled once at
 * profile load (an unknown variable is a load error) and rendered per pod. Rendering only ever
 * produces a string that replaces a string: values from the pod never become YAML or JSON text.
 */

export type Variable =
  | { root: 'pod'; field: 'name' | 'generateName' | 'namespace' | 'serviceAccountName' }
  | { root: 'pod'; field: 'labels' | 'annotations'; key: string }
  | { root: 'namespace'; field: 'name' }
  | { root: 'namespace'; field: 'labels'; key: string }
  | { root: 'profile'; field: 'name' | 'version' };

export type Segment = string | { variable: Variable; source: string; fallback?: string };

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

function parseExpression(source: string): Segment {
  const literal = unquote(source);
  if (literal !== undefined) return literal;
  const [ref, fallbackText, ...extra] = source.split('??');
  if (extra.length > 0) throw new Error(`{{ ${source} }}: only one "??" fallback is allowed`);
  let fallback: string | undefined;
  if (fallbackText !== undefined) {
    fallback = unquote(fallbackText);
    if (fallback === undefined) throw new Error(`{{ ${source} }}: the fallback after "??" must be a quoted string such as 'none'`);
  }
  const variable = parseVariable((ref as string).trim(), source);
  return fallback === undefined ? { variable, source } : { variable, source, fallback };
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

/** Renders a compiled template; throws a message naming the variable when a value is missing and no fallback is given. */
export function renderTemplate(t: Template, values: TemplateValues): string {
  let out = '';
  for (const s of t.segments) {
    if (typeof s === 'string') {
      out += s;
      continue;
    }
    const v = lookup(s.variable, values);
    if (v !== undefined) out += v;
    else if (s.fallback !== undefined) out += s.fallback;
    else throw new Error(`{{ ${s.source} }} has no value for this pod and no "??" fallback`);
  }
  return out;
}

export function lookup(v: Variable, values: TemplateValues): string | undefined {
  const scope = values[v.root] as Record<string, unknown>;
  if ('key' in v) {
    const map = scope[v.field] as Record<string, string>;
    return Object.hasOwn(map, v.key) ? map[v.key] : undefined;
  }
  const s = scope[v.field];
  return typeof s === 'string' && s !== '' ? s : undefined;
}
