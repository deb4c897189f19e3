/**
 * Watches files for changes the way Kubernetes volumes change them. A Secret or ConfigMap volume
 * holds `name -> ..data/name` and `..data -> ..2025_01_01_00_00_00.123`; an update writes a new
 * timestamped directory and renames a new `..data` symlink over the old one. The file's own inode
 * never changes, so a watch on the file sees nothing: we watch the directories that contain the
 * paths (and the directories themselves when they are directories), and also poll as a fallback
 * (network filesystems, watch limits, a directory that is replaced). Callers compare content, so
 * extra wake-ups cost a read and nothing else.
 */
import { type FSWatcher, statSync, watch } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface WatchOptions {
  paths: readonly string[];
  /** Poll interval; every tick calls `check`. */
  pollMs: number;
  /** Quiet time after the last event before `check` runs (an update is several events). */
  debounceMs?: number;
  /** Called serially (never two at once) after events, on every poll and on `run`. */
  check: () => Promise<void>;
}

export interface Watch {
  stop(): void;
  /** Runs a check soon (after the debounce). */
  trigger(): void;
  /** Runs a check now (after the one running, if any); resolves when it is done. */
  run(): Promise<void>;
}

function watchTargets(paths: readonly string[]): string[] {
  const dirs = new Set<string>();
  for (const p of paths) {
    const abs = resolve(p);
    dirs.add(dirname(abs));
    try {
      if (statSync(abs).isDirectory()) dirs.add(abs);
    } catch {
      // Missing now: the parent directory watch (or the poll) sees it appear.
    }
  }
  return [...dirs];
}

export function watchPaths(opts: WatchOptions): Watch {
  const debounceMs = opts.debounceMs ?? 100;
  const watchers = new Map<string, FSWatcher>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // Checks run one after another; a request while one runs queues (at most) one more, which every
  // caller in the meantime shares: a wake-up is never lost and never doubles the work.
  let tail: Promise<void> = Promise.resolve();
  let queued: Promise<void> | undefined;

  const run = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (!queued) {
      const next = tail.then(async () => {
        queued = undefined;
        if (stopped) return;
        try {
          await opts.check();
        } catch {
          // check reports its own failures; a throw must not stop the watch.
        }
      });
      queued = next;
      tail = next;
    }
    return queued;
  };

  const trigger = () => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void run();
    }, debounceMs);
    timer.unref();
  };

  const ensureWatchers = () => {
    for (const dir of watchTargets(opts.paths)) {
      if (watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, trigger);
        w.on('error', () => {
          // The directory went away (or the watch broke): drop it; the poll re-creates it.
          w.close();
          watchers.delete(dir);
          trigger();
        });
        watchers.set(dir, w);
      } catch {
        // Not there yet, or no inotify watches left: the poll covers it.
      }
    }
  };

  ensureWatchers();
  const poll = setInterval(() => {
    ensureWatchers();
    void run();
  }, opts.pollMs);
  poll.unref();

  return {
    trigger,
    run,
    stop() {
      stopped = true;
      clearInterval(poll);
      if (timer) clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
