/**
 * Profiles from files, reloaded on change (files or ConfigMap volumes, see watch.ts). Loading is
 * all or nothing (profiles/load.ts): a bad edit keeps the last good set, which stays visible in the
 * logs, the metrics and `/readyz?verbose`; the webhook stays ready as long as a good set is loaded.
 * Each check reads the files once and hashes and parses those same bytes. A change is only loaded
 * once the files have stayed exactly as they are for `settleMs` (settle.ts): a truncated or
 * half-written file that happens to parse is never served. Until what is served is what is on
 * disk, every poll tries again, and `inSync` (metric and `/readyz?verbose`) says so.
 */
import { createHash } from 'node:crypto';
import type { ProfileSet } from '../engine/index.ts';
import { compileProfileSources, ProfileLoadError, type ProfileSources, readProfileSources } from '../profiles/load.ts';
import { errorFields, type Logger } from './log.ts';
import type { WebhookMetrics } from './metrics.ts';
import { changeSettler } from './settle.ts';
import { watchPaths } from './watch.ts';

export interface ProfileState {
  set: ProfileSet;
  /** sha256 over the file list and contents of the set being served. */
  fingerprint: string;
  loadedAt: string;
  lastError?: { time: string; errors: readonly string[] };
  /** The fingerprint of the files at the last check, and since when it differs from what is served. */
  disk?: { fingerprint: string; differsSince?: string };
}

/** `content`: what the files hold (what "changed" means). `stamp`: content plus file times (what "quiet" means). */
export function sourcesFingerprint(sources: ProfileSources): { content: string; stamp: string } {
  const content = createHash('sha256');
  const stamp = createHash('sha256');
  for (const e of sources.errors) content.update(`error:${e.path}:${e.error}\n`);
  for (const f of sources.files) {
    content.update(`file:${f.file}\n`);
    if (f.bytes) content.update(`${f.bytes.length}:`).update(f.bytes);
    else content.update(`error:${f.error}\n`);
    stamp.update(`${f.file}:${f.stamp ?? ''}\n`);
  }
  const c = content.digest('hex');
  return { content: c, stamp: stamp.update(c).digest('hex') };
}

/** The fingerprint of what the paths hold now (one read). */
export async function profilesFingerprint(paths: readonly string[]): Promise<string> {
  return sourcesFingerprint(await readProfileSources(paths)).content;
}

export function profileSummary(set: ProfileSet): string[] {
  return set.profiles.map((p) => `${p.name}@${p.version}`);
}

/** First load: one read, and the fingerprint is of the bytes that were parsed. */
export async function loadInitialProfiles(paths: readonly string[], now: () => Date = () => new Date()): Promise<ProfileState> {
  const sources = await readProfileSources(paths);
  const set = compileProfileSources(sources);
  const fingerprint = sourcesFingerprint(sources).content;
  return { set, fingerprint, loadedAt: now().toISOString(), disk: { fingerprint } };
}

export function profilesInSync(state: ProfileState): boolean {
  return state.disk === undefined || state.disk.fingerprint === state.fingerprint;
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
  const settleMs = opts.settleMs ?? 1000;
  const settle = changeSettler(
    settleMs,
    () => void w.run(),
    () => now().getTime(),
  );

  // Files that never stay quiet are never loaded: said once per episode, after ten quiet periods.
  let churnReported = false;
  const observe = (fingerprint: string) => {
    const differsSince = fingerprint === state.fingerprint ? undefined : (state.disk?.differsSince ?? now().toISOString());
    state.disk = { fingerprint, ...(differsSince ? { differsSince } : {}) };
    opts.metrics.profilesInSync.set(differsSince ? 0 : 1);
    if (!differsSince) churnReported = false;
    else if (!churnReported && !state.lastError && now().getTime() - Date.parse(differsSince) >= 10 * settleMs) {
      churnReported = true;
      opts.log.warn('profile files keep changing; still serving the previous profiles until they are quiet', { differsSince, settleMs });
    }
  };

  const check = async () => {
    const sources = await readProfileSources(opts.paths);
    const { content, stamp } = sourcesFingerprint(sources);
    observe(content);
    if (content === state.fingerprint) {
      if (settle.clear()) {
        state.lastError = undefined;
        opts.metrics.profileReloadOk.set(1);
      }
      return;
    }
    if (!settle.quiet(stamp) || settle.reported(content)) return;
    let set: ProfileSet;
    try {
      set = compileProfileSources(sources);
    } catch (e) {
      if (settle.failed(content)) reportFailure(e);
      return;
    }
    swapIn(set, content);
  };

  const swapIn = (set: ProfileSet, content: string) => {
    const before = profileSummary(state.set);
    state.set = set;
    state.fingerprint = content;
    state.loadedAt = now().toISOString();
    state.lastError = undefined;
    settle.clear();
    observe(content);
    opts.onLoad?.(set);
    opts.metrics.profileReloads.inc(['success']);
    opts.metrics.profileReloadOk.set(1);
    opts.metrics.profileReloadSuccess.set(now().getTime() / 1000);
    opts.metrics.profilesLoaded.set(set.profiles.length);
    opts.log.info('profiles reloaded', { profiles: profileSummary(set), previous: before });
  };

  const reportFailure = (e: unknown) => {
    const errors = e instanceof ProfileLoadError ? e.errors : [(e as Error).message];
    state.lastError = { time: now().toISOString(), errors };
    opts.metrics.profileReloads.inc(['failure']);
    opts.metrics.profileReloadOk.set(0);
    opts.log.error('profile reload failed; still serving the previous profiles', {
      errors,
      serving: profileSummary(state.set),
      ...(e instanceof ProfileLoadError ? {} : errorFields(e, true)),
    });
  };

  const w = watchPaths({ paths: opts.paths, pollMs: opts.pollMs, check });
  return {
    check: () => w.run(),
    stop() {
      w.stop();
      settle.stop();
    },
  };
}
