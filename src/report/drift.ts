/**
 * Which running pods are behind: injected with a profile version that is no longer current
 * (drift), or never injected although the engine would inject them now (created while the webhook
 * was down, or before the profile existed). Pure: the caller lists pods and namespaces.
 */

import { isObject, type JsonObject } from '../common/json.ts';
import { INJECTION_LABEL, STATUS_ANNOTATION } from '../common/labels.ts';
import { inject, type KubeVersion, readStatus, recordMismatchIn } from '../engine/index.ts';
import type { Tenancy } from '../profiles/tenancy.ts';

export interface PodReport {
  namespace: string;
  pod: string;
  state: 'drifted' | 'not-injected' | 'current' | 'unreadable-status';
  /** Per profile: recorded version → current version (or why there is none). */
  profiles: { profile: string; injected?: string; current?: string }[];
  detail: string;
}

export interface DriftInput {
  pods: readonly JsonObject[];
  namespaceLabels: (namespace: string) => Readonly<Record<string, string>> | undefined;
  tenancy: Tenancy;
  kubeVersion: KubeVersion;
}

/** @returns one row per pod that is drifted, not injected, or unreadable; `current` pods only with `all`. */
export function driftReport(input: DriftInput, all = false): PodReport[] {
  const rows: PodReport[] = [];
  for (const pod of input.pods) {
    const meta = isObject(pod.metadata) ? pod.metadata : {};
    const namespace = typeof meta.namespace === 'string' ? meta.namespace : 'default';
    const name = typeof meta.name === 'string' ? meta.name : '(unnamed)';
    const set = input.tenancy.forNamespace(namespace);
    const { status, error } = readStatus(pod);
    if (error) {
      rows.push({ namespace, pod: name, state: 'unreadable-status', profiles: [], detail: error });
      continue;
    }
    if (status) {
      const profiles = status.profiles.map((r) => {
        const current = set.byName.get(r.name);
        return { profile: r.name, injected: r.version, ...(current ? { current: current.version } : {}), stale: !current || current.hash !== r.hash };
      });
      const stale = profiles.filter((p) => p.stale);
      const view = profiles.map(({ stale: _s, ...p }) => p);
      // A record is pod input: the pod must hold what it claims (copied or edited records do not).
      const labels = input.namespaceLabels(namespace);
      const ctx = { namespace, kubeVersion: input.kubeVersion, ...(labels ? { namespaceLabels: labels } : {}) };
      const mismatch = recordMismatchIn(pod, status, set, ctx, { unrecordedTargets: 'check' });
      if (mismatch) {
        const detail = `${mismatch}, although its ${STATUS_ANNOTATION} records it; recreate the pod`;
        rows.push({ namespace, pod: name, state: 'not-injected', profiles: view, detail });
      } else if (stale.length > 0) {
        const detail = stale
          .map((p) =>
            p.current === undefined
              ? `${p.profile} ${p.injected} → profile no longer exists`
              : `${p.profile} ${p.injected} → ${p.current}${p.injected === p.current ? ' (same version, changed content)' : ''}`,
          )
          .join('; ');
        rows.push({ namespace, pod: name, state: 'drifted', profiles: view, detail: `${detail}; recreate the pod to update` });
      } else if (all) rows.push({ namespace, pod: name, state: 'current', profiles: view, detail: '' });
      continue;
    }
    const labels = input.namespaceLabels(namespace);
    if (labels?.[INJECTION_LABEL] !== 'enabled') continue;
    const labelsCtx = labels ? { namespaceLabels: labels } : {};
    const decision = inject(pod, set, { namespace, kubeVersion: input.kubeVersion, ...labelsCtx });
    const wanted = decision.profiles.filter((p) => p.reason === 'injected');
    if (decision.outcome === 'injected' && wanted.length > 0) {
      rows.push({
        namespace,
        pod: name,
        state: 'not-injected',
        profiles: wanted.map((p) => ({ profile: p.profile, ...(p.version ? { current: p.version } : {}) })),
        detail: 'created without injection (webhook down, or the profile did not exist yet); recreate the pod',
      });
    }
  }
  return rows;
}
