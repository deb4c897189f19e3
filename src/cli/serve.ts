/**
 * `outrigger serve`: parses the flags, starts the server, and stops it on SIGTERM/SIGINT (or an
 * abort signal, in-process): not ready at once, stop accepting connections, finish every request in
 * flight, exit within --drain-timeout (src/server/drain.ts). Returns the exit code once stopped.
 */
import { createLogger } from '../server/log.ts';
import { type RunningServer, StartError, startServe } from '../server/serve-command.ts';
import { UsageError } from './options.ts';
import { parseServeArgs, SERVE_HELP } from './serve-flags.ts';

export interface ServeHooks {
  /** Stops the server as SIGTERM would (for in-process use and tests). */
  signal?: AbortSignal;
  /** Called once the server listens and is ready. */
  onListening?: (s: RunningServer) => void;
  /** Do not install SIGTERM/SIGINT handlers (in-process tests). */
  noSignalHandlers?: boolean;
}

export async function runServe(argv: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }, hooks: ServeHooks = {}): Promise<number> {
  let opts: ReturnType<typeof parseServeArgs>;
  try {
    opts = parseServeArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`error: ${e.message}\nRun 'outrigger serve --help' for usage.\n`);
    return 2;
  }
  if (opts === 'help') {
    io.stdout.write(SERVE_HELP);
    return 0;
  }
  const log = createLogger(io.stdout, { level: opts.logLevel });
  let running: RunningServer;
  try {
    running = await startServe(opts, log);
  } catch (e) {
    log.flush();
    if (e instanceof StartError) {
      io.stderr.write(`${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }

  const onSignal = (signal: NodeJS.Signals) => void running.shutdown(signal);
  if (!hooks.noSignalHandlers) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  const onAbort = () => void running.shutdown('abort');
  if (hooks.signal?.aborted) onAbort();
  else hooks.signal?.addEventListener('abort', onAbort, { once: true });
  hooks.onListening?.(running);

  const code = await running.done;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  hooks.signal?.removeEventListener('abort', onAbort);
  return code;
}
