/**
 * A profile's parts as they will be added to one pod: templates rendered from the pod and its
 * namespace, then the per-pod overrides the profile allows. Profiles without templates or overrides
 * are returned as loaded (frozen, shared), so the common case allocates nothing.
 */
import { deepFreeze, isObject, type JsonObject, type JsonValue, setOwn } from '../common/json.ts';
import { imageTag } from '../common/k8s-names.ts';
import { asNativeSidecar } from './native-sidecar.ts';
import type { SidecarProfile } from './profile.ts';
import type { ProfileTemplates, TemplateTree } from './profile-templates.ts';
import { MAX_QUANTITY_LENGTH, parseQuantity } from './quantity.ts';
import { lookup, renderTemplate, type TemplateValues, type ValueRule } from './template.ts';
import { MAX_ANNOTATION_BYTES } from './validate-pod.ts';

export interface Parts {
  containers: readonly JsonObject[];
  initContainers: readonly JsonObject[];
  volumes: readonly JsonObject[];
  volumeMounts: readonly JsonObject[];
  env: readonly JsonObject[];
  envFrom: readonly JsonObject[];
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  imagePullSecrets: readonly JsonObject[];
  /**
   * `containers` as native sidecars, made once with them, so pods get the same objects each time and
   * their validation (memoised per object) runs once; without it the merge makes its own. Parts with
   * other `containers` must not carry it along.
   */
  nativeContainers?: readonly JsonObject[];
  /** What the templates rendered; absent for a profile's own parts (nothing rendered). */
  text?: RenderedText;
}

export class RenderError extends Error {
  readonly reason: 'template-error' | 'invalid-override';
  constructor(reason: 'template-error' | 'invalid-override', message: string) {
    super(message);
    this.reason = reason;
  }
}

export const overrideAnnotation = (profile: string, what: 'image-tag' | 'resources') => `outrigger.dev/${profile}.${what}`;

const OVERRIDABLE_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);

/**
 * Most text the templates of all profiles may render for one pod (one admission), together. The API
 * server stores no object larger than 1.5 MiB, so no admissible pod needs more; without a bound, a
 * template repeating a large annotation rendered hundreds of megabytes, and a cap per profile still
 * let 64 profiles render 64 MiB.
 */
export const MAX_RENDERED_TEXT = 1024 * 1024;

/**
 * What one admission has left of MAX_RENDERED_TEXT, shared by every profile it renders, in the
 * record check as in the merge. A profile is charged once per set of values its templates read
 * (rendering it again from the same values gives the same text); other values are charged again, so
 * a record check on small values cannot leave the merge's large ones uncounted.
 */
export interface RenderBudget {
  left: number;
  /** Per profile, the keys (values read) of the renderings already charged. */
  readonly charged: Map<SidecarProfile, Set<string>>;
}

export const renderBudget = (): RenderBudget => ({ left: MAX_RENDERED_TEXT, charged: new Map() });

const OVER_BUDGET = `the templates of the profiles this pod requests render more than ${MAX_RENDERED_TEXT} characters together`;

/** What one rendering of a profile has left of the admission's budget. */
interface Rendering {
  values: TemplateValues;
  rule: ValueRule | undefined;
  left: number;
}

/** `v` with the templates `tree` locates rendered; subtrees without one are shared as they are. */
function renderValue(v: JsonValue, tree: TemplateTree, r: Rendering, path: string): JsonValue {
  if (tree === null) return v;
  if ('template' in tree) {
    try {
      const out = renderTemplate(tree.template, r.values, r.rule, r.left);
      r.left -= out.length;
      return out;
    } catch (e) {
      if (e instanceof RangeError) throw new RenderError('template-error', `${path}: ${OVER_BUDGET}`);
      throw new RenderError('template-error', `${path}: ${(e as Error).message}`);
    }
  }
  if ('items' in tree) return (v as JsonValue[]).map((x, i) => renderValue(x, tree.items[i] ?? null, r, `${path}[${i}]`));
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v as JsonObject)) setOwn(out, k, renderValue(x, tree.fields.get(k) ?? null, r, `${path}.${k}`));
  return out;
}

