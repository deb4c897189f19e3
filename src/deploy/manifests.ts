/**
 * The install bundle as data: Namespace, CRD, ServiceAccount, least-privilege RBAC, Deployment,
 * PodDisruptionBudget, Service, NetworkPolicy, the MutatingWebhookConfiguration (pods) and the
 * ValidatingWebhookConfiguration (workloads, warnings only). Pure; `outrigger manifests`
 * prints it and deploy/outrigger.yaml is its output for the defaults.
 */
import { isIP } from 'node:net';
import type { JsonObject } from '../common/json.ts';
import {
  ADMIN_ADDRESS,
  API_GROUP,
  CA_SECRET,
  DEFAULT_NAMESPACE,
  INJECT_ANNOTATION,
  INJECTION_LABEL,
  LEADER_LEASE,
  NAME,
  NEVER_INJECTED,
  POLICY_RESOURCES,
  PROFILE_PLURAL,
  TLS_SECRET,
  WEBHOOK_NAME,
  WEBHOOK_PORT,
  WORKLOADS_WEBHOOK_NAME,
} from '../common/labels.ts';
import { CHECKED_WORKLOADS } from '../manifest/workloads.ts';
import { sidecarProfileCrd } from '../profiles/crd.ts';
import { IMAGE } from './image.ts';

export type CertMode = 'self' | 'cert-manager' | 'files';

export interface BundleOptions {
  namespace: string;
  image: string;
  replicas: number;
  certMode: CertMode;
  /** PEM of the CA that signed the serving certificate (cert mode `files`); base64-encoded into caBundle. */
  caBundle?: string;
  /** Skip opted-out pods in the API server (CEL). Leave on unless a profile is mandatory: opted-out pods would never reach Outrigger. */
  optOutMatchCondition: boolean;
  /**
   * Ports the NetworkPolicy lets Outrigger reach (the API server). Both the Service port (443) and
   * the usual endpoint port (6443): policies see the address after kube-proxy's translation.
   */
  apiServerPorts: number[];
  /**
   * A ConfigMap (key `ca.crt`) with the CA that signs the API server's client certificate: mounted
   * and passed as --client-ca, so /mutate and /explain need that certificate. Any cert mode.
   */
  clientCaConfigMap?: string;
  /**
   * Sources (CIDRs) allowed to reach the webhook port, the control plane's addresses. Empty: from
   * anywhere, so any pod can call /mutate (and, without a client CA, is answered).
   */
  webhookIngressFrom: string[];
  /**
   * The pods' PriorityClass; empty for none. A fail-closed webhook stops pod creation while no
   * replica runs, so by default its replicas outrank (and may preempt) ordinary workloads.
   */
  priorityClassName: string;
  /**
   * `policy`: the API server injects pods through admission policies that Outrigger keeps in step
   * (`serve --admission policy`, Kubernetes 1.36+); no webhook configuration for pods, and RBAC
   * for the policies instead.
   */
  admission: 'webhook' | 'policy';
}

export const DEFAULTS: BundleOptions = {
  namespace: DEFAULT_NAMESPACE,
  image: IMAGE,
  replicas: 2,
  certMode: 'self',
  optOutMatchCondition: true,
  apiServerPorts: [443, 6443],
  webhookIngressFrom: [],
  priorityClassName: 'system-cluster-critical',
  admission: 'webhook',
};

const TLS_DIR = '/etc/outrigger/tls';
const CLIENT_CA_DIR = '/etc/outrigger/client-ca';
/** Drain time on SIGTERM; the pod's grace period is longer so in-flight admissions always finish. */
export const DRAIN_SECONDS = 25;
/** Not ready but still accepting after SIGTERM, while the API server learns the endpoint is gone. */
export const SHUTDOWN_DELAY_SECONDS = 5;
/** V8's old-space bound in the bundle: half the 256 MiB memory limit, the rest for code, buffers and request bodies. */
/** cert-manager mode: the CA Certificate, its Secret and the Issuer that signs with it share this name. */
export const CA_CERTIFICATE = `${NAME}-ca`;
export const HEAP_MIB = 128;
/** V8's young-generation semi-space bound. Left to itself V8 grows the young generation under a
 * steady allocation rate and keeps the pages: a 30-minute soak saw RSS climb 126 → 243 MiB with the
 * heap in use at 13–38 MiB. At 8 MiB it stayed flat at 128 MiB with the same traffic and throughput. */
