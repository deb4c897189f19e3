/** What the API server's ServiceAccount admission plugin adds to a pod, as a 1.35 API server stores it: the tests' own copy, apart from the engine's. */
import type { JsonObject } from '../../src/common/json.ts';

export const TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The projected token volume, named `name` (kube-api-access-<5 random characters>). */
export function serviceAccountTokenVolume(name: string): JsonObject {
  return {
    name,
    projected: {
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
      defaultMode: 420,
    },
  };
}
