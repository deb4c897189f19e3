/**
 * The serving certificate, its key and the optional client CA: read, checked as a pair, and
 * reloaded when the files change (see watch.ts for the Secret-volume symlink swap). A new pair
 * goes to `apply` (the server's setSecureContext: new connections get it, open ones keep theirs).
 * A broken pair (unreadable, not PEM, key not matching the certificate) keeps the old one, and is
 * logged and counted. Each check reads each file once and checks and serves those bytes; because the
 * cert and the key of a non-atomic update land one after the other, a change is only loaded (or
 * judged broken) once the files have stayed the same for `settleMs` (settle.ts).
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { readFileSnapshot } from '../io/file-snapshot.ts';
import { caBundleProblem, certificateInfo } from '../tls/certs.ts';
import { errorFields, type Logger } from './log.ts';
import type { WebhookMetrics } from './metrics.ts';
import { changeSettler } from './settle.ts';
import { watchPaths } from './watch.ts';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  /** sha256 over the three files' bytes: what "changed" means. */
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  /** The certificate's SHA-256 fingerprint, for logs. */
  certFingerprint: string;
}

export class TlsLoadError extends Error {}

interface RawFiles {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  /** sha256 over the bytes read: the bytes that are checked and served. */
  fingerprint: string;
  /** The fingerprint plus the files' times: the same stamp twice means the files stayed quiet. */
  stamp?: string;
}

