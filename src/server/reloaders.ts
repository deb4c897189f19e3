/**
 * The reloaders of a running server, started and stopped together: the certificate (from its files,
 * or in cert mode self from the cluster's Secret) and the profile files.
 */
import type { ProfileSet } from '../engine/index.ts';
import type { ClusterRuntime } from './cluster.ts';
import type { Logger } from './log.ts';
import type { WebhookMetrics } from './metrics.ts';
import { type ProfileState, startProfileReloader } from './profile-reloader.ts';
import { startSecretTlsReloader } from './secret-tls-reloader.ts';
import type { ServeOptions } from './serve-command.ts';
import { startTlsReloader, type TlsMaterial, type TlsState } from './tls-reloader.ts';

/** The certificate reloader (files, or the cluster's Secret) and the profile reloader, started and stopped together. */
export function startReloaders(
  opts: ServeOptions,
  p: {
    log: Logger;
    metrics: WebhookMetrics;
    profiles: ProfileState;
    cluster: ClusterRuntime | undefined;
    tlsMaterial: TlsMaterial;
    secretSource: string;
    setTls(m: TlsMaterial): void;
  },
  onLoad: (set: ProfileSet) => void,
): { tls: TlsState; stop(): void; check(): Promise<void> } {
  const { log, metrics } = p;
  const settle = opts.settleMs !== undefined ? { settleMs: opts.settleMs } : {};
  const tls = opts.tls
    ? startTlsReloader({ files: opts.tls, initial: p.tlsMaterial, apply: p.setTls, log, metrics, pollMs: opts.pollMs, ...settle })
    : startSecretTlsReloader({
        feed: p.cluster?.tls,
        initial: p.tlsMaterial,
        source: p.secretSource,
        apply: p.setTls,
        log,
        metrics,
        pollMs: opts.pollMs,
        ...(opts.clientCaFile ? { clientCaFile: opts.clientCaFile } : {}),
      });
  const profiles = startProfileReloader({ paths: opts.profiles, state: p.profiles, log, metrics, pollMs: opts.pollMs, ...settle, onLoad });
  return {
    tls: tls.state,
    stop() {
      tls.stop();
      profiles.stop();
    },
    async check() {
      await Promise.all([tls.check(), profiles.check()]);
    },
  };
}
