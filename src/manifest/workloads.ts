/**
 * Where the pod is in a Kubernetes object: the object itself for a Pod, `spec.jobTemplate.spec.template`
 * for a CronJob, `spec.template` for Deployments, StatefulSets, DaemonSets, ReplicaSets,
 * ReplicationControllers, Jobs and any other object whose template is a pod template; `List` items
 * are visited in order. Pure: callers get a function to put the changed pod back.
 */
import { isObject, type JsonObject, type JsonValue } from '../common/json.ts';
import { INJECT_ANNOTATION } from '../common/labels.ts';

export interface PodSite {
  /** Human name for messages: `Deployment shop/frontend`, `List item 3: Pod web`. */
  label: string;
  kind: string;
  name: string;
  namespace?: string;
  /** The pod, or the pod template (`metadata` + `spec`). */
  pod: JsonObject;
  /** Returns a copy of the whole document with this site's pod replaced. */
  replace: (doc: JsonValue, pod: JsonObject) => JsonValue;
  /** The mistake users make most: the inject annotation on the workload instead of its pod template. */
  misplacedAnnotation: boolean;
}

/**
 * The workloads whose inject annotation the webhook checks (the annotation belongs on their pod
 * template): the webhook's rules and the handler's kind check are both made from this list.
 */
export const CHECKED_WORKLOADS = [
  { group: 'apps', resource: 'deployments', kind: 'Deployment' },
  { group: 'apps', resource: 'statefulsets', kind: 'StatefulSet' },
  { group: 'apps', resource: 'daemonsets', kind: 'DaemonSet' },
  { group: 'apps', resource: 'replicasets', kind: 'ReplicaSet' },
  { group: 'batch', resource: 'jobs', kind: 'Job' },
  { group: 'batch', resource: 'cronjobs', kind: 'CronJob' },
] as const;

const KNOWN_TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job']);

type Path = (string | number)[];

function at(v: JsonValue, path: Path): JsonValue | undefined {
  let cur: JsonValue | undefined = v;
  for (const k of path) {
    if (typeof k === 'number') cur = Array.isArray(cur) ? cur[k] : undefined;
    else cur = isObject(cur) && Object.hasOwn(cur, k) ? cur[k] : undefined;
  }
  return cur;
}

function setAt(v: JsonValue, path: Path, value: JsonValue): JsonValue {
  if (path.length === 0) return value;
  const [k, ...rest] = path as [string | number, ...Path];
  if (typeof k === 'number') {
    const copy = (v as JsonValue[]).slice();
    copy[k] = setAt(copy[k] as JsonValue, rest, value);
    return copy;
  }
  return { ...(v as JsonObject), [k]: setAt((v as JsonObject)[k] as JsonValue, rest, value) };
}

function hasInjectAnnotation(meta: JsonValue | undefined): boolean {
  const ann = isObject(meta) ? meta.annotations : undefined;
  return isObject(ann) && Object.hasOwn(ann, INJECT_ANNOTATION);
}

function templatePath(obj: JsonObject): Path | undefined {
  if (obj.kind === 'CronJob' && isObject(at(obj, ['spec', 'jobTemplate', 'spec', 'template']))) return ['spec', 'jobTemplate', 'spec', 'template'];
  const t = at(obj, ['spec', 'template']);
  if (!isObject(t)) return undefined;
  if (KNOWN_TEMPLATE_KINDS.has(obj.kind as string)) return ['spec', 'template'];
  // Any other kind qualifies only when its template really is a pod template.
  return Array.isArray(at(t, ['spec', 'containers'])) ? ['spec', 'template'] : undefined;
}

/** Every pod site in a document, in document order. */
export function findPodSites(doc: JsonValue): PodSite[] {
  const sites: PodSite[] = [];
  visit(doc, [], '', sites);
  return sites;
}

function visit(v: JsonValue, base: Path, prefix: string, sites: PodSite[]): void {
  if (!isObject(v)) return;
  const kind = typeof v.kind === 'string' ? v.kind : '';
  if ((kind === 'List' || kind.endsWith('List')) && Array.isArray(v.items)) {
    v.items.forEach((item, i) => {
      visit(item, [...base, 'items', i], `${prefix}List item ${i + 1}: `, sites);
    });
    return;
  }
  const meta = isObject(v.metadata) ? v.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? `${meta.generateName}*` : '(unnamed)';
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : undefined;
  const label = `${prefix}${kind || 'object'} ${namespace ? `${namespace}/` : ''}${name}`;
  const common = { label, kind, name, ...(namespace ? { namespace } : {}) };
  if (kind === 'Pod' && isObject(v.spec)) {
    sites.push({ ...common, pod: v, replace: (doc, pod) => setAt(doc, base, pod), misplacedAnnotation: false });
    return;
  }
  const path = templatePath(v);
  if (!path) return;
  const template = at(v, path) as JsonObject;
  sites.push({
    ...common,
    pod: template,
    replace: (doc, pod) => setAt(doc, [...base, ...path], pod),
    misplacedAnnotation: hasInjectAnnotation(v.metadata) && !hasInjectAnnotation(template.metadata),
  });
}

export function misplacedAnnotationWarning(site: PodSite): string {
  const template = site.kind === 'CronJob' ? 'spec.jobTemplate.spec.template' : 'spec.template';
  return `${site.label}: the ${INJECT_ANNOTATION} annotation is on the ${site.kind}'s own metadata, where it has no effect; move it to ${template}.metadata.annotations`;
}
