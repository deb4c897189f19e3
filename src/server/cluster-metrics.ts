/** What the cluster connection reports into the metrics: profiles not in use, the Lease, the caBundle. */
import type { ClusterOptions } from './cluster.ts';
import type { WebhookMetrics } from './metrics.ts';

export function clusterMetricsHooks(m: WebhookMetrics): Pick<ClusterOptions, 'onProblems' | 'onLeader' | 'onCaBundleMismatch'> {
  return {
    onProblems: (counts) => {
      for (const [reason, n] of Object.entries(counts)) m.clusterProfilesNotInUse.set(n, [reason]);
    },
    onLeader: (leader, lease) => m.leader.set(leader ? 1 : 0, [lease]),
    onCaBundleMismatch: (mismatch) => m.caBundleMismatch.set(mismatch ? 1 : 0),
  };
}
