/**
 * A profile's templates (engine/template.ts, render.ts) as CEL: each templated string becomes a
 * CEL string expression over the pod and its namespace, and each value without a fallback a
 * possible template error, with the engine's message, in the engine's render order. Templates
 * whose result the engine validates itself (an image, ports, resources, mounts, labels) or records
 * as JSON (envFrom) are refused. A value rule is a possible template error too, with the engine's
 * message (rules.ts).
 */
import { isObject, type JsonObject, type JsonValue } from '../common/json.ts';
import { compileTemplate, type SidecarProfile } from '../engine/index.ts';
import { CelExpr, NotRepresentable, str } from './cel.ts';
import { followsRule, ruleReason } from './rules.ts';

/** Where the engine's own validation (validate-pod.ts) reads a rendered value, or the record holds it as JSON. */
const VALIDATED = /^spec\.(containers|initContainers)\[\d+\]\.(image|ports|resources|volumeMounts)\b|^spec\.(volumeMounts|envFrom|metadata\.labels)\b/;

export const TEMPLATE_WHY = {
  podName:
    'the API server names a generateName pod after mutation and before validation, so the validating policy would read a name the engine never saw ({{ pod.name }})',
  validated:
    "the engine checks this field after rendering (validate-pod.ts) or records it as JSON in the status record; a template's value could make the webhook's answer and the API server's differ",
} as const;

type Segments = NonNullable<ReturnType<typeof compileTemplate>>['segments'];
type Variable = Exclude<Segments[number], string>['variable'];

/** A present value as [present, value] CEL expressions (lookup in template.ts: '' counts only in maps). */
function lookupCel(v: Variable, p: SidecarProfile): [string, string] {
  if (v.root === 'profile') return ['true', str(v.field === 'name' ? p.name : p.version)];
  if (v.root === 'namespace' || (v.root === 'pod' && v.field === 'namespace')) {
    if ('key' in v) {
      const labels = 'namespaceObject.metadata.labels';
      return [`(has(${labels}) && ${str(v.key)} in ${labels})`, `${labels}[${str(v.key)}]`];
    }
    return ['true', 'namespaceObject.metadata.name'];
  }
  if ('key' in v) {
    const map = `object.metadata.${v.field}`;
    return [`(has(${map}) && ${str(v.key)} in ${map})`, `${map}[${str(v.key)}]`];
  }
  const field = v.field === 'serviceAccountName' ? 'object.spec.serviceAccountName' : `object.metadata.${v.field}`;
  return [`(has(${field}) && ${field} != '')`, field];
}

export interface TemplateError {
  /** True when the value is missing for this pod. */
  when: string;
  message: string;
  /** The message as a CEL expression, when it holds a value from the pod (then `message` is unused). */
  expression?: string;
  /** For a value that breaks its rule: the value, and the message's CEL around the value cut and quoted (then `message` is unused). */
  broken?: { value: string; before: string; after: string };
}

/** One templated string: its CEL, and its possible errors (a missing value renders as '' meanwhile, so nothing errs). */
function compileString(text: string, path: string, p: SidecarProfile, errors: TemplateError[]): CelExpr {
  const t = compileTemplate(text);
  if (!t) return new CelExpr(str(text, path));
  const parts: string[] = [];
  for (const s of t.segments) {
    if (typeof s === 'string') {
      parts.push(str(s, path));
      continue;
    }
    if (s.variable.root === 'pod' && s.variable.field === 'name') throw new NotRepresentable(path, TEMPLATE_WHY.podName);
    const [present, value] = lookupCel(s.variable, p);
    if (s.fallback === undefined) errors.push({ when: `!(${present})`, message: `${path}: {{ ${s.source} }} has no value for this pod and no "??" fallback` });
    // The rule is checked on a present value only (a fallback was checked at load), as the engine renders.
    const rule = s.rule ?? (s.variable.root === 'profile' ? undefined : p.templateRule);
    if (rule !== undefined)
      errors.push({
        when: `${present} && !${followsRule(rule, value)}`,
        message: '',
        broken: {
          value,
          before: str(`${path}: {{ ${s.source} }}: the value `, path),
          after: `${str(` breaks rule ${rule}: it `)} + ${ruleReason(rule, value)}`,
        },
      });
    parts.push(`(${present} ? ${value} : ${str(s.fallback ?? '', path)})`);
  }
  return new CelExpr(parts.length === 0 ? "''" : parts.join(' + '));
}

/** `v` with its templated strings as CelExpr, walked in the engine's render order. */
function render(v: JsonValue, path: string, p: SidecarProfile, errors: TemplateError[]): JsonValue {
  if (typeof v === 'string') {
    if (!v.includes('{{')) return v;
    if (VALIDATED.test(path)) throw new NotRepresentable(path, TEMPLATE_WHY.validated);
    return compileString(v, path, p, errors) as unknown as JsonValue;
  }
  if (Array.isArray(v)) return v.map((x, i) => render(x, `${path}[${i}]`, p, errors));
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, render(x, `${path}.${k}`, p, errors)]));
  return v;
}

/**
 * The profile with its templates as CEL, and the template errors in the order the engine meets
 * them (render.ts renderAll). Native sidecars are made again from the rendered containers.
 */
export function renderedProfile(p: SidecarProfile): { profile: SidecarProfile; errors: TemplateError[] } {
  if (!p.templated) return { profile: p, errors: [] };
  const errors: TemplateError[] = [];
  const part = <T>(v: T, path: string) => render(v as unknown as JsonValue, path, p, errors) as unknown as T;
  const containers = part(p.containers, 'spec.containers');
  const profile: SidecarProfile = {
    ...p,
    containers,
    initContainers: part(p.initContainers, 'spec.initContainers'),
    volumes: part(p.volumes, 'spec.volumes'),
    volumeMounts: part(p.volumeMounts, 'spec.volumeMounts'),
    env: part(p.env, 'spec.env'),
    envFrom: part(p.envFrom, 'spec.envFrom'),
    labels: part(p.labels, 'spec.metadata.labels'),
    annotations: part(p.annotations, 'spec.metadata.annotations'),
    nativeContainers: containers.map((c: JsonObject) => (c.restartPolicy === 'Always' ? c : { ...c, restartPolicy: 'Always' })),
  };
  return { profile, errors };
}