/** Replaces the tag (and drops any digest) of an image reference. */
export function withTag(image: string, tag: string): string {
  const at = image.indexOf('@');
  const base = at >= 0 ? image.slice(0, at) : image;
  const colon = base.lastIndexOf(':');
  const repo = colon > base.lastIndexOf('/') ? base.slice(0, colon) : base;
  return `${repo}:${tag}`;
}

function parseResourcesOverride(raw: string, key: string): JsonObject {
  if (raw.length > MAX_ANNOTATION_BYTES)
    throw new RenderError('invalid-override', `${key}: the value is longer than the 256 KiB the API server allows for all annotations together`);
  let v: JsonValue;
  try {
    v = JSON.parse(raw) as JsonValue;
  } catch {
    throw new RenderError('invalid-override', `${key}: must be JSON such as {"requests":{"cpu":"100m"},"limits":{"memory":"128Mi"}}`);
  }
  if (!isObject(v)) throw new RenderError('invalid-override', `${key}: must be a JSON object with "requests" and/or "limits"`);
  const out: JsonObject = {};
  for (const [section, map] of Object.entries(v)) {
    if (section !== 'requests' && section !== 'limits')
      throw new RenderError('invalid-override', `${key}: unknown field ${JSON.stringify(section)}; only "requests" and "limits" may be overridden`);
    if (!isObject(map)) throw new RenderError('invalid-override', `${key}: ${section} must be an object`);
    const sec: JsonObject = {};
    for (const [r, q] of Object.entries(map)) {
      if (!OVERRIDABLE_RESOURCES.has(r))
        throw new RenderError('invalid-override', `${key}: ${section}.${r} cannot be overridden; allowed resources are cpu, memory, ephemeral-storage`);
      if (typeof q === 'string' && q.length > MAX_QUANTITY_LENGTH)
        throw new RenderError('invalid-override', `${key}: ${section}.${r} is ${q.length} characters long; a quantity has at most ${MAX_QUANTITY_LENGTH}`);
      if (typeof q !== 'string' || parseQuantity(q) === undefined || q.startsWith('-'))
        throw new RenderError('invalid-override', `${key}: ${section}.${r} must be a quantity string such as "100m" or "128Mi"`);
      sec[r] = q;
    }
    out[section] = sec;
  }
  return out;
}

function applyResources(c: JsonObject, override: JsonObject): JsonObject {
  const res = isObject(c.resources) ? c.resources : {};
  const next: JsonObject = { ...res };
  for (const [section, map] of Object.entries(override)) next[section] = { ...(isObject(res[section]) ? res[section] : {}), ...(map as JsonObject) };
  return { ...c, resources: next };
}

/**
 * Characters a rendering's templates produced: in all, and in env, envFrom and volumeMounts (which
 * go into every targeted container). Kept to charge a remembered rendering again, and so the pod's
 * size can be estimated without serialising what was rendered.
 */
export interface RenderedText {
  total: number;
  perTarget: number;
}
export const renderedTextOf = (parts: Parts): RenderedText => parts.text ?? { total: 0, perTarget: 0 };

function render(profile: SidecarProfile, templates: ProfileTemplates, vals: TemplateValues, left: number): Parts {
  const rendering: Rendering = { values: vals, rule: profile.templateRule, left };
  const text = { total: 0, perTarget: 0 };
  const parts = renderAll(profile, templates, rendering, text);
  text.total = left - rendering.left;
  return deepFreeze({ ...parts, nativeContainers: parts.containers.map(asNativeSidecar), text });
}

