/** `outrigger status`: which pods in the cluster are behind their profiles (a read-only report). */
import { isObject, type JsonObject } from '../common/json.ts';
import { DEFAULT_NAMESPACE, PROFILE_API_VERSION, PROFILE_KIND } from '../common/labels.ts';
import type { SidecarProfile } from '../engine/index.ts';
import { KubeApiError } from '../kube/client.ts';
import { connect, serverVersion } from '../kube/connect.ts';
import { PROFILES_PATH } from '../kube/profiles.ts';
import { compileProfile } from '../profiles/compile.ts';
import { loadProfiles } from '../profiles/load.ts';
import { tenancy } from '../profiles/tenancy.ts';
import { validateProfileDocument } from '../profiles/validate.ts';
import { driftReport } from '../report/drift.ts';
import { EXIT, type Io } from './commands.ts';
import { namespaceFlag, parseFlags, parseKubeVersion, UsageError } from './options.ts';
import { table } from './output.ts';

export const STATUS_HELP = `Usage: outrigger status [--kubeconfig FILE] [-n NAMESPACE] [options]

Lists pods whose injected profile version is no longer current (drifted), and pods in opted-in
namespaces (label outrigger.dev/injection=enabled) that were never injected. Read-only.

Options:
      --kubeconfig FILE            kubeconfig (default $KUBECONFIG, ~/.kube/config, or in-cluster)
      --context NAME               kubeconfig context
  -n, --namespace NAME             only this namespace (default: all)
      --controller-namespace NAME  Outrigger's namespace: its profiles are cluster-wide (default outrigger-system)
  -p, --profiles PATH              also use profile files, as 'serve --profiles' does (repeatable)
      --kube-version X.Y           override the version read from the API server
      --all                        list current pods too
  -o, --output FORMAT              table (default) or json
  -h, --help                       show this help

Exit codes: 0 nothing behind, 1 cannot reach or read the cluster, 2 usage error, 3 invalid profile files,
5 some pods are behind (so scripts can alert on it).
`;

const list = async (client: ReturnType<typeof connect>, path: string): Promise<JsonObject[]> => {
  const r = await client.request('GET', path);
  return Array.isArray(r.items) ? r.items.filter(isObject) : [];
};

/** The flags `parseFlags` accepts; also read by `outrigger completion`. */
export const STATUS_FLAGS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  'controller-namespace': { type: 'string' },
  profiles: { type: 'string', short: 'p', multiple: true },
  'kube-version': { type: 'string' },
  all: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
} as const;

export async function statusCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseFlags(argv, STATUS_FLAGS);
  if (values.help) {
    io.stdout.write(STATUS_HELP);
    return EXIT.ok;
  }
  const format = values.output ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError(`--output: ${JSON.stringify(format)} must be table or json`);
  const ns = values.namespace === undefined ? undefined : namespaceFlag('-n/--namespace', values.namespace);
  const controllerNamespace = namespaceFlag('--controller-namespace', values['controller-namespace'] ?? DEFAULT_NAMESPACE);
  const kubeVersionFlag = values['kube-version'] ? parseKubeVersion(values['kube-version']) : undefined;
  const files = values.profiles?.length ? (await loadProfiles(values.profiles)).profiles : [];
  let client: ReturnType<typeof connect>;
  try {
    client = connect({ kubeconfig: values.kubeconfig, context: values.context });
  } catch (e) {
    io.stderr.write(`error: ${(e as Error).message}\n`);
    return EXIT.internal;
  }
  try {
    const kubeVersion = kubeVersionFlag ?? (await serverVersion(client));
    const [pods, namespaces, profileObjects] = await Promise.all([
      list(client, ns ? `/api/v1/namespaces/${encodeURIComponent(ns)}/pods` : '/api/v1/pods'),
      list(client, '/api/v1/namespaces'),
      list(client, PROFILES_PATH).catch((e: unknown) => {
        // No CRD installed: files only.
        if (e instanceof KubeApiError && e.status === 404) return [];
        throw e;
      }),
    ]);
    const cluster: SidecarProfile[] = [];
    for (const o of profileObjects) {
      const withKind = { apiVersion: PROFILE_API_VERSION, kind: PROFILE_KIND, ...o };
      if (validateProfileDocument(withKind).length === 0) cluster.push(compileProfile(withKind, 'cluster'));
    }
    const labels = new Map(
      namespaces.map((n) => [
        String((n.metadata as JsonObject | undefined)?.name),
        ((n.metadata as JsonObject | undefined)?.labels ?? {}) as Record<string, string>,
      ]),
    );
    const rows = driftReport(
      {
        pods,
        namespaceLabels: (n) => labels.get(n),
        tenancy: tenancy([...files, ...cluster], controllerNamespace),
        kubeVersion,
      },
      values.all === true,
    );
    if (format === 'json') io.stdout.write(`${JSON.stringify({ pods: rows }, null, 2)}\n`);
    else if (rows.length === 0) io.stdout.write(`All ${pods.length} pods are current.\n`);
    else {
      io.stdout.write(
        table([
          ['NAMESPACE', 'POD', 'STATE', 'PROFILES', 'DETAIL'],
          ...rows.map((r) => [
            r.namespace,
            r.pod,
            r.state,
            r.profiles.map((p) => `${p.profile}@${p.injected ?? '-'}${p.current && p.current !== p.injected ? `→${p.current}` : ''}`).join(',') || '-',
            r.detail,
          ]),
        ]),
      );
    }
    return rows.some((r) => r.state !== 'current') ? EXIT.behind : EXIT.ok;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    io.stderr.write(`error: cannot read the cluster at ${client.config.server}: ${(e as Error).message}\n`);
    return EXIT.internal;
  } finally {
    client.close();
  }
}
