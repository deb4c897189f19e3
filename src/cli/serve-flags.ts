/**
 * `outrigger serve`'s flags: the help text and argv → ServeOptions. Every check of a flag happens
 * here, before anything starts; the server (src/server/serve-command.ts) takes the parsed options.
 */

import { ADMIN_PORT, CA_SECRET, LEADER_LEASE, NAME, TLS_SECRET, WEBHOOK_PORT } from '../common/labels.ts';
import type { ClusterOptions } from '../server/cluster.ts';
import { DEFAULT_LIMITS } from '../server/http.ts';
import type { Level } from '../server/log.ts';
import { type AdminAddress, DEFAULT_CONTROLLER_NAMESPACE, type ServeOptions } from '../server/serve-command.ts';
import { DEFAULT_KUBE_VERSION, parseAdmission, parseFlags, parseKubeVersion, parseUnknownProfiles, UsageError } from './options.ts';

export const SERVE_HELP = `Usage: outrigger serve --profiles PATH --tls-cert FILE --tls-key FILE [options]
       outrigger serve --profiles-from-cluster --cert-mode self [options]     (in a cluster)

Runs the mutating admission webhook over HTTPS (TLS 1.2 or newer). The webhook port (--port) serves
  POST /mutate    AdmissionReview admission.k8s.io/v1 or v1beta1; only pod CREATE is mutated
  GET  /healthz   alive    GET /readyz   ready to serve    GET /metrics   Prometheus
and the admin listener (--admin-address, loopback by default) serves, for operators,
  POST /explain   a Pod or an AdmissionReview (?namespace=NAME): the engine's decision as JSON (env values redacted)
  GET  /readyz?verbose  readiness detail as JSON      and /healthz, /metrics
Certificate, key, client CA and profile files are watched (including the Secret/ConfigMap volume
symlink swap) and reloaded without a restart, once they have stayed unchanged for a second (a
half-written file is never loaded); a broken update keeps the previous one.

Options:
  -p, --profiles PATH        SidecarProfile file or directory (repeatable; required without --profiles-from-cluster)
      --require-profiles     refuse to start when the --profiles paths hold no profile (without
                             --profiles-from-cluster; by default that is a warning)
      --tls-cert FILE        serving certificate, PEM (may hold the chain; required with --cert-mode files)
      --tls-key FILE         its private key, PEM (required with --cert-mode files)
      --client-ca FILE       require client certificates signed by this CA (PEM) on /mutate and /explain
                             (any cert mode; the API server presents one when its admission config says so)
      --port N               webhook port (default 8443; 0 picks a free port)
      --host ADDR            address of the webhook port (default 0.0.0.0; :: for IPv6 and IPv4)
      --admin-address HOST:PORT  the admin listener (default 127.0.0.1:9443, or 127.0.0.1:0 with --port 0);
                             none: no admin listener
      --kube-version X.Y     Kubernetes version of the cluster; decides native sidecars for sidecarMode auto.
                             Default: read from the API server when connected, else ${DEFAULT_KUBE_VERSION.major}.${DEFAULT_KUBE_VERSION.minor}
      --unknown-profiles admit|deny  a pod that requests a profile that does not exist is admitted
                             without it, with a warning (admit, the default), or denied (deny); a
                             namespace's label outrigger.dev/unknown-profiles overrides it
      --drain-timeout DUR    on SIGTERM, longest wait for requests in flight (default 25s)
      --shutdown-delay DUR   on SIGTERM, keep accepting connections this long while not ready, so the
                             API server learns of the endpoint's removal first (default 0; the bundle sets 5s)
      --reload-interval DUR  poll interval for file changes, besides watching (default 10s)
      --webhook-opt-out BOOL whether the webhook configuration skips pods annotated inject "false" (its
                             opt-out matchCondition; default true, as in the bundle): mandatory
                             profiles are then reported as skippable (log, metric, profile status)
      --max-connections N    open connections at most (default ${DEFAULT_LIMITS.maxConnections}); at the limit the longest idle one is closed
      --max-connections-per-peer N  open connections from one address at most (default ${DEFAULT_LIMITS.maxConnectionsPerPeer})
      --log-level LEVEL      debug, info, warn or error (default info)
  -h, --help                 show this help

Cluster (connects with --kubeconfig, $KUBECONFIG, or the pod's service account):
      --kubeconfig FILE      kubeconfig; --context NAME picks a context
      --profiles-from-cluster  watch SidecarProfile objects (the CRD must be installed)
      --controller-namespace NAME  Outrigger's namespace: its profiles are cluster-wide (default outrigger-system)
      --admission MODE       webhook (default): pods are injected by this server's /mutate; policy
                             (Kubernetes 1.36+, with --profiles-from-cluster): keep the admission policies
                             that outrigger policy prints in step with the cluster-wide profiles, so the API server
                             injects them itself; each profile's Served condition says which mode serves it
      --no-events            do not record Events on workloads whose pods were skipped or denied
      --cert-mode MODE       files (default): --tls-cert/--tls-key; self: Outrigger keeps its own CA and
                             certificate in a Secret and the caBundle in the webhook configuration
      --tls-secret NAME      cert mode self: the serving Secret, read by every replica (default outrigger-tls)
      --ca-secret NAME       cert mode self: the CA's Secret, read by the elected replica only (default outrigger-ca)
      --service NAME         cert mode self: the Service the certificate is for (default outrigger)
      --webhook-config NAME  cert mode self: the MutatingWebhookConfiguration (default outrigger); none in
                             policy mode, where no webhook mutates pods (--validating-webhook-config is then required)
      --validating-webhook-config NAME  cert mode self: also keep the caBundle of this
                             ValidatingWebhookConfiguration (default none; the bundle sets outrigger)
      --leader-lease NAME    cert mode self or --admission policy: the Lease electing the replica that
                             writes certificates and admission policies (default outrigger-certificates)
      --cert-validity DUR    cert mode self: lifetime of the serving certificate (default 2160h = 90 days)
      --cert-check-interval DUR  cert mode self: how often the Secret and caBundle are checked (default 10s)
      --identity NAME        name of this replica in the Lease (default $POD_NAME or the host name)

Logs are JSON lines on stdout, one per admission. DUR is a number of seconds or 500ms, 25s, 2m, 3h.
Exit codes: 0 stopped after a clean drain, 1 drain timed out, failed to listen or could not reach the
cluster, 2 usage error, 3 invalid profiles or unreadable certificate/key.
`;