export const SEMI_SPACE_MIB = 8;
/** The Node flags the bundle's container runs with (NODE_OPTIONS), shared with the tests that use its bounds. */
export const NODE_MEMORY_FLAGS: readonly string[] = [`--max-old-space-size=${HEAP_MIB}`, `--max-semi-space-size=${SEMI_SPACE_MIB}`];

const labels = { 'app.kubernetes.io/name': NAME, 'app.kubernetes.io/component': 'webhook' };

export function bundle(o: BundleOptions): JsonObject[] {
  const ns = o.namespace;
  const meta = (name: string, extra: JsonObject = {}) => ({ name, namespace: ns, labels: { ...labels }, ...extra });
  const tlsFromSecret = o.certMode !== 'self';
  const policy = o.admission === 'policy';
  const mounts: JsonObject[] = [
    ...(tlsFromSecret ? [{ name: 'tls', mountPath: TLS_DIR, readOnly: true }] : []),
    ...(o.clientCaConfigMap ? [{ name: 'client-ca', mountPath: CLIENT_CA_DIR, readOnly: true }] : []),
  ];
  const volumes: JsonObject[] = [
    ...(tlsFromSecret ? [{ name: 'tls', secret: { secretName: TLS_SECRET } }] : []),
    ...(o.clientCaConfigMap ? [{ name: 'client-ca', configMap: { name: o.clientCaConfigMap } }] : []),
  ];

  const serveArgs = [
    'serve',
    `--port=${WEBHOOK_PORT}`,
    `--admin-address=${ADMIN_ADDRESS}`,
    `--drain-timeout=${DRAIN_SECONDS}s`,
    `--shutdown-delay=${SHUTDOWN_DELAY_SECONDS}s`,
    '--profiles-from-cluster',
    `--controller-namespace=${ns}`,
    ...(policy ? ['--admission=policy'] : []),
    // The server reports mandatory profiles that the opt-out matchCondition lets pods skip.
    ...(o.optOutMatchCondition ? [] : ['--webhook-opt-out=false']),
    ...(tlsFromSecret
      ? [`--tls-cert=${TLS_DIR}/tls.crt`, `--tls-key=${TLS_DIR}/tls.key`]
      : [
          `--cert-mode=self`,
          `--tls-secret=${TLS_SECRET}`,
          `--ca-secret=${CA_SECRET}`,
          `--service=${NAME}`,
          // In policy mode no webhook configuration mutates pods; the workloads one carries the caBundle.
          `--webhook-config=${policy ? 'none' : NAME}`,
          `--validating-webhook-config=${NAME}`,
          `--leader-lease=${LEADER_LEASE}`,
        ]),
    ...(o.clientCaConfigMap ? [`--client-ca=${CLIENT_CA_DIR}/ca.crt`] : []),
  ];

  const objects: JsonObject[] = [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: ns, labels: { ...labels, 'pod-security.kubernetes.io/enforce': 'restricted', [INJECTION_LABEL]: 'disabled' } },
    },
    sidecarProfileCrd(),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(NAME), automountServiceAccountToken: true },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: NAME, labels: { ...labels } },
      rules: [
        // Caches for profile selectors and tenancy; the admission path reads only these.
        { apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: [API_GROUP], resources: [PROFILE_PLURAL], verbs: ['list', 'watch'] },
        { apiGroups: [API_GROUP], resources: [`${PROFILE_PLURAL}/status`], verbs: ['patch'] },
        // Events on the owning workload when a pod is skipped or denied.
        { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
        ...(o.certMode === 'self'
          ? [
              {
                apiGroups: ['admissionregistration.k8s.io'],
                resources: policy ? ['validatingwebhookconfigurations'] : ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
                resourceNames: [NAME],
                verbs: ['get', 'patch'],
              },
            ]
          : []),
        // Policy mode: the admission policies of the cluster-wide profiles, written with server-side
        // apply and found by label. RBAC cannot limit these to Outrigger's names (list and create take
        // none), so this role can write any admission policy: see docs/threat-model.md.
        ...(policy
          ? [
              {
                apiGroups: ['admissionregistration.k8s.io'],
                resources: POLICY_RESOURCES.map((r) => r.plural),
                verbs: ['list', 'create', 'patch', 'delete'],
              },
            ]
          : []),
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: NAME, labels: { ...labels } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: ns }],
    },
  ];

  // The Lease elects the replica that writes certificates (cert mode self) and admission policies.
  if (o.certMode === 'self' || policy) {
    objects.push(
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: meta(NAME),
        rules: [
          ...(o.certMode === 'self'
            ? [
                // `create` cannot be limited by name (the object does not exist yet); everything else is.
                { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
                // The serving Secret (every replica) and the CA Secret (the elected replica; RBAC cannot tell
                // replicas of one ServiceAccount apart, so that part is Outrigger's own rule).
                { apiGroups: [''], resources: ['secrets'], resourceNames: [TLS_SECRET, CA_SECRET], verbs: ['get', 'update'] },
              ]
            : []),
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [LEADER_LEASE], verbs: ['get', 'update'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: meta(NAME),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: NAME },
        subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: ns }],
      },
    );
  }

  const probe = (path: string, period: number) => ({
    httpGet: { path, port: 'https', scheme: 'HTTPS' },
    periodSeconds: period,
    timeoutSeconds: 2,
    failureThreshold: 3,
  });
  objects.push(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(NAME),
      spec: {
        replicas: o.replicas,
        revisionHistoryLimit: 5,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        selector: { matchLabels: { ...labels } },
        template: {
          metadata: { labels: { ...labels } },
          spec: {
            serviceAccountName: NAME,
            ...(o.priorityClassName ? { priorityClassName: o.priorityClassName } : {}),
            // The delay and the drain, plus time to exit.
            terminationGracePeriodSeconds: SHUTDOWN_DELAY_SECONDS + DRAIN_SECONDS + 10,
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
            topologySpreadConstraints: [
              { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { ...labels } } },
              { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { ...labels } } },
            ],
            containers: [
              {
                name: NAME,
                image: o.image,
                args: serveArgs,
                // A heap bound well under the memory limit: V8 collects before it grows the heap, so
                // garbage left by large requests does not add up to the limit (docs/operations.md).
                env: [{ name: 'NODE_OPTIONS', value: NODE_MEMORY_FLAGS.join(' ') }],
                ports: [{ name: 'https', containerPort: WEBHOOK_PORT, protocol: 'TCP' }],
                readinessProbe: probe('/readyz', 5),
                livenessProbe: probe('/healthz', 10),
                resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                ...(mounts.length > 0 ? { volumeMounts: mounts } : {}),
              },
            ],
            ...(volumes.length > 0 ? { volumes } : {}),
          },
        },
      },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(NAME),
      spec: { minAvailable: 1, selector: { matchLabels: { ...labels } } },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(NAME),
      spec: { selector: { ...labels }, ports: [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }] },
    },
    networkPolicy(meta(NAME), o),
  );

  if (o.certMode === 'cert-manager') {
    // A CA of our own between the self-signed root and the serving certificate: the caBundle holds
    // the CA, so renewing the serving certificate (every 60 days, a new key each time) never changes
    // what the API server trusts. The CA keeps its key when it is renewed (rotationPolicy Never),
    // so serving certificates it signed before stay valid under the renewed CA.
    objects.push(
      { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: meta(`${NAME}-selfsigned`), spec: { selfSigned: {} } },
      {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Certificate',
        metadata: meta(CA_CERTIFICATE),
        spec: {
          isCA: true,
          commonName: CA_CERTIFICATE,
          secretName: CA_CERTIFICATE,
          duration: '43800h',
          renewBefore: '8760h',
          privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Never' },
          issuerRef: { name: `${NAME}-selfsigned`, kind: 'Issuer' },
        },
      },
      { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: meta(CA_CERTIFICATE), spec: { ca: { secretName: CA_CERTIFICATE } } },
      {
        apiVersion: 'cert-manager.io/v1',
        kind: 'Certificate',
        metadata: meta(NAME),
        spec: {
          secretName: TLS_SECRET,
          dnsNames: [`${NAME}.${ns}.svc`],
          duration: '2160h',
          renewBefore: '720h',
          privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
          issuerRef: { name: CA_CERTIFICATE, kind: 'Issuer' },
        },
      },
    );
  }

  const webhook: JsonObject = {
    name: WEBHOOK_NAME,
    clientConfig: {
      service: { namespace: ns, name: NAME, path: '/mutate', port: 443 },
      ...(o.certMode === 'files' && o.caBundle ? { caBundle: Buffer.from(o.caBundle).toString('base64') } : {}),
    },
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
    // Fail closed: a pod that should carry a sidecar (a secrets agent, a policy proxy) is never
    // started without it. The price is that pod creation in opted-in namespaces stops while no
    // replica is reachable; two replicas, a PDB and the namespace selector below bound that.
    failurePolicy: 'Fail',
    // Events are recorded for skipped or denied pods, never for dry-run requests.
    sideEffects: 'NoneOnDryRun',
    admissionReviewVersions: ['v1'],
    timeoutSeconds: 5,
    reinvocationPolicy: 'IfNeeded',
    namespaceSelector: {
      matchExpressions: [
        { key: INJECTION_LABEL, operator: 'In', values: ['enabled'] },
        // Even a mislabelled system namespace is never sent to the webhook.
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...NEVER_INJECTED, ns] },
      ],
    },
    ...(o.optOutMatchCondition
      ? {
          matchConditions: [
            {
              name: 'not-opted-out',
              expression: `!has(object.metadata.annotations) || !('${INJECT_ANNOTATION}' in object.metadata.annotations) || object.metadata.annotations['${INJECT_ANNOTATION}'] != 'false'`,
            },
          ],
        }
      : {}),
  };
  // Workloads are only read, to warn about an inject annotation on the workload instead of its pod
  // template (it has no effect there). Called only when the workload's own metadata has it; never
  // blocks a workload (Ignore) and never changes one, so it is a validating webhook: the API server
  // calls it after mutation, in parallel with other validating webhooks, and never reinvokes it.
  const workloads: JsonObject = {
    name: WORKLOADS_WEBHOOK_NAME,
    clientConfig: webhook.clientConfig as JsonObject,
    rules: [...new Set(CHECKED_WORKLOADS.map((w) => w.group))].map((group) => ({
      apiGroups: [group],
      apiVersions: ['v1'],
      operations: ['CREATE', 'UPDATE'],
      resources: CHECKED_WORKLOADS.filter((w) => w.group === group).map((w) => w.resource),
      scope: 'Namespaced',
    })),
    failurePolicy: 'Ignore',
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    timeoutSeconds: 2,
    namespaceSelector: webhook.namespaceSelector as JsonObject,
    matchConditions: [
      { name: 'inject-annotation-on-workload', expression: `has(object.metadata.annotations) && '${INJECT_ANNOTATION}' in object.metadata.annotations` },
    ],
  };
  const configMeta = {
    name: NAME,
    labels: { ...labels },
    // The CA, not the serving certificate: the caBundle changes only when the CA does.
    ...(o.certMode === 'cert-manager' ? { annotations: { 'cert-manager.io/inject-ca-from': `${ns}/${CA_CERTIFICATE}` } } : {}),
  };
  objects.push(
    ...(policy ? [] : [{ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: configMeta, webhooks: [webhook] }]),
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: configMeta, webhooks: [workloads] },
  );
  return objects;
}

