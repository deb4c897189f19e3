/** `outrigger manifests`: prints the install bundle. */
import { readFileSync } from 'node:fs';
import { dns1123Subdomain } from '../common/k8s-names.ts';
import { TLS_SECRET } from '../common/labels.ts';
import { type BundleOptions, bundle, type CertMode, cidrError, DEFAULTS } from '../deploy/manifests.ts';
import { toYaml } from '../io/yaml.ts';
import { EXIT, type Io } from './commands.ts';
import { imageFlag, namespaceFlag, parseAdmission, parseFlags, parseOutput, UsageError } from './options.ts';
import { jsonDocuments } from './output.ts';

export const MANIFESTS_HELP = `Usage: outrigger manifests [options] | kubectl apply --server-side -f -

Prints everything needed to run Outrigger: Namespace, CRD, ServiceAccount, RBAC, Deployment,
PodDisruptionBudget, Service, NetworkPolicy, MutatingWebhookConfiguration (pods) and
ValidatingWebhookConfiguration (workloads: warnings only).

Options:
  -n, --namespace NAME        Outrigger's namespace (default ${DEFAULTS.namespace})
      --image REF             container image (default ${DEFAULTS.image})
      --replicas N            replicas (default ${DEFAULTS.replicas})
      --cert-mode MODE        self (default): Outrigger makes and renews its own CA and certificate;
                              cert-manager: a cert-manager Certificate and CA injection;
                              files: you provide Secret ${TLS_SECRET} and --ca-bundle
      --ca-bundle FILE        PEM CA for --cert-mode files
      --no-opt-out-condition  do not skip opted-out pods in the API server; needed when a profile is
                              mandatory, or opted-out pods never reach Outrigger
      --client-ca-configmap NAME  require the API server's client certificate on /mutate: ConfigMap
                              NAME (key ca.crt, in Outrigger's namespace) holds the CA that signs it
      --api-server-port N     a port the NetworkPolicy lets Outrigger reach, the API server's (repeatable;
                              default ${DEFAULTS.apiServerPorts.join(' and ')})
      --webhook-ingress-from CIDR  only these sources (the control plane's addresses) may reach the
                              webhook port (repeatable; default: any pod, which without a client
                              CA may call /mutate and learn what every profile would inject)
      --priority-class NAME   the pods' PriorityClass, "" for none (default ${DEFAULTS.priorityClassName}: a
                              fail-closed webhook should be scheduled before what it admits)
      --admission MODE        webhook (default), or policy (Kubernetes 1.36+): no webhook configuration
                              for pods; Outrigger keeps admission policies that the API server injects
                              with (serve --admission policy), and may write admission policies
  -o, --output FORMAT         yaml (default) or json (a v1 List)
  -h, --help                  show this help

Exit codes: 0 printed, 2 usage error.
`;

export function renderBundle(o: BundleOptions, format: 'yaml' | 'json' = 'yaml'): string {
  const objects = bundle(o);
  if (format === 'json') return jsonDocuments(objects);
  return objects.map((obj) => toYaml(obj)).join('---\n');
}

/** The flags `parseFlags` accepts; also read by `outrigger completion`. */
export const MANIFESTS_FLAGS = {
  namespace: { type: 'string', short: 'n' },
  image: { type: 'string' },
  replicas: { type: 'string' },
  'cert-mode': { type: 'string' },
  'ca-bundle': { type: 'string' },
  'no-opt-out-condition': { type: 'boolean' },
  'api-server-port': { type: 'string', multiple: true },
  'client-ca-configmap': { type: 'string' },
  'webhook-ingress-from': { type: 'string', multiple: true },
  'priority-class': { type: 'string' },
  admission: { type: 'string' },
  output: { type: 'string', short: 'o' },
} as const;

export async function manifestsCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, MANIFESTS_FLAGS);
  if (values.help) {
    io.stdout.write(MANIFESTS_HELP);
    return EXIT.ok;
  }
  const format = parseOutput(values.output, ['yaml', 'json']);
  const namespace = namespaceFlag('-n/--namespace', values.namespace ?? DEFAULTS.namespace);
  const image = imageFlag('--image', values.image ?? DEFAULTS.image);
  const replicas = values.replicas === undefined ? DEFAULTS.replicas : Number(values.replicas);
  if (!Number.isInteger(replicas) || replicas < 1) throw new UsageError(`--replicas: ${JSON.stringify(values.replicas)} must be a whole number of at least 1`);
  const certMode = (values['cert-mode'] ?? DEFAULTS.certMode) as CertMode;
  if (!['self', 'cert-manager', 'files'].includes(certMode))
    throw new UsageError(`--cert-mode: ${JSON.stringify(certMode)} must be self, cert-manager or files`);
  if (certMode === 'files' && !values['ca-bundle'])
    throw new UsageError('--cert-mode files needs --ca-bundle FILE (the CA that signed the certificate in Secret outrigger-tls)');
  if (certMode !== 'files' && values['ca-bundle']) throw new UsageError('--ca-bundle only applies to --cert-mode files');
  let caBundle: string | undefined;
  if (values['ca-bundle']) {
    try {
      caBundle = readFileSync(values['ca-bundle'], 'utf8');
    } catch (e) {
      throw new UsageError(`--ca-bundle: ${(e as Error).message}`);
    }
    if (!caBundle.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--ca-bundle: ${values['ca-bundle']} holds no PEM certificate`);
  }
  const ports = (values['api-server-port'] as string[] | undefined) ?? DEFAULTS.apiServerPorts.map(String);
  for (const p of ports)
    if (!/^\d{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535)
      throw new UsageError(`--api-server-port: ${JSON.stringify(p)} must be a port from 1 to 65535`);
  const clientCa = values['client-ca-configmap'];
  const cmError = clientCa === undefined ? undefined : dns1123Subdomain(clientCa);
  if (cmError) throw new UsageError(`--client-ca-configmap: ${JSON.stringify(clientCa)} ${cmError}`);
  const ingressFrom = (values['webhook-ingress-from'] as string[] | undefined) ?? [];
  for (const cidr of ingressFrom) {
    const error = cidrError(cidr);
    if (error) throw new UsageError(`--webhook-ingress-from: ${JSON.stringify(cidr)} ${error}`);
  }
  const priorityClassName = values['priority-class'] ?? DEFAULTS.priorityClassName;
  const pcError = priorityClassName === '' ? undefined : dns1123Subdomain(priorityClassName);
  if (pcError) throw new UsageError(`--priority-class: ${JSON.stringify(priorityClassName)} ${pcError}`);
  const admission = parseAdmission(values.admission);
  io.stdout.write(
    renderBundle(
      {
        admission,
        priorityClassName,
        webhookIngressFrom: ingressFrom,
        namespace,
        image,
        replicas,
        certMode,
        optOutMatchCondition: values['no-opt-out-condition'] !== true,
        apiServerPorts: ports.map(Number),
        ...(clientCa ? { clientCaConfigMap: clientCa } : {}),
        ...(caBundle ? { caBundle } : {}),
      },
      format,
    ),
  );
  return EXIT.ok;
}
