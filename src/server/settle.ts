/**
 * When a failed reload is reported. Files are often read mid-change (an editor's write, the symlink
 * swap of a Secret volume), so a failure is only reported when the same content fails again after
 * a quiet period, and then once: the profile and certificate reloaders share this rule.
 */
export interface FailureSettler {
  /** This content failed to load: true when the failure is now confirmed and to be reported. */
  failed(key: string): boolean;
  /** Whether this content's failure was already reported (there is no point loading it again). */
  reported(key: string): boolean;
  /** The content loaded, or is back to what is served: forgets; true if a reported failure ends. */
  clear(): boolean;
  stop(): void;
}

/** `recheck` runs once the quiet period after a first failure has passed. */
export function failureSettler(settleMs: number, recheck: () => void): FailureSettler {
  let suspect: string | undefined; // failed once, waiting to be confirmed
  let reported: string | undefined; // failure already reported
  let timer: NodeJS.Timeout | undefined;
  return {
    failed(key) {
      if (key === reported) return false;
      if (key !== suspect) {
        suspect = key;
        if (timer) clearTimeout(timer);
        timer = setTimeout(recheck, settleMs);
        timer.unref();
        return false;
      }
      suspect = undefined;
      reported = key;
      return true;
    },
    reported: (key) => key === reported,
    clear() {
      const ended = reported !== undefined;
      suspect = undefined;
      reported = undefined;
      return ended;
    },
    stop() {
      if (timer) clearTimeout(timer);
    },
  };
}