/**
 * Ingress: the webhook port (which also serves /metrics) from the sources given, else from
 * anywhere, because the address the API server calls from is not knowable in general (host
 * network, a managed control plane outside the cluster, konnectivity). Nothing else: the admin
 * listener is on loopback, which policies do not govern. Egress: only the API server's ports; its
 * address is not knowable either, and Outrigger reaches it by the IP in KUBERNETES_SERVICE_HOST,
 * so no DNS is needed.
 */
function networkPolicy(metadata: JsonObject, o: BundleOptions): JsonObject {
  const from = o.webhookIngressFrom.map((cidr) => ({ ipBlock: { cidr } }));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata,
    spec: {
      podSelector: { matchLabels: { ...labels } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ ...(from.length > 0 ? { from } : {}), ports: [{ protocol: 'TCP', port: WEBHOOK_PORT }] }],
      egress: [{ ports: o.apiServerPorts.map((port) => ({ protocol: 'TCP', port })) }],
    },
  };
}

/** Why `cidr` is not a CIDR a NetworkPolicy's ipBlock takes (address/prefix, IPv4 or IPv6), or undefined. */
export function cidrError(cidr: string): string | undefined {
  const [address = '', prefix, ...rest] = cidr.split('/');
  const family = isIP(address);
  if (family === 0 || address.includes('%') || prefix === undefined || rest.length > 0)
    return 'is no CIDR: an IPv4 or IPv6 address, "/", a prefix length (e.g. 10.0.0.0/24)';
  const max = family === 4 ? 32 : 128;
  if (!/^(0|[1-9]\d{0,2})$/.test(prefix) || Number(prefix) > max) return `has a prefix length that is not 0 to ${max}`;
  return undefined;
}
