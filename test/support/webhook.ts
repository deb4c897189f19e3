/** Test helpers for the webhook: certificates on disk, an in-process server on port 0, an HTTPS client, AdmissionReview builders. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { AdmissionResult } from '../../src/admission/handle.ts';
import type { JsonObject, JsonValue } from '../../src/engine/index.ts';
import { DEFAULT_LIMITS, type Limits } from '../../src/server/http.ts';
import { createLogger } from '../../src/server/log.ts';
import { type RunningServer, type ServeOptions, startServe } from '../../src/server/serve-command.ts';
import { type CertificateAuthority, generateCA, generateServingCert } from '../../src/tls/certs.ts';
import { profileYaml } from './profiles.ts';

export const EXAMPLE_PROFILES = new URL('../../examples/profiles/', import.meta.url).pathname;

/** Three small profiles: `probe` injects cleanly, `strict` (failurePolicy fail) and `soft` (ignore) conflict with the pod's `web` container. */
export const TEST_PROFILES = {
  'probe.yaml': profileYaml('probe', {
    version: '1.0.0',
    sidecarMode: 'classic',
    failurePolicy: 'ignore',
    containers: [{ name: 'probe', image: 'example.com/probe:1' }],
  }),
  'strict.yaml': profileYaml('strict', { version: '1.0.0', containers: [{ name: 'web', image: 'example.com/web:1' }] }),
  'soft.yaml': profileYaml('soft', { version: '2.0.0', failurePolicy: 'ignore', containers: [{ name: 'web', image: 'example.com/web:1' }] }),
};

export function tempDir(prefix = 'outrigger-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestCerts {
  ca: CertificateAuthority;
  certPem: string;
  keyPem: string;
}

export function makeCerts(ca?: CertificateAuthority, commonName = 'localhost'): TestCerts {
  const authority = ca ?? generateCA({ commonName: 'outrigger-test-ca' });
  const leaf = generateServingCert({ ca: authority, commonName, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  return { ca: authority, certPem: leaf.certPem, keyPem: leaf.keyPem };
}

/** Writes a cert/key pair as a Kubernetes Secret volume does: `tls.crt -> ..data/tls.crt`, `..data -> ..<version>`. */
export function writeSecretVolume(dir: string, version: string, files: Record<string, string>): void {
  const versionDir = join(dir, `..${version}`);
  mkdirSync(versionDir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(versionDir, name), text);
  const tmp = join(dir, '..data_tmp');
  rmSync(tmp, { force: true });
  symlinkSync(`..${version}`, tmp);
  const old = existsSync(join(dir, '..data')) ? readlinkSync(join(dir, '..data')) : undefined;
  renameSync(tmp, join(dir, '..data')); // atomic swap, as the kubelet's AtomicWriter does
  for (const name of Object.keys(files)) {
    const link = join(dir, name);
    if (!existsSync(link)) symlinkSync(join('..data', name), link);
  }
  if (old && old !== `..${version}`) rmSync(join(dir, old), { recursive: true, force: true });
}

/** Collects log lines as parsed JSON. */
export class LogSink extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    for (const l of chunk.toString('utf8').split('\n')) if (l !== '') this.lines.push(JSON.parse(l));
    cb();
  }
  find(msg: string): Record<string, unknown>[] {
    return this.lines.filter((l) => l.msg === msg);
  }
}

export interface TestServer {
  running: RunningServer;
  port: number;
  /** The admin listener (/explain, verbose readiness). */
  adminPort: number;
  caPem: string;
  dir: string;
  certDir: string;
  profilesDir: string;
  logs: LogSink;
  agent: Agent;
  stop(): Promise<number>;
}

export interface TestServerOptions {
  /** Profile files to write into the profiles dir (name → YAML text); default: the examples. */
  profiles?: Record<string, string>;
  limits?: Partial<Limits>;
  pollMs?: number;
  settleMs?: number;
  kubeVersion?: { major: number; minor: number };
  clientCa?: string;
  drainTimeoutMs?: number;
  shutdownDelayMs?: number;
  /** Write the certificate as a Secret volume (symlinks). */
  secretVolume?: boolean;
  certs?: TestCerts;
  sideEffects?: (r: AdmissionResult) => void;
  /** Write the profiles as a ConfigMap volume (symlinks). */
  profilesVolume?: boolean;
  /** Cluster facts for the handler config, as a cluster connection adds them (namespace profiles). */
  extendConfig?: ServeOptions['extendConfig'];
  webhookOptOut?: boolean;
}

