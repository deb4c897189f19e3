/**
 * Kubeconfig `exec` users (client.authentication.k8s.io ExecCredential plugins, as EKS, GKE, AKS
 * and OIDC clusters use): the plugin is run the way kubectl runs it, with KUBERNETES_EXEC_INFO set,
 * never interactively; its credential is kept until it expires, and run again when the API server
 * answers 401. The plugin runs asynchronously, in its own process group, with a time and output
 * bound, so a hung or chatty plugin can neither stall a server's event loop nor fill its memory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
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
  'tls-server-name'?: string;
  'proxy-url'?: string;
  'disable-compression'?: boolean;
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
  } catch {
    // Not the parser's message: it would quote the output, which may be a credential.
    throw new ExecCredentialError(`${what} printed no JSON ExecCredential`);
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

/** After SIGTERM, how long a plugin's process group has before SIGKILL. */
const KILL_GRACE_MS = 2000;

/** A running plugin: its output when it succeeds, and a way to stop it. */
interface Run {
  output: Promise<string>;
  stop(): void;
}

/**
 * Runs the plugin in its own process group with no stdin (as kubectl runs a non-interactive one).
 * At the time limit, or past the output limit, the promise is rejected at once and the whole group
 * is stopped (SIGTERM, then SIGKILL): a plugin that ignores SIGTERM, or leaves children behind,
 * cannot hold a caller.
 */
function run(plugin: ExecPlugin, timeoutMs: number): Run {
  const what = `exec plugin ${JSON.stringify(plugin.command)}`;
  let child: ChildProcess | undefined;
  let settled = false;
  let killTimer: NodeJS.Timeout | undefined;
  const killGroup = () => {
    const pid = child?.pid;
    if (pid === undefined || child?.exitCode !== null || child.signalCode !== null) return;
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(-pid, s);
      } catch {
        // The group is gone already.
      }
    };
    signal('SIGTERM');
    killTimer = setTimeout(() => signal('SIGKILL'), KILL_GRACE_MS);
    killTimer.unref();
  };
  const output = new Promise<string>((resolve, reject) => {
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      killGroup();
      reject(new ExecCredentialError(message));
    };
    const timer = setTimeout(() => fail(`${what} did not answer within ${timeoutMs} ms and was stopped`), timeoutMs);
    timer.unref();
    try {
      child = spawn(plugin.command, plugin.args, {
        env: { ...process.env, ...plugin.env, KUBERNETES_EXEC_INFO: plugin.execInfo },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        windowsHide: true,
      });
    } catch (e) {
      return fail(`${what} could not be started: ${(e as Error).message}`);
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > EXEC_MAX_OUTPUT) return fail(`${what} printed more than ${EXEC_MAX_OUTPUT} bytes`);
      into.push(chunk);
    };
    child.stdout?.on('data', collect(out));
    child.stderr?.on('data', collect(err));
    child.on('error', (e: NodeJS.ErrnoException) =>
      fail(
        e.code === 'ENOENT'
          ? `${what} was not found${plugin.installHint ? `: ${plugin.installHint.trim()}` : ''}`
          : `${what} could not be started: ${e.message}`,
      ),
    );
    child.on('close', (code, sig) => {
      if (settled) return;
      if (code === 0) {
        settled = true;
        clearTimeout(timer);
        return resolve(Buffer.concat(out).toString('utf8'));
      }
      // Its last words on stderr, as kubectl shows them: usually why the login failed.
      // Control and format characters (a terminal's escape sequences, bidi overrides) are not passed on.
      const tail = Buffer.concat(err)
        .toString('utf8')
        .trim()
        .split('\n')
        .slice(-3)
        .join(' / ')
        .replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, '')
        .slice(0, 300);
      fail(`${what} failed (${sig ? `signal ${sig}` : `exit ${code}`})${tail ? `: ${tail}` : ''}`);
    });
  });
  return { output, stop: () => (settled ? undefined : killGroup()) };
}

/**
 * The credential source for one plugin: `get()` runs the plugin when there is no credential or it
 * is about to expire (concurrent callers share one run); `invalidate(token)` after the API server
 * refused that token (a 401), unless a newer one has replaced it; `stop()` ends a run in progress.
 */
export function execCredentialSource(plugin: ExecPlugin, opts: { now?: () => number; timeoutMs?: number } = {}) {
  const now = opts.now ?? Date.now;
  let current: { credential: ExecCredential; expiresAt?: number; fetchedAt: number } | undefined;
  let pending: { run: Run; credential: Promise<ExecCredential> } | undefined;
  const fresh = () => {
    if (current === undefined) return false;
    if (current.expiresAt === undefined) return true;
    // Refreshed a little before it expires; a short-lived credential is used for most of its life.
    const margin = Math.min(EXPIRY_MARGIN_MS, (current.expiresAt - current.fetchedAt) / 4);
    return current.expiresAt - margin > now();
  };
  return {
    async get(): Promise<ExecCredential> {
      if (fresh()) return (current as { credential: ExecCredential }).credential;
      if (!pending) {
        const started = now();
        const r = run(plugin, opts.timeoutMs ?? EXEC_TIMEOUT_MS);
        const credential = r.output
          .then((text) => {
            current = { ...parseExecCredential(text, plugin), fetchedAt: started };
            return current.credential;
          })
          .finally(() => {
            pending = undefined;
          });
        pending = { run: r, credential };
      }
      return pending.credential;
    },
    invalidate(refused?: string): void {
      if (refused === undefined || current?.credential.token === refused) current = undefined;
    },
    stop(): void {
      pending?.run.stop();
    },
  };
}

export type ExecCredentialSource = ReturnType<typeof execCredentialSource>;