/** One read of a file (its bytes and a stamp of its times); throws TlsLoadError naming it. */
async function read(what: string, path: string) {
  try {
    return await readFileSnapshot(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TlsLoadError(`${what} ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

function hashPair(bufs: readonly Buffer[]): string {
  const h = createHash('sha256');
  for (const b of bufs) h.update(String(b.length)).update(':').update(b);
  return h.digest('hex');
}

/** One read of each file; these bytes are fingerprinted, checked as a pair and served. */
async function readRaw(files: TlsFiles): Promise<RawFiles> {
  const [cert, key, ca] = await Promise.all([
    read('certificate', files.certFile),
    read('key', files.keyFile),
    files.clientCaFile ? read('client CA', files.clientCaFile) : undefined,
  ]);
  const fingerprint = hashPair([cert.bytes, key.bytes, ca?.bytes ?? Buffer.alloc(0)]);
  const stamp = createHash('sha256')
    .update(`${fingerprint}\n${cert.stamp}\n${key.stamp}\n${ca?.stamp ?? ''}`)
    .digest('hex');
  return { cert: cert.bytes, key: key.bytes, ...(ca ? { ca: ca.bytes } : {}), fingerprint, stamp };
}

/** Parses and checks a pair; throws TlsLoadError naming the file and the problem. */
export function checkMaterial(raw: RawFiles, files: TlsFiles): TlsMaterial {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(raw.cert);
  } catch (e) {
    throw new TlsLoadError(`certificate ${files.certFile}: not a PEM certificate (${(e as Error).message})`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(raw.key);
  } catch (e) {
    throw new TlsLoadError(`key ${files.keyFile}: not a PEM private key (${(e as Error).message})`);
  }
  if (!x509.checkPrivateKey(key)) throw new TlsLoadError(`key ${files.keyFile} does not match certificate ${files.certFile}`);
  if (raw.ca) {
    const problem = caBundleProblem(raw.ca.toString('utf8'));
    if (problem) throw new TlsLoadError(`client CA ${files.clientCaFile}: ${problem}`);
  }
  try {
    createSecureContext({ cert: raw.cert, key: raw.key, ...(raw.ca ? { ca: raw.ca } : {}) });
  } catch (e) {
    throw new TlsLoadError(`${files.certFile} / ${files.keyFile}: OpenSSL refused the pair (${(e as Error).message})`);
  }
  const info = certificateInfo(raw.cert.toString('utf8'));
  return {
    cert: raw.cert,
    key: raw.key,
    ...(raw.ca ? { ca: raw.ca } : {}),
    fingerprint: raw.fingerprint,
    notBefore: info.notBefore,
    notAfter: info.notAfter,
    dnsNames: info.dnsNames,
    certFingerprint: info.fingerprint256,
  };
}

/**
 * Material from PEM text held in memory (self-managed certificates); `source` names it in errors.
 * `clientCa`: the --client-ca file's bytes, read by the caller.
 */
export function materialFromPem(certPem: string, keyPem: string, source: string, clientCa?: { file: string; pem: Buffer }): TlsMaterial {
  const cert = Buffer.from(certPem);
  const key = Buffer.from(keyPem);
  return checkMaterial(
    { cert, key, ...(clientCa ? { ca: clientCa.pem } : {}), fingerprint: hashPair([cert, key, clientCa?.pem ?? Buffer.alloc(0)]) },
    { certFile: `${source} tls.crt`, keyFile: `${source} tls.key`, ...(clientCa ? { clientCaFile: clientCa.file } : {}) },
  );
}

/** Reads the --client-ca file; throws TlsLoadError naming it. */
export async function readClientCa(file: string): Promise<{ file: string; pem: Buffer }> {
  return { file, pem: (await read('client CA', file)).bytes };
}

export async function readTlsMaterial(files: TlsFiles): Promise<TlsMaterial> {
  return checkMaterial(await readRaw(files), files);
}

export interface TlsState {
  current: TlsMaterial;
  lastError?: { time: string; error: string };
}

export interface TlsReloaderOptions {
  files: TlsFiles;
  initial: TlsMaterial;
  apply: (m: TlsMaterial) => void;
  log: Logger;
  metrics: WebhookMetrics;
  pollMs: number;
  settleMs?: number;
  now?: () => Date;
}

export function certLogFields(m: TlsMaterial): Record<string, unknown> {
  return { notAfter: m.notAfter.toISOString(), dnsNames: m.dnsNames, sha256: m.certFingerprint };
}

export function startTlsReloader(opts: TlsReloaderOptions): { state: TlsState; stop(): void; check(): Promise<void> } {
  const now = opts.now ?? (() => new Date());
  const state: TlsState = { current: opts.initial };
  const settle = changeSettler(
    opts.settleMs ?? 1000,
    () => void w.run(),
    () => now().getTime(),
  );

  const fail = (e: unknown) => {
    const error = e instanceof Error ? e.message : String(e);
    state.lastError = { time: now().toISOString(), error };
    opts.metrics.tlsReloads.inc(['failure']);
    opts.metrics.tlsReloadOk.set(0);
    opts.log.error('tls reload failed; still serving the previous certificate', {
      ...errorFields(e, !(e instanceof TlsLoadError)),
      serving: certLogFields(state.current),
    });
  };

  // A file that cannot be read is a content too: it is only reported once it stays so.
  const read = async (): Promise<{ raw?: RawFiles; error?: unknown; content: string; stamp: string }> => {
    try {
      const raw = await readRaw(opts.files);
      return { raw, content: raw.fingerprint, stamp: raw.stamp ?? raw.fingerprint };
    } catch (error) {
      const content = `error:${(error as Error).message}`;
      return { error, content, stamp: content };
    }
  };

  const check = async () => {
    const { raw, error, content, stamp } = await read();
    if (content === state.current.fingerprint) {
      // The files went back to what is served: an earlier failure no longer applies.
      if (settle.clear()) {
        state.lastError = undefined;
        opts.metrics.tlsReloadOk.set(1);
      }
      return;
    }
    if (!settle.quiet(stamp) || settle.reported(content)) return;
    let m: TlsMaterial;
    try {
      if (!raw) throw error;
      m = checkMaterial(raw, opts.files);
      opts.apply(m);
    } catch (e) {
      if (settle.failed(content)) fail(e);
      return;
    }
    swapIn(m);
  };

  const swapIn = (m: TlsMaterial) => {
    const previous = state.current;
    state.current = m;
    state.lastError = undefined;
    settle.clear();
    opts.metrics.tlsReloads.inc(['success']);
    opts.metrics.tlsReloadOk.set(1);
    opts.metrics.certExpiry.set(m.notAfter.getTime() / 1000);
    opts.log.info('tls certificate reloaded', { certificate: certLogFields(m), previous: certLogFields(previous) });
    if (m.notAfter.getTime() <= now().getTime()) opts.log.warn('the new serving certificate has already expired', certLogFields(m));
  };

  const w = watchPaths({
    paths: [opts.files.certFile, opts.files.keyFile, ...(opts.files.clientCaFile ? [opts.files.clientCaFile] : [])],
    pollMs: opts.pollMs,
    check,
  });
  return {
    state,
    check: () => w.run(),
    stop() {
      w.stop();
      settle.stop();
    },
  };
}
