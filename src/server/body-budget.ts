/**
 * The bytes of request bodies held in memory at once, over all connections. Large bodies share
 * only part of the budget: the rest is kept for the bodies of everyday reviews (a pod is a few
 * KiB), so clients that send large bodies and stall cannot take every review's room. Stalled
 * bodies are cut separately by the minimum data rate (see read-body.ts).
 */

export interface BodyBudgetLimits {
  /** Bytes of all bodies held at once. */
  maxBufferedBytes: number;
  /** A body is large once it passes this many bytes. */
  largeBodyBytes: number;
  /** Bytes of large bodies held at once: less than maxBufferedBytes, the rest is for small ones. */
  maxLargeBufferedBytes: number;
}

/** One body's share: what it holds, and whether it counts as large. */
export interface BodyShare {
  size: number;
  large: boolean;
}

export interface BodyBudget {
  /** Takes `n` more bytes for `share`; false (nothing taken) when they do not fit. */
  take(share: BodyShare, n: number): boolean;
  /** Gives back everything `share` holds. */
  release(share: BodyShare): void;
  /** Bytes held now (all bodies, large bodies). */
  held(): { all: number; large: number };
}

export function createBodyBudget(l: BodyBudgetLimits): BodyBudget {
  let all = 0;
  let large = 0;
  return {
    take(share, n) {
      if (all + n > l.maxBufferedBytes) return false;
      const becomesLarge = !share.large && share.size + n > l.largeBodyBytes;
      const largeAfter = share.large ? large + n : becomesLarge ? large + share.size + n : large;
      if (largeAfter > l.maxLargeBufferedBytes) return false;
      all += n;
      large = largeAfter;
      share.size += n;
      share.large ||= becomesLarge;
      return true;
    },
    release(share) {
      all -= share.size;
      if (share.large) large -= share.size;
      share.size = 0;
      share.large = false;
    },
    held: () => ({ all, large }),
  };
}
