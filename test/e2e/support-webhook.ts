/**
 * Helpers for test/e2e/webhook.e2e.test.ts: the real `outrigger serve` as a child process (stdout
 * JSON lines captured and parsed), a tiny in-test HTTPS admission webhook (records what it sees,
 * optionally adds a container), a small HTTPS JSON client, and latency statistics.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';

const REPO = new URL('../../', import.meta.url).pathname;

export interface ServeProcess {
  port: number;
  child: ChildProcess;
  /** Every JSON line the server logged on stdout, parsed, in order. */
  logs: Record<string, unknown>[];
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. Idempotent. */
  stop(graceMs?: number): Promise<number | string>;
}

/**
 * Runs `node src/cli/main.ts serve ARGS` (the Node this test runs on) and waits for its
 * `"msg":"listening"` line, then for `GET /readyz` to answer 200 (verified against `caPem`; with
 * `caPem` undefined, as for self-managed certificates the caller checks readiness itself).
 */
export async function startServeProcess(args: string[], caPem: string | undefined, timeoutMs = 30_000, nodeArgs: string[] = []): Promise<ServeProcess> {
  const child = spawn(process.execPath, [...nodeArgs, 'src/cli/main.ts', 'serve', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let partial = '';
  const logs: Record<string, unknown>[] = [];
  let onLine: ((l: Record<string, unknown>) => void) | undefined;
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    out += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        logs.push(parsed);
        onLine?.(parsed);
      } catch {
        // not a JSON line: kept in stdout() for failure messages
      }
    }
  });
  child.stderr?.on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  const listening = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`outrigger serve did not log "listening" within ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`)),
      timeoutMs,
    );
    onLine = (l) => {
      if (l.msg === 'listening' && typeof l.port === 'number') {
        clearTimeout(timer);
        resolve(l.port);
      }
    };
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`outrigger serve exited (${code}) before listening\nstdout:\n${out}\nstderr:\n${err}`));
    });
  });
  let port: number;
  try {
    port = await listening;
    onLine = undefined;
    const deadline = Date.now() + timeoutMs;
    for (; caPem !== undefined; ) {
      const r = await httpsJson(port, caPem, 'GET', '/readyz').catch((e: Error) => ({ status: 0, body: e.message, text: e.message }));
      if (r.status === 200) break;
      if (Date.now() > deadline) throw new Error(`outrigger serve never became ready: ${r.status} ${r.text}`);
      await sleep(100);
    }
  } catch (e) {
    child.kill('SIGKILL'); // never leave a half-started server behind
    throw e;
  }
  let stopping: Promise<number | string> | undefined;
  return {
    port,
    child,
    logs,
    stdout: () => out,
    stderr: () => err,
    exited,
    stop(graceMs = 15_000) {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      })();
      return stopping;
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something truthy; the timeout error says what was awaited and the last error. */
export async function eventually<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export interface JsonResponse {
  status: number;
  body: unknown;
  text: string;
}

/** One HTTPS request to 127.0.0.1:port, verifying the server against `caPem` (its IP SAN). */
export function httpsJson(port: number, caPem: string, method: string, path: string, body?: unknown): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        ca: caPem,
        agent: false,
        headers: payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {},
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface HelperCall {
  path: string;
  uid: string;
  namespace: string;
  /** request.object exactly as the API server sent it. */
  object: Record<string, unknown>;
}

/** The container the `/add-container` webhook adds. */
export const SECOND_CONTAINER = { name: 'second-webhook-app', image: 'example.com/second:1' };

/**
 * A tiny mutating webhook on 127.0.0.1 (HTTP/1.1):
 *  - `/record`: records request.object and allows it unchanged (ordered before Outrigger, it sees
 *    exactly what Outrigger is sent on the first round);
 *  - `/add-container`: adds SECOND_CONTAINER when absent (ordered after Outrigger).
 */
export async function startHelperWebhook(cert: { certPem: string; keyPem: string }) {
  const calls: HelperCall[] = [];
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        apiVersion: string;
        request: { uid: string; namespace: string; object: Record<string, unknown> & { spec: { containers: { name: string }[] } } };
      };
      const path = (req.url ?? '').split('?')[0] ?? '';
      const { uid, namespace, object } = review.request;
      calls.push({ path, uid, namespace, object });
      const response: Record<string, unknown> = { uid, allowed: true };
      if (path === '/add-container' && !object.spec.containers.some((c) => c.name === SECOND_CONTAINER.name)) {
        response.patchType = 'JSONPatch';
        response.patch = Buffer.from(JSON.stringify([{ op: 'add', path: '/spec/containers/-', value: SECOND_CONTAINER }])).toString('base64');
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: review.apiVersion, kind: 'AdmissionReview', response }));
    });
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    calls,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** A MutatingWebhookConfiguration calling a test webhook (`clientConfig`: a URL or a Service, and the caBundle) for pod creates in namespaces labelled `nsLabels`; never reinvoked. */
export function helperConfig(name: string, clientConfig: Record<string, unknown>, nsLabels: Record<string, string>) {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name },
    webhooks: [
      {
        name: `${name}.e2e.outrigger.dev`,
        clientConfig,
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
        namespaceSelector: { matchLabels: nsLabels },
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        failurePolicy: 'Fail',
        reinvocationPolicy: 'Never',
        timeoutSeconds: 10,
      },
    ],
  };
}

export interface Summary {
  n: number;
  median: number;
  p95: number;
  mean: number;
}

/** Nearest-rank percentiles of millisecond samples. */
export function summarize(ms: readonly number[]): Summary {
  const s = [...ms].sort((a, b) => a - b);
  const rank = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN;
  return { n: s.length, median: rank(50), p95: rank(95), mean: s.reduce((a, b) => a + b, 0) / s.length };
}
