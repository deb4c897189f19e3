/**
 * Cert mode self: new material arrives from the Secret (every replica polls it), and a --client-ca
 * file is watched like the files of cert mode files (tls-reloader.ts). Either change rebuilds the
 * material from the latest of both; a refused one keeps what is served, reported like any failed
 * reload: once per error, through the same settler as the file reloaders (settle.ts). The Secret
 * arrives whole from the API server, so there is no quiet period to wait for, only the report rule.
 */
import type { ServingMaterial } from '../kube/self-tls.ts';
import { latestNotAfter } from '../tls/certs.ts';
import type { Logger } from './log.ts';
import type { WebhookMetrics } from './metrics.ts';
import { changeSettler } from './settle.ts';
import { certLogFields, materialFromPem, readClientCa, type TlsMaterial, type TlsState } from './tls-reloader.ts';
import { watchPaths } from './watch.ts';

export interface SecretTlsReloaderOptions {
  /** The cluster's certificate feed; absent: nothing arrives (the client CA is still watched). */
  feed: { first: ServingMaterial; onChange(cb: (m: ServingMaterial) => void): void } | undefined;
  initial: TlsMaterial;
  /** Names the Secret in logs and errors. */
  source: string;
  apply: (m: TlsMaterial) => void;
  log: Logger;
  metrics: WebhookMetrics;
  pollMs: number;
  clientCaFile?: string;
}

export function startSecretTlsReloader(o: SecretTlsReloaderOptions): { state: TlsState; stop(): void; check(): Promise<void> } {
  const { metrics, log, source } = o;
  const state: TlsState = { current: o.initial };
  // Never asked about a quiet period, so it never schedules the recheck.
  const settle = changeSettler(0, () => {});
  metrics.certExpiry.set(o.initial.notAfter.getTime() / 1000);
  let pem = o.feed?.first;
  const reportCa = (bundle: string) => {
    const t = latestNotAfter(bundle);
    if (t) metrics.caExpiry.set(t.getTime() / 1000);
  };
  if (pem) reportCa(pem.caBundle);
  let ca = o.initial.ca && o.clientCaFile ? { file: o.clientCaFile, pem: o.initial.ca } : undefined;

  const refuse = (what: string, error: string) => {
    if (!settle.failed(error)) return; // the same refusal, seen again by the poll
    state.lastError = { time: new Date().toISOString(), error };
    metrics.tlsReloads.inc(['failure']);
    metrics.tlsReloadOk.set(0);
    log.error(`new ${what} refused; keeping the current one`, { source, error });
  };
  const rebuild = (what: string) => {
    if (!pem) return;
    let m: TlsMaterial;
    try {
      m = materialFromPem(pem.certPem, pem.keyPem, source, ca);
      if (m.fingerprint !== state.current.fingerprint) o.apply(m);
    } catch (e) {
      refuse(what, (e as Error).message);
      return;
    }
    if (m.fingerprint === state.current.fingerprint) {
      // Back to what is served: an earlier refusal no longer applies.
      if (settle.clear()) {
        delete state.lastError;
        metrics.tlsReloadOk.set(1);
      }
      return;
    }
    state.current = m;
    delete state.lastError;
    settle.clear();
    metrics.tlsReloads.inc(['success']);
    metrics.tlsReloadOk.set(1);
    metrics.certExpiry.set(m.notAfter.getTime() / 1000);
    log.info(`${what} replaced`, { source, ...certLogFields(m) });
  };

  o.feed?.onChange((m) => {
    pem = m;
    reportCa(m.caBundle);
    rebuild('serving certificate');
  });
  const file = o.clientCaFile;
  const check = async () => {
    if (!file) return;
    try {
      ca = await readClientCa(file);
    } catch (e) {
      refuse('client CA', (e as Error).message);
      return;
    }
    rebuild('client CA');
  };
  const w = file ? watchPaths({ paths: [file], pollMs: o.pollMs, check }) : undefined;
  return { state, stop: () => w?.stop(), check };
}
