/**
 * Structured logs: one JSON object per line (`time`, `level`, `msg`, then fields). Lines written
 * in the same event-loop turn are joined into one write, so logging every admission costs one
 * syscall per turn, not one per request. Callers pass names and codes, never pods, env values or
 * secrets: this module does not try to redact, it is simply never given such values.
 */

export type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** Writes what is buffered now. */
  flush(): void;
}

export interface LoggerOptions {
  level?: Level;
  /** For tests: a fixed clock. */
  now?: () => Date;
}

/** An Error as log fields: its message and, for unexpected errors, its stack. */
export function errorFields(e: unknown, withStack = false): Fields {
  if (!(e instanceof Error)) return { error: String(e) };
  return withStack && e.stack ? { error: e.message, stack: e.stack } : { error: e.message };
}

export function createLogger(stream: NodeJS.WritableStream, opts: LoggerOptions = {}): Logger {
  const min = RANK[opts.level ?? 'info'];
  const now = opts.now ?? (() => new Date());
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    stream.write(text);
  };
  // The line is assembled from pieces (no spread into a new object) and the timestamp text is
  // reused within a millisecond: this runs once per admission.
  let lastMs = -1;
  let lastIso = '';
  const time = () => {
    const d = now();
    const ms = d.getTime();
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = d.toISOString();
    }
    return lastIso;
  };
  const log = (level: Level, msg: string, fields?: Fields) => {
    if (RANK[level] < min) return;
    const head = `{"time":"${time()}","level":"${level}","msg":${JSON.stringify(msg)}`;
    let rest = '}';
    if (fields) {
      try {
        const f = JSON.stringify(fields);
        if (f.length > 2) rest = `,${f.slice(1)}`;
      } catch {
        rest = ',"note":"fields could not be serialised"}';
      }
    }
    pending.push(`${head}${rest}\n`);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    flush,
  };
}
