/**
 * When a change on disk is loaded. Files are often read mid-change (an editor's or `kubectl cp`'s
 * non-atomic write, the cert and the key of a Secret landing one after the other, the symlink swap
 * of a ConfigMap volume), and a truncated file can still parse. So a change is only loaded once
 * the files have stayed exactly as they are (same stamp: bytes and file times) for the quiet
 * period, and a failure is reported once per content. The profile and certificate reloaders share
 * this rule.
 */
export interface ChangeSettler {
  /**
   * The files differ from what is served and were just read with this stamp: true once the same
   * stamp has been seen for the whole quiet period. Until then a recheck is scheduled.
   */
  quiet(stamp: string): boolean;
  /** This content failed to load: true the first time (report it), false once reported. */
  failed(content: string): boolean;
  /** Whether this content's failure was already reported (there is no point loading it again). */
  reported(content: string): boolean;
  /** The files are what is served (back to it, or just loaded): forgets; true if a reported failure ends. */
  clear(): boolean;
  stop(): void;
}

/** `recheck` runs when the quiet period of the pending change has passed; `now` in milliseconds. */
export function changeSettler(settleMs: number, recheck: () => void, now: () => number = Date.now): ChangeSettler {
  let pending: { stamp: string; since: number } | undefined;
  let reported: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const wakeIn = (ms: number) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(recheck, Math.max(0, ms));
    timer.unref();
  };
  return {
    quiet(stamp) {
      const t = now();
      if (pending?.stamp !== stamp) {
        pending = { stamp, since: t };
        wakeIn(settleMs);
        return false;
      }
      const left = pending.since + settleMs - t;
      if (left <= 0) return true;
      wakeIn(left);
      return false;
    },
    failed(content) {
      if (content === reported) return false;
      reported = content;
      return true;
    },
    reported: (content) => content === reported,
    clear() {
      const ended = reported !== undefined;
      pending = undefined;
      reported = undefined;
      if (timer) clearTimeout(timer);
      timer = undefined;
      return ended;
    },
    stop() {
      if (timer) clearTimeout(timer);
    },
  };
}
