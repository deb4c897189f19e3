/**
 * Kubeconfig `exec` users (client.authentication.k8s.io ExecCredential plugins, as EKS, GKE, AKS
 * and OIDC clusters use): the plugin is run the way kubectl runs it, with KUBERNETES_EXEC_INFO set,
 * never interactively; its credential is kept until it expires, and run again when the API server
 * answers 401. The plugin runs asynchronously with a time and output bound, so a hung or chatty
 * plugin can neither stall a server's event loop nor fill its memory.
 */
import { execFile } from 'node:child_process';
import { isAbsolute, join } from 'node:path';
import { isObject, type JsonObject, type JsonValue } from '../common/json.ts';

export const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'] as const;
/** A plugin that has not answered in this time is stopped (kubectl waits forever; a server must not). */
export const EXEC_TIMEOUT_MS = 120_000;
/** More output than any credential needs is refused. */
export const EXEC_MAX_OUTPUT = 1024 * 1024;
/** A credential this close to its expiry is refreshed before use. */
const EXPIRY_MARGIN_MS = 10_000;

export interface ExecCredential {
  token?: string;
  cert?: string;
  key?: string;
}

export class ExecCredentialError extends Error {}

export interface ExecPlugin {
  apiVersion: (typeof EXEC_API_VERSIONS)[number];
  command: string;
  args: string[];
  env: Record<string, string>;
  installHint?: string;
  /** What KUBERNETES_EXEC_INFO carries for this plugin. */
  execInfo: string;
}

/** The cluster as `provideClusterInfo: true` passes it to a plugin. */
export interface ClusterInfo {
  server: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  config?: JsonValue;
}

const stringList = (v: JsonValue | undefined): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** The `exec` stanza of user `user` (in kubeconfig `file`) as a plugin to run, or an error naming the field. */
export function execPlugin(exec: JsonObject, user: string, file: string, cluster: ClusterInfo): ExecPlugin {
  const where = `${file}: user ${JSON.stringify(user)}: exec`;
  const apiVersion = exec.apiVersion;
  if (!EXEC_API_VERSIONS.includes(apiVersion as ExecPlugin['apiVersion'])) {
    throw new ExecCredentialError(`${where}.apiVersion: ${JSON.stringify(apiVersion)} is not one of ${EXEC_API_VERSIONS.join(', ')}`);
  }
  if (typeof exec.command !== 'string' || exec.command === '') throw new ExecCredentialError(`${where}.command: must be a non-empty string`);
  if (exec.args !== undefined && exec.args !== null && !stringList(exec.args)) throw new ExecCredentialError(`${where}.args: must be a list of strings`);
  const env: Record<string, string> = {};
  for (const [i, e] of (Array.isArray(exec.env) ? exec.env : []).entries()) {
    if (!isObject(e) || typeof e.name !== 'string' || typeof e.value !== 'string')
      throw new ExecCredentialError(`${where}.env[${i}]: needs a name and a value`);
    env[e.name] = e.value;
  }
  if (exec.env !== undefined && exec.env !== null && !Array.isArray(exec.env)) throw new ExecCredentialError(`${where}.env: must be a list`);
  if (exec.interactiveMode === 'Always') {
    throw new ExecCredentialError(`${where}.interactiveMode: Always needs a terminal to talk to, and Outrigger runs plugins non-interactively`);
  }
  // A relative command containing a slash is relative to the kubeconfig, as kubectl resolves it.
  const command = exec.command.includes('/') && !isAbsolute(exec.command) ? join(file, '..', exec.command) : exec.command;
  const spec: JsonObject = { interactive: false };
  if (exec.provideClusterInfo === true) spec.cluster = { ...cluster };
  return {
    apiVersion: apiVersion as ExecPlugin['apiVersion'],
    command,
    args: (exec.args as string[] | undefined) ?? [],
    env,
    ...(typeof exec.installHint === 'string' ? { installHint: exec.installHint } : {}),
    execInfo: JSON.stringify({ apiVersion, kind: 'ExecCredential', spec }),
  };
}