/** `25s`, `500ms`, `2m`, or seconds as a bare number. */
export function parseDuration(v: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a duration such as 25s, 500ms, 2m or 3h`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] as number;
  return Math.round(n * unit);
}

function parseInteger(v: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) < min || Number(v) > max)
    throw new UsageError(`${flag}: ${JSON.stringify(v)} must be a whole number from ${min} to ${max}`);
  return Number(v);
}

function parseCheckInterval(v: string): number {
  const ms = parseDuration(v, '--cert-check-interval');
  if (ms < 100) throw new UsageError('--cert-check-interval: must be at least 100ms');
  return ms;
}

/** `HOST:PORT` or `[IPv6]:PORT`, or `none`. */
export function parseAdminAddress(v: string): AdminAddress | undefined {
  if (v === 'none') return undefined;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(v);
  if (!m) throw new UsageError(`--admin-address: ${JSON.stringify(v)} must be HOST:PORT, [IPv6]:PORT or none`);
  return { host: (m[1] ?? m[2]) as string, port: parseInteger(m[3] as string, '--admin-address port', 0, 65535) };
}

export const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];

export const SERVE_FLAGS = {
  profiles: { type: 'string', short: 'p', multiple: true },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'client-ca': { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'admin-address': { type: 'string' },
  'kube-version': { type: 'string' },
  'unknown-profiles': { type: 'string' },
  'require-profiles': { type: 'boolean' },
  'drain-timeout': { type: 'string' },
  'shutdown-delay': { type: 'string' },
  'reload-interval': { type: 'string' },
  'webhook-opt-out': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-connections-per-peer': { type: 'string' },
  'log-level': { type: 'string' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  'profiles-from-cluster': { type: 'boolean' },
  'controller-namespace': { type: 'string' },
  admission: { type: 'string' },
  'no-events': { type: 'boolean' },
  'cert-mode': { type: 'string' },
  'tls-secret': { type: 'string' },
  'ca-secret': { type: 'string' },
  service: { type: 'string' },
  'webhook-config': { type: 'string' },
  'validating-webhook-config': { type: 'string' },
  'leader-lease': { type: 'string' },
  'cert-validity': { type: 'string' },
  'cert-check-interval': { type: 'string' },
  identity: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseFlags<typeof SERVE_FLAGS>>['values'];

/** argv → options, or 'help'. Throws UsageError naming the flag; the checks run in a fixed order, so the first problem is the one named. */
export function parseServeArgs(argv: string[]): ServeOptions | 'help' {
  const { values } = parseFlags(argv, SERVE_FLAGS);
  if (values.help) return 'help';
  const { certMode, fromCluster } = certModeFlags(values);
  const cluster = clusterFlags(values, certMode, fromCluster);
  const logLevel = (values['log-level'] ?? 'info') as Level;
  if (!LEVELS.includes(logLevel)) throw new UsageError(`--log-level: ${JSON.stringify(logLevel)} must be one of ${LEVELS.join(', ')}`);
  const pollMs = values['reload-interval'] !== undefined ? parseDuration(values['reload-interval'], '--reload-interval') : 10_000;
  if (pollMs < 100) throw new UsageError('--reload-interval: must be at least 100ms');
  const optOut = values['webhook-opt-out'];
  if (optOut !== undefined && optOut !== 'true' && optOut !== 'false')
    throw new UsageError(`--webhook-opt-out: ${JSON.stringify(optOut)} must be true or false`);
  const kubeVersionFlag = values['kube-version'] !== undefined ? parseKubeVersion(values['kube-version']) : undefined;
  const port = values.port !== undefined ? parseInteger(values.port, '--port', 0, 65535) : WEBHOOK_PORT;
  // With --port 0 (tests, several servers on one machine) the admin port is picked freely too.
  const admin = parseAdminAddress(values['admin-address'] ?? `127.0.0.1:${port === 0 ? 0 : ADMIN_PORT}`);
  return {
    profiles: (values.profiles as string[] | undefined) ?? [],
    ...(certMode === 'files'
      ? {
          tls: {
            certFile: values['tls-cert'] as string,
            keyFile: values['tls-key'] as string,
            ...(values['client-ca'] !== undefined ? { clientCaFile: values['client-ca'] } : {}),
          },
        }
      : values['client-ca'] !== undefined
        ? { clientCaFile: values['client-ca'] }
        : {}),
    ...(kubeVersionFlag ? { kubeVersionFlag } : {}),
    ...(cluster ? { cluster } : {}),
    port,
    host: values.host ?? '0.0.0.0',
    ...(admin ? { admin } : {}),
    kubeVersion: kubeVersionFlag ?? DEFAULT_KUBE_VERSION,
    ...(values['unknown-profiles'] !== undefined ? { unknownProfiles: parseUnknownProfiles(values['unknown-profiles']) } : {}),
    ...(values['require-profiles'] ? { requireProfiles: true } : {}),
    drainTimeoutMs: values['drain-timeout'] !== undefined ? parseDuration(values['drain-timeout'], '--drain-timeout') : 25_000,
    shutdownDelayMs: values['shutdown-delay'] !== undefined ? parseDuration(values['shutdown-delay'], '--shutdown-delay') : 0,
    pollMs,
    ...(optOut !== undefined ? { webhookOptOut: optOut === 'true' } : {}),
    logLevel,
    limits: limitFlags(values),
  };
}

/** --cert-mode and the flags that belong to one mode only. */
function certModeFlags(values: Values): { certMode: 'files' | 'self'; fromCluster: boolean } {
  const certMode = values['cert-mode'] ?? 'files';
  if (certMode !== 'files' && certMode !== 'self') throw new UsageError(`--cert-mode: ${JSON.stringify(certMode)} must be files or self`);
  const fromCluster = values['profiles-from-cluster'] === true;
  const required = [...(fromCluster ? [] : (['profiles'] as const)), ...(certMode === 'files' ? (['tls-cert', 'tls-key'] as const) : [])];
  const missing = required.filter((f) => values[f] === undefined || (Array.isArray(values[f]) && values[f].length === 0));
  if (missing.length > 0) throw new UsageError(`missing ${missing.map((f) => `--${f}`).join(', ')}`);
  if (certMode === 'self' && (values['tls-cert'] || values['tls-key'])) {
    throw new UsageError('--cert-mode self makes its own certificate: drop --tls-cert and --tls-key');
  }
  const selfOnly = (
    ['tls-secret', 'ca-secret', 'service', 'webhook-config', 'validating-webhook-config', 'leader-lease', 'cert-validity', 'cert-check-interval'] as const
  ).filter((f) => values[f] !== undefined && !(f === 'leader-lease' && values.admission === 'policy'));
  if (certMode !== 'self' && selfOnly.length > 0) throw new UsageError(`${selfOnly.map((f) => `--${f}`).join(', ')} only apply to --cert-mode self`);
  return { certMode, fromCluster };
}

/** The cluster connection, when anything asks for one. */
function clusterFlags(values: Values, certMode: 'files' | 'self', fromCluster: boolean): ClusterOptions | undefined {
  const admission = parseAdmission(values.admission);
  if (admission === 'policy' && !fromCluster) throw new UsageError('--admission policy compiles the profiles it watches: add --profiles-from-cluster');
  const webhookConfig = values['webhook-config'] ?? NAME;
  // Without the pods webhook's configuration its caBundle would not be kept: only where there is none.
  if (webhookConfig === 'none' && admission !== 'policy')
    throw new UsageError('--webhook-config none: only with --admission policy, where no webhook mutates pods');
  if (webhookConfig === 'none' && !values['validating-webhook-config'])
    throw new UsageError('--webhook-config none: cert mode self needs a webhook configuration to keep the caBundle of; add --validating-webhook-config');
  const connected = fromCluster || certMode === 'self' || values.kubeconfig !== undefined;
  if (!connected) return undefined;
  return {
    ...(admission === 'policy' ? { admission, ...(certMode !== 'self' ? { leaderLease: values['leader-lease'] ?? LEADER_LEASE } : {}) } : {}),
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context !== undefined ? { context: values.context } : {}),
    profilesFromCluster: fromCluster,
    controllerNamespace: values['controller-namespace'] ?? DEFAULT_CONTROLLER_NAMESPACE,
    events: values['no-events'] !== true,
    ...(values.identity !== undefined ? { identity: values.identity } : {}),
    ...(certMode === 'self'
      ? {
          self: {
            secretName: values['tls-secret'] ?? TLS_SECRET,
            caSecretName: values['ca-secret'] ?? CA_SECRET,
            service: values.service ?? NAME,
            ...(webhookConfig !== 'none' ? { webhookConfig } : {}),
            ...(values['validating-webhook-config'] ? { validatingWebhookConfig: values['validating-webhook-config'] } : {}),
            leaderLease: values['leader-lease'] ?? LEADER_LEASE,
            ...(values['cert-check-interval'] !== undefined ? { checkIntervalMs: parseCheckInterval(values['cert-check-interval']) } : {}),
            ...(values['cert-validity'] !== undefined
              ? { leafValiditySeconds: Math.max(1, Math.round(parseDuration(values['cert-validity'], '--cert-validity') / 1000)) }
              : {}),
          },
        }
      : {}),
  };
}

function limitFlags(values: Values): ServeOptions['limits'] {
  return {
    ...DEFAULT_LIMITS,
    ...(values['max-connections'] !== undefined ? { maxConnections: parseInteger(values['max-connections'], '--max-connections', 1, 1_000_000) } : {}),
    ...(values['max-connections-per-peer'] !== undefined
      ? { maxConnectionsPerPeer: parseInteger(values['max-connections-per-peer'], '--max-connections-per-peer', 1, 1_000_000) }
      : {}),
  };
}
