/**
 * Runs the engine over every pod site of a stream of documents: the shared core of
 * `outrigger inject`, `uninject` and `explain`. Pure; reading files and printing live in cli/.
 */

import type { JsonObject, JsonValue } from '../common/json.ts';
import { type Decision, type InjectContext, inject, type ProfileSet, uninject } from '../engine/index.ts';
import { findPodSites, misplacedAnnotationWarning, type PodSite } from './workloads.ts';

export interface SourcedDocument {
  /** `app.yaml, document 2` */
  where: string;
  value: JsonValue;
}

export interface SiteDecision {
  site: PodSite;
  namespace: string;
  decision: Decision;
}

export interface ProcessedDocument<S> {
  where: string;
  /** The document after processing; the same object when nothing changed. */
  value: JsonValue;
  changed: boolean;
  sites: S[];
}

export interface ManifestOptions extends Omit<InjectContext, 'namespace'> {
  /** Namespace for objects that do not name one (kubectl's current namespace). */
  defaultNamespace: string;
}

export function injectDocuments(
  docs: readonly SourcedDocument[],
  set: ProfileSet,
  opts: ManifestOptions,
): { docs: ProcessedDocument<SiteDecision>[]; warnings: string[] } {
  const warnings: string[] = [];
  const out = docs.map((d) => {
    let value = d.value;
    const sites: SiteDecision[] = [];
    for (const site of findPodSites(d.value)) {
      const namespace = site.namespace ?? opts.defaultNamespace;
      const decision = inject(site.pod, set, { ...opts, namespace });
      if (site.misplacedAnnotation) warnings.push(`${d.where}: ${misplacedAnnotationWarning(site)}`);
      for (const w of decision.warnings) warnings.push(`${d.where}: ${site.label}: ${w}`);
      if (decision.outcome === 'injected') value = site.replace(value, decision.pod);
      sites.push({ site, namespace, decision });
    }
    return { where: d.where, value, changed: value !== d.value, sites };
  });
  return { docs: out, warnings };
}

export interface SiteUninject {
  site: PodSite;
  removed: string[];
  error?: string;
}

export function uninjectDocuments(docs: readonly SourcedDocument[]): ProcessedDocument<SiteUninject>[] {
  return docs.map((d) => {
    let value = d.value;
    const sites: SiteUninject[] = [];
    for (const site of findPodSites(d.value)) {
      const r = uninject(site.pod);
      if (!r.ok) {
        sites.push({ site, removed: [], error: r.message });
        continue;
      }
      if (r.removed.length > 0) value = site.replace(value, r.pod as JsonObject);
      sites.push({ site, removed: r.removed });
    }
    return { where: d.where, value, changed: value !== d.value, sites };
  });
}
