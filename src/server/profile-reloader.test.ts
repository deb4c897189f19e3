/**
 * The profile reloader against real files written the ways they get written: in place and
 * non-atomically, truncated, deleted, renamed, and through a ConfigMap volume's `..data` swap.
 * The clock is the test's, so "quiet for the settle time" is exact: each burst of writes moves it
 * by less than the settle time per state, and nothing may load; once the files are left alone for
 * the settle time, what is served must be what a fresh load of the directory gives.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LogSink, tempDir } from '../../test/support/webhook.ts';
import type { ProfileSet } from '../engine/index.ts';
import { loadProfiles } from '../profiles/load.ts';
import { createLogger } from './log.ts';
import { createWebhookMetrics } from './metrics.ts';
import { loadInitialProfiles, profilesFingerprint, profilesInSync, startProfileReloader } from './profile-reloader.ts';

const SETTLE = 1000;

/** A profile in block YAML, one container a line, so that most truncations still parse; its version carries a checksum of its containers. */
function profileText(name: string, gen: number, containers = 12): string {
  const lines = Array.from({ length: containers }, (_, i) => `    - {name: c${i}, image: "example.com/${name}:${gen}"}`);
  const sum = createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 12);
  return `apiVersion: outrigger.dev/v1alpha1\nkind: SidecarProfile\nmetadata:\n  name: ${name}\nspec:\n  version: "${gen}-${sum}"\n  sidecarMode: classic\n  containers:\n${lines.join('\n')}\n`;
}

/** Seeded PRNG (mulberry32): a failing seed replays. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The kubelet's AtomicWriter: a new timestamped directory, then `..data` renamed over. */
function swapVolume(dir: string, version: string, files: Record<string, string>): void {
  mkdirSync(join(dir, `..${version}`));
  for (const [n, t] of Object.entries(files)) writeFileSync(join(dir, `..${version}`, n), t);
  const old = existsSync(join(dir, '..data')) ? readlinkSync(join(dir, '..data')) : undefined;
  symlinkSync(`..${version}`, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const n of Object.keys(files)) if (!existsSync(join(dir, n))) symlinkSync(join('..data', n), join(dir, n));
  if (old) rmSync(join(dir, old), { recursive: true, force: true });
}

class Clock {
  t = Date.parse('2026-01-01T00:00:00Z');
  now = () => new Date(this.t);
}

async function harness(dir: string, sink: Writable = new PassThrough()) {
  const clock = new Clock();
  const metrics = createWebhookMetrics();
  const log = createLogger(sink, { level: 'debug' });
  const state = await loadInitialProfiles([dir], clock.now);
  const loads: ProfileSet[] = [];
  const r = startProfileReloader({ paths: [dir], state, log, metrics, pollMs: 60_000, settleMs: SETTLE, now: clock.now, onLoad: (s) => loads.push(s) });
  const stop = () => {
    r.stop();
    metrics.stop();
  };
  return { clock, metrics, state, loads, reloader: r, stop };
}