function renderAll(profile: SidecarProfile, { parts: trees }: ProfileTemplates, rendering: Rendering, text: RenderedText): Parts {
  const r = (part: 'containers' | 'initContainers' | 'volumes' | 'volumeMounts' | 'env' | 'envFrom') =>
    renderValue(profile[part] as JsonValue, trees[part], rendering, `spec.${part}`) as JsonObject[];
  const perTarget = (part: 'volumeMounts' | 'env' | 'envFrom') => {
    const before = rendering.left;
    const out = r(part);
    text.perTarget += before - rendering.left;
    return out;
  };
  const meta = (part: 'labels' | 'annotations') =>
    renderValue(profile[part] as JsonObject, trees[part], rendering, `spec.metadata.${part}`) as Record<string, string>;
  return {
    containers: r('containers'),
    initContainers: r('initContainers'),
    volumes: r('volumes'),
    volumeMounts: perTarget('volumeMounts'),
    env: perTarget('env'),
    envFrom: perTarget('envFrom'),
    labels: meta('labels'),
    annotations: meta('annotations'),
    imagePullSecrets: profile.imagePullSecrets,
  };
}

/**
 * Rendered parts, remembered on the profile's templates by the values they read: pods of one
 * workload share labels and namespace, so most requests reuse a rendering (and its containers,
 * whose validation is memoised per object). Each admission is charged once per set of values.
 */
function renderedParts(profile: SidecarProfile, templates: ProfileTemplates, vals: TemplateValues, budget: RenderBudget): Parts {
  const key = JSON.stringify(templates.variables.map((v) => lookup(v, vals) ?? null));
  const cache = templates.renderings;
  let parts = cache.get(key);
  if (!parts) {
    parts = render(profile, templates, vals, budget.charged.get(profile)?.has(key) ? MAX_RENDERED_TEXT : budget.left);
    // Values from pods are keys here: large ones (a templated annotation) are rendered, not kept.
    if (key.length <= 4096) {
      if (cache.size >= 256) cache.clear();
      cache.set(key, parts);
    }
  }
  const charged = budget.charged.get(profile) ?? new Set();
  if (!charged.has(key)) {
    const text = renderedTextOf(parts).total;
    if (text > budget.left) throw new RenderError('template-error', `spec: ${OVER_BUDGET}`);
    budget.left -= text;
    charged.add(key);
    budget.charged.set(profile, charged);
  }
  return parts;
}

/** `values` is called only for profiles that hold templates; `budget` is the admission's. */
export function renderParts(
  profile: SidecarProfile,
  values: () => TemplateValues,
  podAnnotations: Readonly<Record<string, string>>,
  budget: RenderBudget,
): Parts {
  const parts = profile.templates ? renderedParts(profile, profile.templates, values(), budget) : profile;

  const tagKey = overrideAnnotation(profile.name, 'image-tag');
  const resKey = overrideAnnotation(profile.name, 'resources');
  const tag = Object.hasOwn(podAnnotations, tagKey) ? podAnnotations[tagKey] : undefined;
  const res = Object.hasOwn(podAnnotations, resKey) ? podAnnotations[resKey] : undefined;
  if (tag === undefined && res === undefined) return parts;

  if (tag !== undefined && !profile.overrides.imageTag)
    throw new RenderError(
      'invalid-override',
      `${tagKey}: profile ${JSON.stringify(profile.name)} does not allow overriding the image tag (spec.overrides.imageTag)`,
    );
  if (res !== undefined && !profile.overrides.resources)
    throw new RenderError(
      'invalid-override',
      `${resKey}: profile ${JSON.stringify(profile.name)} does not allow overriding resources (spec.overrides.resources)`,
    );
  const tagError = tag === undefined ? undefined : imageTag(tag);
  if (tag !== undefined && tagError)
    throw new RenderError('invalid-override', `${tagKey}: ${tag.length > 128 ? `the value (${tag.length} characters)` : JSON.stringify(tag)} ${tagError}`);
  const resources = res === undefined ? undefined : parseResourcesOverride(res, resKey);
  const apply = (c: JsonObject): JsonObject => {
    let out = c;
    if (tag !== undefined && typeof c.image === 'string') out = { ...out, image: withTag(c.image, tag) };
    if (resources) out = applyResources(out, resources);
    return out;
  };
  const { nativeContainers: _, ...own } = parts;
  return { ...own, containers: parts.containers.map(apply), initContainers: parts.initContainers.map(apply) };
}