/** Reads the plugin's answer: an ExecCredential of the same apiVersion with a token or a client certificate and key. */
export function parseExecCredential(text: string, plugin: Pick<ExecPlugin, 'apiVersion' | 'command'>): { credential: ExecCredential; expiresAt?: number } {
  const what = `exec plugin ${JSON.stringify(plugin.command)}`;
  let doc: JsonValue;
  try {
    doc = JSON.parse(text) as JsonValue;
  } catch (e) {
    throw new ExecCredentialError(`${what} printed no JSON ExecCredential: ${(e as Error).message}`);
  }
  if (!isObject(doc) || doc.kind !== 'ExecCredential') throw new ExecCredentialError(`${what} printed something other than an ExecCredential`);
  if (doc.apiVersion !== plugin.apiVersion) {
    throw new ExecCredentialError(`${what} answered apiVersion ${JSON.stringify(doc.apiVersion)}, not the ${plugin.apiVersion} it was asked for`);
  }
  const status = doc.status;
  if (!isObject(status)) throw new ExecCredentialError(`${what}: the ExecCredential has no status`);
  const credential: ExecCredential = {};
  if (typeof status.token === 'string' && status.token !== '') credential.token = status.token;
  const cert = status.clientCertificateData;
  const key = status.clientKeyData;
  if ((typeof cert === 'string') !== (typeof key === 'string')) throw new ExecCredentialError(`${what}: clientCertificateData and clientKeyData come together`);
  if (typeof cert === 'string' && typeof key === 'string') Object.assign(credential, { cert, key });
  if (!credential.token && !credential.cert) throw new ExecCredentialError(`${what}: the ExecCredential has neither a token nor a client certificate`);
  if (status.expirationTimestamp === undefined || status.expirationTimestamp === null) return { credential };
  const expiresAt = typeof status.expirationTimestamp === 'string' ? Date.parse(status.expirationTimestamp) : Number.NaN;
  if (!Number.isFinite(expiresAt)) throw new ExecCredentialError(`${what}: expirationTimestamp ${JSON.stringify(status.expirationTimestamp)} is not a time`);
  return { credential, expiresAt };
}

function run(plugin: ExecPlugin, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      plugin.command,
      plugin.args,
      {
        env: { ...process.env, ...plugin.env, KUBERNETES_EXEC_INFO: plugin.execInfo },
        timeout: timeoutMs,
        maxBuffer: EXEC_MAX_OUTPUT,
        encoding: 'utf8',
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const what = `exec plugin ${JSON.stringify(plugin.command)}`;
        const e = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: string | number | null };
        const tail = stderr.trim().split('\n').slice(-3).join(' / ').slice(0, 500);
        if (e.code === 'ENOENT') return reject(new ExecCredentialError(`${what} was not found${plugin.installHint ? `: ${plugin.installHint.trim()}` : ''}`));
        if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return reject(new ExecCredentialError(`${what} printed more than ${EXEC_MAX_OUTPUT} bytes`));
        if (e.killed) return reject(new ExecCredentialError(`${what} did not answer within ${timeoutMs} ms and was stopped`));
        reject(new ExecCredentialError(`${what} failed (${e.signal ? `signal ${e.signal}` : `exit ${e.code}`})${tail ? `: ${tail}` : ''}`));
      },
    );
  });
}

/**
 * The credential source for one plugin: `get()` runs the plugin when there is no credential or it
 * is about to expire (concurrent callers share one run), `invalidate()` after a 401.
 */
export function execCredentialSource(plugin: ExecPlugin, opts: { now?: () => number; timeoutMs?: number } = {}) {
  const now = opts.now ?? Date.now;
  let current: { credential: ExecCredential; expiresAt?: number } | undefined;
  let pending: Promise<ExecCredential> | undefined;
  const fresh = () => current !== undefined && (current.expiresAt === undefined || current.expiresAt - EXPIRY_MARGIN_MS > now());
  return {
    async get(): Promise<ExecCredential> {
      if (fresh()) return (current as { credential: ExecCredential }).credential;
      pending ??= run(plugin, opts.timeoutMs ?? EXEC_TIMEOUT_MS)
        .then((text) => {
          current = parseExecCredential(text, plugin);
          return current.credential;
        })
        .finally(() => {
          pending = undefined;
        });
      return pending;
    },
    invalidate(): void {
      current = undefined;
    },
  };
}

export type ExecCredentialSource = ReturnType<typeof execCredentialSource>;
