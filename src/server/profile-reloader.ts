/**
 * Profiles from files, reloaded on change (files or ConfigMap volumes, see watch.ts). Loading is
 * all or nothing (profiles/load.ts): a bad edit keeps the last good set, which stays visible in the
 * logs, the metrics and `/readyz?verbose`; the webhook stays ready as long as a good set is loaded.
 * As with certificates, an edit is only judged bad when the same bytes still fail after `settleMs`
 * (editors and `kubectl cp` write files one at a time).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ProfileSet } from '../engine/index.ts';
import { loadProfiles, ProfileLoadError, profileFiles } from '../profiles/load.ts';
import { errorFields, type Logger } from './log.ts';
import type { WebhookMetrics } from './metrics.ts';
import { failureSettler } from './settle.ts';
import { watchPaths } from './watch.ts';

export interface ProfileState {
  set: ProfileSet;
  /** sha256 over the file list and contents of the set being served. */
  fingerprint: string;
  loadedAt: string;
  lastError?: { time: string; errors: readonly string[] };
}

/** The content that `loadProfiles` would read, hashed. Read errors are part of the content (they fail the load). */
export async function profilesFingerprint(paths: readonly string[]): Promise<string> {
  const h = createHash('sha256');
  for (const p of paths) {
    h.update(`path:${p}\n`);
    let files: string[];
    try {
      files = await profileFiles(p);
    } catch (e) {
      h.update(`error:${(e as Error).message}\n`);
      continue;
    }
    for (const f of files) {
      h.update(`file:${f}\n`);
      try {
        const b = await readFile(f);
        h.update(`${b.length}:`).update(b);
      } catch (e) {
        h.update(`error:${(e as Error).message}\n`);
      }
    }
  }
  return h.digest('hex');
}

export function profileSummary(set: ProfileSet): string[] {
  return set.profiles.map((p) => `${p.name}@${p.version}`);
}

/** First load: the fingerprint is taken before reading, so a change during the load is seen by the next check. */
export async function loadInitialProfiles(paths: readonly string[], now: () => Date = () => new Date()): Promise<ProfileState> {
  const fingerprint = await profilesFingerprint(paths);
  const set = await loadProfiles(paths);
  return { set, fingerprint, loadedAt: now().toISOString() };
}

export interface ProfileReloaderOptions {
  paths: readonly string[];
  state: ProfileState;
  log: Logger;
  metrics: WebhookMetrics;
  pollMs: number;
  settleMs?: number;
  now?: () => Date;
  /** Called with each new set (the server swaps it in atomically: one reference). */
  onLoad?: (set: ProfileSet) => void;
}

export function startProfileReloader(opts: ProfileReloaderOptions): { stop(): void; check(): Promise<void> } {
  const now = opts.now ?? (() => new Date());
  const state = opts.state;
  const settle = failureSettler(opts.settleMs ?? 1000, () => w.trigger());

  const check = async () => {
    const fingerprint = await profilesFingerprint(opts.paths);
    if (fingerprint === state.fingerprint) {
      if (settle.clear()) {
        state.lastError = undefined;
        opts.metrics.profileReloadOk.set(1);
      }
      return;
    }
    if (settle.reported(fingerprint)) return;
    let set: ProfileSet;
    try {
      set = await loadProfiles(opts.paths);
    } catch (e) {
      if (!settle.failed(fingerprint)) return;
      const errors = e instanceof ProfileLoadError ? e.errors : [(e as Error).message];
      state.lastError = { time: now().toISOString(), errors };
      opts.metrics.profileReloads.inc(['failure']);
      opts.metrics.profileReloadOk.set(0);
      opts.log.error('profile reload failed; still serving the previous profiles', {
        errors,
        serving: profileSummary(state.set),
        ...(e instanceof ProfileLoadError ? {} : errorFields(e, true)),
      });
      return;
    }
    const before = profileSummary(state.set);
    state.set = set;
    state.fingerprint = fingerprint;
    state.loadedAt = now().toISOString();
    state.lastError = undefined;
    settle.clear();
    opts.onLoad?.(set);
    opts.metrics.profileReloads.inc(['success']);
    opts.metrics.profileReloadOk.set(1);
    opts.metrics.profileReloadSuccess.set(now().getTime() / 1000);
    opts.metrics.profilesLoaded.set(set.profiles.length);
    opts.log.info('profiles reloaded', { profiles: profileSummary(set), previous: before });
  };

  const w = watchPaths({ paths: opts.paths, pollMs: opts.pollMs, check });
  return {
    check,
    stop() {
      w.stop();
      settle.stop();
    },
  };
}
