/**
 * A profile's templates, compiled once when the profile is loaded (profiles/compile.ts) and kept on
 * it, so a request renders without compiling or searching for templates: the renderer walks a
 * profile's parts along this tree and shares every subtree without a template as it is.
 */
import { isObject, type JsonValue } from '../common/json.ts';
import type { Parts } from './render.ts';
import { compileTemplate, type Template, type Variable } from './template.ts';

/** Where a part's templates are: null for a subtree without any. */
export type TemplateTree = { template: Template } | { items: readonly TemplateTree[] } | { fields: ReadonlyMap<string, TemplateTree> } | null;

/** The parts of a profile that may hold templates, as in the profile's spec. */
export const TEMPLATED_PARTS = ['containers', 'initContainers', 'volumes', 'volumeMounts', 'env', 'envFrom', 'labels', 'annotations'] as const;
export type TemplatedPart = (typeof TEMPLATED_PARTS)[number];

export interface ProfileTemplates {
  parts: Readonly<Record<TemplatedPart, TemplateTree>>;
  /** Every variable the templates read, each once, in the order they first appear. */
  variables: readonly Variable[];
  /**
   * The profile's renderings, by the values they read (render.ts). Lives and goes with the loaded
   * profile: nothing outlives a reload, and no module holds state of its own.
   */
  renderings: Map<string, Parts>;
}

/** Compiles one value's templates. Throws on a template that does not compile (validation reports those first, with their paths). */
export function templateTree(v: JsonValue): TemplateTree {
  if (typeof v === 'string') {
    const template = compileTemplate(v);
    return template ? { template } : null;
  }
  if (Array.isArray(v)) {
    const items = v.map(templateTree);
    return items.some((t) => t !== null) ? { items } : null;
  }
  if (isObject(v)) {
    const fields = new Map<string, TemplateTree>();
    for (const [k, x] of Object.entries(v)) {
      const t = templateTree(x);
      if (t) fields.set(k, t);
    }
    return fields.size > 0 ? { fields } : null;
  }
  return null;
}

/** Undefined for a profile without templates. */
export function compileProfileTemplates(parts: Readonly<Record<TemplatedPart, JsonValue>>): ProfileTemplates | undefined {
  const trees = Object.fromEntries(TEMPLATED_PARTS.map((p) => [p, templateTree(parts[p])])) as Record<TemplatedPart, TemplateTree>;
  if (TEMPLATED_PARTS.every((p) => trees[p] === null)) return undefined;
  const found = new Map<string, Variable>();
  const walk = (t: TemplateTree): void => {
    if (t === null) return;
    if ('template' in t) {
      for (const seg of t.template.segments)
        if (typeof seg !== 'string' && !found.has(JSON.stringify(seg.variable))) found.set(JSON.stringify(seg.variable), seg.variable);
    } else if ('items' in t) t.items.forEach(walk);
    else for (const x of t.fields.values()) walk(x);
  };
  for (const p of TEMPLATED_PARTS) walk(trees[p]);
  return { parts: Object.freeze(trees), variables: Object.freeze([...found.values()]), renderings: new Map() };
}