describe('profile reloader', () => {
  const cleanups: (() => void)[] = [];
  after(() => {
    for (const c of cleanups) c();
  });
  const scratch = (prefix: string) => {
    const t = tempDir(prefix);
    cleanups.push(t.cleanup);
    return t.dir;
  };

  test('a truncated file that still parses is not loaded until it has been quiet for the settle time', async () => {
    const dir = scratch('reloader-trunc-');
    const full = `${profileText('mandatory', 1)}---\n${profileText('extra', 1)}`;
    writeFileSync(join(dir, 'p.yaml'), full);
    const h = await harness(dir);
    try {
      assert.deepEqual(
        h.state.set.profiles.map((p) => p.name),
        ['extra', 'mandatory'],
      );
      // The first half of a non-atomic rewrite: valid YAML, one profile short.
      writeFileSync(join(dir, 'p.yaml'), full.slice(0, full.indexOf('---')));
      await h.reloader.check();
      assert.equal(h.loads.length, 0, 'a change seen once is not loaded');
      assert.equal(profilesInSync(h.state), false, 'and the state says the files hold something else');
      assert.equal(h.metrics.profilesInSync.get(), 0);
      h.clock.t += SETTLE - 1;
      writeFileSync(join(dir, 'p.yaml'), full); // the writer finishes
      await h.reloader.check();
      h.clock.t += SETTLE - 1;
      await h.reloader.check();
      assert.equal(h.loads.length, 0, 'the same bytes as served: nothing to load');
      assert.equal(profilesInSync(h.state), true);
      assert.equal(h.metrics.profilesInSync.get(), 1);
      assert.deepEqual(
        h.state.set.profiles.map((p) => p.name),
        ['extra', 'mandatory'],
      );

      // A change left alone loads after the settle time.
      writeFileSync(join(dir, 'p.yaml'), profileText('mandatory', 2));
      await h.reloader.check();
      h.clock.t += SETTLE;
      await h.reloader.check();
      assert.equal(h.loads.length, 1);
      assert.deepEqual(
        h.state.set.profiles.map((p) => `${p.name}@${p.version}`.split('-')[0]),
        ['mandatory@2'],
      );
      assert.equal(h.state.fingerprint, await profilesFingerprint([dir]));
    } finally {
      h.stop();
    }
  });

  test('files that never stay quiet are not loaded, and that is logged once', async () => {
    const dir = scratch('reloader-churn-');
    writeFileSync(join(dir, 'p.yaml'), profileText('a', 1));
    const sink = new LogSink();
    const h = await harness(dir, sink);
    try {
      for (let gen = 2; gen < 60; gen++) {
        writeFileSync(join(dir, 'p.yaml'), profileText('a', gen));
        await h.reloader.check();
        h.clock.t += SETTLE / 3;
      }
      assert.equal(h.loads.length, 0);
      assert.equal(h.metrics.profilesInSync.get(), 0);
      const warned = sink.find('profile files keep changing; still serving the previous profiles until they are quiet');
      assert.equal(warned.length, 1);
      assert.equal(warned[0]?.differsSince, h.state.disk?.differsSince);
      await h.reloader.check();
      h.clock.t += SETTLE;
      await h.reloader.check();
      assert.equal(h.loads.length, 1, 'loaded once quiet');
      assert.equal(h.metrics.profilesInSync.get(), 1);
    } finally {
      h.stop();
    }
  });

  for (const seed of [1, 2, 3, 4, 5, 6]) {
    test(`random write sequences (seed ${seed}): nothing loads while the files keep changing; once quiet, served = a fresh load`, async () => {
      const rand = rng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
      const dir = scratch(`reloader-prop-${seed}-`);
      let gen = 1;
      let vol = 1;
      writeFileSync(join(dir, 'a.yaml'), profileText('a', gen));
      swapVolume(dir, `v${vol}`, { 'b.yaml': profileText('b', gen) });
      const h = await harness(dir);
      let pendingRest: string | undefined; // the rest of a half-written a.yaml
      const a = join(dir, 'a.yaml');
      const ops: Record<string, () => boolean> = {
        rewrite: () => {
          writeFileSync(a, profileText('a', ++gen));
          return true;
        },
        partial: () => {
          const t = profileText('a', ++gen);
          const cut = Math.floor(rand() * t.length);
          writeFileSync(a, t.slice(0, cut));
          pendingRest = t.slice(cut);
          return true;
        },
        finish: () => {
          if (pendingRest === undefined || !existsSync(a)) return false;
          writeFileSync(a, pendingRest, { flag: 'a' });
          return true;
        },
        truncate: () => {
          if (!existsSync(a)) return false;
          truncateSync(a, 0);
          return true;
        },
        delete: () => {
          if (!existsSync(a)) return false;
          rmSync(a);
          return true;
        },
        rename: () => {
          const [from, to] = existsSync(a) ? ['a.yaml', 'c.yaml'] : ['c.yaml', 'a.yaml'];
          if (!existsSync(join(dir, from)) || existsSync(join(dir, to))) return false;
          renameSync(join(dir, from), join(dir, to));
          return true;
        },
        swap: () => {
          swapVolume(dir, `v${++vol}`, { 'b.yaml': profileText('b', ++gen) });
          return true;
        },
      };
      try {
        for (let round = 0; round < 8; round++) {
          const loadsBefore = h.loads.length;
          const steps = 1 + Math.floor(rand() * 12);
          for (let i = 0; i < steps; i++) {
            // Some writes land while a check is reading the files.
            const inflight = rand() < 0.4 ? h.reloader.check() : undefined;
            for (let k = inflight ? Math.floor(rand() * 6) : 0; k > 0; k--) await new Promise(setImmediate);
            let op = pick(Object.keys(ops));
            while (!(ops[op] as () => boolean)()) op = pick(Object.keys(ops));
            if (op !== 'partial') pendingRest = undefined;
            await inflight;
            // Each state is on disk for less than a third of the settle time (the test's clock).
            h.clock.t += Math.floor(rand() * (SETTLE / 3));
            if (rand() < 0.6) await h.reloader.check();
            if (rand() < 0.3) await sleep(5); // lets the directory watch wake the reloader too
          }
          assert.equal(h.loads.length, loadsBefore, `round ${round}: nothing may load while the files keep changing`);
          // Left alone for the settle time, then the change loads while a.yaml is rewritten in
          // place with the same bytes (truncate, half, rest): what loads is what was read.
          await h.reloader.check();
          h.clock.t += SETTLE;
          const loading = h.reloader.check();
          const same = existsSync(a) ? readFileSync(a) : undefined;
          if (same) {
            const cut = Math.floor(rand() * same.length);
            for (let k = Math.floor(rand() * 80); k > 0; k--) await new Promise(setImmediate);
            writeFileSync(a, same.subarray(0, cut));
            for (let k = Math.floor(rand() * 80); k > 0; k--) await new Promise(setImmediate);
            appendFileSync(a, same.subarray(cut));
          }
          await loading;
          // Then, within one more settle time, served = what a fresh load gives.
          await h.reloader.check();
          h.clock.t += SETTLE;
          await h.reloader.check();
          const disk = await profilesFingerprint([dir]);
          const fresh = await loadProfiles([dir]).catch((e: Error) => e);
          if (fresh instanceof Error) {
            assert.notEqual(h.state.fingerprint, disk, 'a failing set is not served');
            assert.equal(profilesInSync(h.state), false, 'and in-sync says so');
            assert.equal(h.metrics.profilesInSync.get(), 0);
            assert.ok(h.state.lastError, 'the failure is reported');
          } else {
            assert.equal(h.state.fingerprint, disk, `round ${round}: served = disk`);
            assert.deepEqual(
              h.state.set.profiles.map((p) => `${p.name}@${p.version}`),
              fresh.profiles.map((p) => `${p.name}@${p.version}`),
            );
            assert.deepEqual(h.state.set.profiles, fresh.profiles);
            assert.equal(profilesInSync(h.state), true);
            assert.equal(h.metrics.profilesInSync.get(), 1);
          }
          assert.ok(h.loads.length <= loadsBefore + 1, 'one load per quiet period');
        }
      } finally {
        h.stop();
      }
    });
  }
});
