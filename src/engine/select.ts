/**
 * Which profiles a pod gets: the ones its `outrigger.dev/inject` annotation names, plus the ones
 * whose selector matches it and its namespace; `"false"` drops all that are not mandatory.
 */

import type { ReasonCode } from '../common/errors.ts';
import { isObject, type JsonObject, stringMap } from '../common/json.ts';
import { dns1123Label } from '../common/k8s-names.ts';
import { INJECT_ANNOTATION } from '../common/labels.ts';
import type { LabelSelector, ProfileSet, SidecarProfile } from './profile.ts';
import { MAX_ANNOTATION_BYTES } from './validate-pod.ts';

/** @example matchesSelector({ matchLabels: { team: 'a' } }, { team: 'a', x: 'y' }) // true */
export function matchesSelector(sel: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (!Object.hasOwn(labels, k) || labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = has ? labels[e.key] : undefined;
    switch (e.operator) {
      case 'In':
        if (!has || !e.values?.includes(value as string)) return false;
        break;
      case 'NotIn':
        if (has && e.values?.includes(value as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** More profiles than anyone requests per pod; a bound on the work a pod can ask for. */
export const MAX_REQUESTED = 64;

export interface Selection {
  /** Profiles to inject, in injection order. */
  profiles: SidecarProfile[];
  /** Profiles or names not injected, with the reason (opted out, unknown, malformed name). */
  skipped: { profile: string; reason: ReasonCode; message: string }[];
  warnings: string[];
  optedOut: boolean;
}

/** The parts of a comma list one at a time: a huge list costs a scan, not an array of all its parts. */
function* commaList(s: string): Generator<string> {
  let start = 0;
  for (;;) {
    const comma = s.indexOf(',', start);
    if (comma < 0) return yield s.slice(start);
    yield s.slice(start, comma);
    start = comma + 1;
  }
}

export function selectProfiles(pod: JsonObject, set: ProfileSet, namespaceLabels: Readonly<Record<string, string>>): Selection {
  const meta = isObject(pod.metadata) ? pod.metadata : {};
  const annotations = stringMap(meta.annotations);
  const labels = stringMap(meta.labels);
  const raw = Object.hasOwn(annotations, INJECT_ANNOTATION) ? (annotations[INJECT_ANNOTATION] as string).trim() : undefined;
  const optedOut = raw?.toLowerCase() === 'false';
  const skipped: Selection['skipped'] = [];
  const warnings: string[] = [];

  const requested = new Set<string>();
  if (raw !== undefined && raw.length > MAX_ANNOTATION_BYTES) {
    skipped.push({
      profile: '*',
      reason: 'invalid-annotation',
      message: `${INJECT_ANNOTATION} is longer than the 256 KiB the API server allows for all annotations together; it is ignored`,
    });
  } else if (raw !== undefined && !optedOut && raw.toLowerCase() !== 'true') {
    const seen = new Set<string>();
    for (const part of commaList(raw)) {
      const name = part.trim();
      if (name === '' || seen.has(name)) continue;
      // A pod is input: a long list of bogus names must not turn into as many outcomes and log entries.
      if (seen.size >= MAX_REQUESTED) {
        skipped.push({
          profile: '*',
          reason: 'invalid-annotation',
          message: `${INJECT_ANNOTATION} names more than ${MAX_REQUESTED} profiles; the rest are ignored`,
        });
        break;
      }
      seen.add(name);
      if (dns1123Label(name)) {
        skipped.push({
          profile: name.slice(0, 63),
          reason: 'invalid-annotation',
          message: `${INJECT_ANNOTATION}: ${JSON.stringify(name.slice(0, 100))} is not a profile name`,
        });
        continue;
      }
      if (!set.byName.has(name)) {
        skipped.push({
          profile: name,
          reason: 'unknown-profile',
          message: `${INJECT_ANNOTATION} requests profile ${JSON.stringify(name)}, which does not exist`,
        });
        continue;
      }
      requested.add(name);
    }
  }

  const profiles: SidecarProfile[] = [];
  for (const p of set.profiles) {
    const selected =
      p.selector !== undefined &&
      (!p.selector.namespaceSelector || matchesSelector(p.selector.namespaceSelector, namespaceLabels)) &&
      (!p.selector.podSelector || matchesSelector(p.selector.podSelector, labels));
    if (!requested.has(p.name) && !selected) continue;
    if (optedOut && !p.mandatory) {
      skipped.push({
        profile: p.name,
        reason: 'opted-out',
        message: `profile ${JSON.stringify(p.name)} not injected: the pod opted out with ${INJECT_ANNOTATION}: "false"`,
      });
      continue;
    }
    if (optedOut) warnings.push(`profile ${JSON.stringify(p.name)} is mandatory: ${INJECT_ANNOTATION}: "false" does not apply to it`);
    profiles.push(p);
  }
  for (const s of skipped) if (s.reason !== 'opted-out') warnings.push(s.message);
  return { profiles, skipped, warnings, optedOut };
}
