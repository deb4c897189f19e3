/**
 * What /readyz answers for the running server: ready once listening, not draining, and (when
 * connected) the cluster caches are synced; the verbose detail (admin listener only) says why.
 */
import type { KubeVersion } from '../engine/index.ts';
import type { ClusterRuntime } from './cluster.ts';
import type { Readiness } from './http.ts';
import { type ProfileState, profileSummary, profilesInSync } from './profile-reloader.ts';
import { certLogFields, type TlsState } from './tls-reloader.ts';

export interface ReadinessSources {
  listening(): boolean;
  draining(): boolean;
  cluster: ClusterRuntime | undefined;
  kubeVersion: KubeVersion;
  profiles: ProfileState;
  tls(): TlsState;
  /** `files`, or the Secret the certificate comes from. */
  tlsSource: string;
  clientAuth: boolean;
}

export function serveReadiness(s: ReadinessSources): () => Readiness {
  const { profiles, kubeVersion, clientAuth } = s;
  return () => {
    const clusterReady = s.cluster?.readiness();
    const listening = s.listening();
    const draining = s.draining();
    const tls = s.tls();
    const ready = listening && !draining && (clusterReady?.ready ?? true);
    return {
      ready,
      detail: {
        ...(clusterReady ? { cluster: clusterReady.detail } : {}),
        draining,
        listening,
        kubeVersion: `${kubeVersion.major}.${kubeVersion.minor}`,
        profiles: {
          loaded: profileSummary(profiles.set),
          loadedAt: profiles.loadedAt,
          lastReloadError: profiles.lastError ?? null,
          // false while the files hold something else: a change in its quiet period, or one that fails to load
          inSync: profilesInSync(profiles),
          differsSince: profiles.disk?.differsSince ?? null,
        },
        tls: {
          ...certLogFields(tls.current),
          expired: tls.current.notAfter.getTime() <= Date.now(),
          source: s.tlsSource,
          clientAuth,
          lastReloadError: tls.lastError ?? null,
        },
      },
    };
  };
}
