/** The `Served` condition of a profile in policy mode, from how the reconciler (sync.ts) serves it. */
import type { SidecarProfile } from '../engine/index.ts';
import type { ProfileObjectState, ServedCondition } from '../kube/profiles.ts';
import type { Served } from './plan.ts';

export function servedCondition(s: ProfileObjectState, sync: { served(p: SidecarProfile): Served | undefined }): ServedCondition | undefined {
  if (!s.active) return undefined;
  const served = sync.served(s.active);
  if (!served) return undefined;
  if ('policy' in served) return { status: 'True', reason: 'Policy', message: `Injected by the API server: MutatingAdmissionPolicy ${served.policy}.` };
  if ('refused' in served)
    return { status: 'False', reason: 'PolicyRefused', message: `Not injected: it cannot be compiled to an admission policy: ${served.refused}.` };
  return { status: 'False', reason: 'PolicyNotApplied', message: `Not injected: the API server refused its admission policies: ${served.notApplied}` };
}
