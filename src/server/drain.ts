/**
 * The stop of a running server, as one state machine:
 *
 *   serving ──stop──▶ delaying ──delay over──▶ draining ──listener closed──▶ stopping ──▶ stopped
 *                        │                        │   └──────drain timeout────────▲
 *                        └─────────stop again─────┴──▶ forced (every connection closed now)
 *
 * `delaying` keeps accepting connections while not ready (--shutdown-delay); `draining` accepts no
 * new ones and waits for the requests in flight; a second stop request forces, a timeout gives up.
 * Exit code: 0 after a clean drain, 1 when it was forced or timed out.
 */
import { Server as TlsServer } from 'node:tls';
import type { ServerHandle } from './http.ts';
import type { Logger } from './log.ts';
import type { WebhookMetrics } from './metrics.ts';

export type DrainPhase = 'serving' | 'delaying' | 'draining' | 'stopping' | 'stopped';

export interface DrainOptions {
  webhook: ServerHandle;
  /** Operators' requests only: closed at the end, with nothing to drain for. */
  admin?: ServerHandle | undefined;
  log: Logger;
  metrics: WebhookMetrics;
  drainTimeoutMs: number;
  shutdownDelayMs: number;
  /** Runs as the stop begins, before anything closes (readiness goes false, reloaders stop). */
  onBegin(): void;
  /** Runs once the listeners are closed (what outlives them: metrics, the cluster connection). */
  release(): Promise<void>;
}

export interface Drain {
  phase(): DrainPhase;
  /** True from the first stop request on: responses then close their connections. */
  draining(): boolean;
  /** Begins the stop (or forces it, the second time); resolves with the exit code. */
  stop(reason: string): Promise<number>;
  done: Promise<number>;
}

/** How long idle keep-alive connections are kept after SIGTERM (bounded by half the drain timeout). */
const IDLE_GRACE_MS = 5_000;
const netClose = TlsServer.prototype.close;

export function createDrain(o: DrainOptions): Drain {
  const { webhook, admin, log, metrics } = o;
  const server = webhook.server;
  let phase: DrainPhase = 'serving';
  // Forcing is allowed once, in any phase after serving (also while stopping, as a signal may come then).
  let forced = false;
  const timers: NodeJS.Timeout[] = [];
  let started = 0;
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((r) => {
    resolveDone = r;
  });

  const closeAll = () => {
    server.closeAllConnections();
    webhook.destroyAllSockets();
  };

  // delaying → draining. Until the delay is over the listener stays open: the API server picks
  // endpoints from its own view of the Service, which learns of this pod's removal a moment after
  // the pod is not ready, and a refused connection in that moment would fail an admission. Answers
  // already carry `Connection: close`, so connections do not outlive the delay by much.
  const beginDraining = () => {
    if (phase !== 'delaying') return;
    phase = 'draining';
    timers.push(
      setTimeout(() => {
        server.getConnections((_e, open) => {
          log.warn('drain timeout: closing the connections still open', { openConnections: open, inFlight: metrics.inFlight.get() });
          closeAll();
          finish(1);
        });
      }, o.drainTimeoutMs),
    );
    // Stop accepting at once, but keep open connections for a grace period: the API server keeps
    // reusing its idle keep-alive connections to this pod (they are pinned, endpoint removal does
    // not move them), and each request on one is answered with `Connection: close`, which retires
    // that connection without a race. Closing an idle connection is the one step that can race
    // with a request already on the wire, so it is done once, after the busy connections have
    // been retired. (https.Server#close would close idle connections immediately: the net-level
    // close is used on purpose.)
    netClose.call(server, () => finish(forced ? 1 : 0));
    const idleGrace = setTimeout(() => server.closeIdleConnections(), Math.min(IDLE_GRACE_MS, o.drainTimeoutMs / 2));
    idleGrace.unref();
    timers.push(idleGrace);
  };

  // draining → stopping → stopped.
  const finish = (code: number) => {
    if (phase === 'stopping' || phase === 'stopped') return;
    phase = 'stopping';
    for (const t of timers) clearTimeout(t);
    server.close(() => {}); // clears the HTTP layer's timeout checker; the listener is already closed
    if (admin) {
      admin.server.close(() => {});
      admin.server.closeAllConnections();
      admin.destroyAllSockets();
    }
    const report = () => {
      phase = 'stopped';
      log.info('stopped', { exitCode: code, drainMs: Math.round(performance.now() - started) });
      log.flush();
      resolveDone(code);
    };
    o.release().then(report, (e: Error) => {
      log.warn('cluster shutdown failed', { error: e.message });
      report();
    });
  };

  const force = (reason: string) => {
    if (forced) return;
    forced = true;
    log.warn('second stop request: closing every connection now', { reason });
    beginDraining();
    closeAll();
  };

  const stop = (reason: string): Promise<number> => {
    if (phase !== 'serving') {
      force(reason);
      return done;
    }
    phase = 'delaying';
    o.onBegin();
    const inFlight = metrics.inFlight.get();
    server.getConnections((_e, open) =>
      log.info('shutting down: not ready, draining', {
        reason,
        openConnections: open,
        inFlight,
        shutdownDelayMs: o.shutdownDelayMs,
        drainTimeoutMs: o.drainTimeoutMs,
      }),
    );
    started = performance.now();
    if (o.shutdownDelayMs) timers.push(setTimeout(beginDraining, o.shutdownDelayMs));
    else beginDraining();
    return done;
  };

  return { phase: () => phase, draining: () => phase !== 'serving', stop, done };
}