export async function startTestServer(o: TestServerOptions = {}): Promise<TestServer> {
  const { dir, cleanup } = tempDir();
  const certDir = join(dir, 'certs');
  const profilesDir = join(dir, 'profiles');
  mkdirSync(certDir);
  mkdirSync(profilesDir);
  const certs = o.certs ?? makeCerts();
  if (o.secretVolume) writeSecretVolume(certDir, 'v1', { 'tls.crt': certs.certPem, 'tls.key': certs.keyPem });
  else {
    writeFileSync(join(certDir, 'tls.crt'), certs.certPem);
    writeFileSync(join(certDir, 'tls.key'), certs.keyPem);
  }
  if (o.clientCa) writeFileSync(join(certDir, 'client-ca.crt'), o.clientCa);
  const profiles = o.profiles ?? {
    'envoy.yaml': readFileSync(join(EXAMPLE_PROFILES, 'envoy.yaml'), 'utf8'),
    'log-shipper.yaml': readFileSync(join(EXAMPLE_PROFILES, 'log-shipper.yaml'), 'utf8'),
    'secrets-agent.yaml': readFileSync(join(EXAMPLE_PROFILES, 'secrets-agent.yaml'), 'utf8'),
  };
  if (o.profilesVolume) writeSecretVolume(profilesDir, 'v1', profiles);
  else for (const [name, text] of Object.entries(profiles)) writeFileSync(join(profilesDir, name), text);
  const logs = new LogSink();
  const running = await startServe(
    {
      profiles: [profilesDir],
      tls: {
        certFile: join(certDir, 'tls.crt'),
        keyFile: join(certDir, 'tls.key'),
        ...(o.clientCa ? { clientCaFile: join(certDir, 'client-ca.crt') } : {}),
      },
      port: 0,
      host: '127.0.0.1',
      admin: { host: '127.0.0.1', port: 0 },
      kubeVersion: o.kubeVersion ?? { major: 1, minor: 33 },
      drainTimeoutMs: o.drainTimeoutMs ?? 5000,
      ...(o.shutdownDelayMs !== undefined ? { shutdownDelayMs: o.shutdownDelayMs } : {}),
      pollMs: o.pollMs ?? 60_000,
      logLevel: 'debug',
      limits: { ...DEFAULT_LIMITS, ...o.limits },
      ...(o.settleMs !== undefined ? { settleMs: o.settleMs } : {}),
      ...(o.webhookOptOut !== undefined ? { webhookOptOut: o.webhookOptOut } : {}),
      ...(o.sideEffects ? { sideEffects: o.sideEffects } : {}),
      ...(o.extendConfig ? { extendConfig: o.extendConfig } : {}),
    },
    createLogger(logs, { level: 'debug' }),
  );
  const agent = new Agent({ keepAlive: true, ca: certs.ca.certPem, maxSockets: 16 });
  return {
    running,
    port: running.port,
    adminPort: running.adminPort as number,
    caPem: certs.ca.certPem,
    dir,
    certDir,
    profilesDir,
    logs,
    agent,
    async stop() {
      agent.destroy();
      const code = await running.shutdown('test');
      cleanup();
      return code;
    },
  };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json(): Record<string, unknown> & JsonObject;
}

export function send(
  port: number,
  o: {
    method?: string;
    path?: string;
    headers?: Record<string, string | number>;
    body?: string | Buffer;
    agent?: Agent;
    ca?: string;
    cert?: string;
    key?: string;
  },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port,
        method: o.method ?? 'POST',
        path: o.path ?? '/mutate',
        headers: { ...(o.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...o.headers },
        ...(o.agent ? { agent: o.agent } : { agent: false, ca: o.ca }),
        ...(o.cert ? { cert: o.cert, key: o.key } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

export interface ReviewOptions {
  uid?: string;
  apiVersion?: string;
  namespace?: string;
  operation?: string;
  kind?: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  dryRun?: boolean;
  oldObject?: JsonValue;
}

/** An AdmissionReview as the API server sends it for a pod CREATE (or what the options say). */
export function review(object: JsonValue, o: ReviewOptions = {}): JsonObject {
  const request: JsonObject = {
    uid: o.uid ?? '705ab4f5-6393-11e8-b7cc-42010a800002',
    kind: o.kind ?? { group: '', version: 'v1', kind: 'Pod' },
    resource: o.resource ?? { group: '', version: 'v1', resource: 'pods' },
    requestKind: o.kind ?? { group: '', version: 'v1', kind: 'Pod' },
    requestResource: o.resource ?? { group: '', version: 'v1', resource: 'pods' },
    ...(o.subResource !== undefined ? { subResource: o.subResource } : {}),
    namespace: o.namespace ?? 'shop',
    operation: o.operation ?? 'CREATE',
    userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', uid: 'u1', groups: ['system:serviceaccounts', 'system:authenticated'] },
    object,
    oldObject: o.oldObject ?? null,
    dryRun: o.dryRun ?? false,
    options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
  };
  return { apiVersion: o.apiVersion ?? 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}

/** A pod as it reaches admission from a ReplicaSet: generateName, no name, no namespace in metadata. */
export function pod(annotations: Record<string, string> = {}, spec?: JsonObject): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'shop-frontend-7d9f8c6b5-',
      labels: { app: 'shop-frontend', 'app.kubernetes.io/name': 'shop-frontend' },
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: spec ?? {
      containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }],
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
    },
  };
}

export function decodePatch(b64: unknown): JsonValue {
  if (typeof b64 !== 'string') throw new Error('no patch in the response');
  return JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
}
