/**
 * Soak run: one `outrigger serve` process under mixed traffic for a long time, to find what a
 * short test cannot: memory that grows, an event loop that slows down, an error that happens once
 * an hour. Not part of `npm test`.
 *
 *   npm run soak                       # 30 minutes
 *   npm run soak -- --minutes 2        # a quick look
 *   npm run soak -- --traffic churn,certs   # only some of the traffic, to find where growth comes from
 *
 * Traffic, all at once: reviews from a few keep-alive clients (injecting, not requesting, opted out,
 * malformed), /explain and /metrics, client churn (a new connection per request, and connections
 * abandoned halfway through a body), a profile rewritten every 20 s and a new serving certificate
 * every 60 s. It prints a sample every 30 s (RSS, heap used/reserved, external memory, event-loop delay p99,
 * request counts) and a
 * summary, and exits 1 on any unexpected answer, a reload that did not take, or memory growth: the
 * RSS slope over the run after warm-up, by least squares, above --max-slope MiB per hour (runs of
 * 10 minutes or more).
 */
import { renameSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { NODE_MEMORY_FLAGS } from '../../src/deploy/manifests.ts';
import { generateServingCert } from '../../src/tls/certs.ts';
import { rawTls, rssBytes, startTarget } from '../adversarial/support.ts';
import { profileYaml } from '../support/profiles.ts';
import { pod, review, send } from '../support/webhook.ts';

const TRAFFIC = ['reviews', 'churn', 'explain', 'abandon', 'profiles', 'certs'] as const;
const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    'max-slope': { type: 'string', default: '20' },
    clients: { type: 'string', default: '3' },
    // To find which traffic a growth comes from: run with only some of it.
    traffic: { type: 'string', default: TRAFFIC.join(',') },
  },
});
const traffic = new Set(values.traffic.split(',').filter((x) => x !== ''));
for (const x of traffic)
  if (!(TRAFFIC as readonly string[]).includes(x)) throw new Error(`--traffic: ${JSON.stringify(x)} is not one of ${TRAFFIC.join(', ')}`);
const minutes = Number(values.minutes);
const maxSlopeMiBPerHour = Number(values['max-slope']);
const clients = Number(values.clients);
if (!(minutes > 0) || !(maxSlopeMiBPerHour > 0) || !(clients >= 1)) throw new Error('--minutes, --max-slope and --clients must be positive numbers');

const soakProfile = (version: number) =>
  profileYaml('soak', {
    version: `1.0.${version}`,
    containers: [{ name: 'soak-agent', image: `example.com/soak:${version}`, env: [{ name: 'GENERATION', value: String(version) }] }],
    env: [{ name: 'SOAK_GENERATION', value: String(version) }],
  });

// The bundle's heap bound, so the RSS figures are the ones a replica in a cluster would show.
const t = await startTarget({ args: ['--reload-interval', '1s'], profiles: { 'soak.yaml': soakProfile(0) }, nodeArgs: NODE_MEMORY_FLAGS });
const end = Date.now() + minutes * 60_000;
const errors: string[] = [];
const counts = { reviews: 0, churn: 0, abandoned: 0, explain: 0, scrapes: 0, profileReloads: 0, certReloads: 0 };
let generation = 0;
const error = (what: string) => {
  if (errors.length < 50) errors.push(`${new Date().toISOString()} ${what}`);
};

// --- traffic ---------------------------------------------------------------------------------
let uid = 0;
function mixedReview(): { body: string; expect: (r: { allowed?: boolean; patch?: string }) => boolean } {
  const n = uid++ % 4;
  const id = `soak-${uid}`;
  if (n === 0 || n === 1)
    return {
      body: JSON.stringify(review(pod({ 'outrigger.dev/inject': 'soak' }), { uid: id })),
      expect: (r) => r.allowed === true && typeof r.patch === 'string',
    };
  if (n === 2) return { body: JSON.stringify(review(pod(), { uid: id })), expect: (r) => r.allowed === true && r.patch === undefined };
  return { body: JSON.stringify(review(pod({ 'outrigger.dev/inject': 'false' }), { uid: id })), expect: (r) => r.allowed === true && r.patch === undefined };
}

async function keepAliveClient(): Promise<void> {
  const agent = new Agent({ keepAlive: true, ca: t.caPem, maxSockets: 1 });
  while (Date.now() < end) {
    const { body, expect } = mixedReview();
    try {
      const r = await send(t.port, { body, agent });
      const res = (r.status === 200 ? r.json().response : undefined) as { allowed?: boolean; patch?: string } | undefined;
      if (!res || !expect(res)) error(`review answered ${r.status}: ${r.text.slice(0, 200)}`);
      counts.reviews++;
    } catch (e) {
      error(`review failed: ${(e as Error).message}`);
    }
    await sleep(5);
  }
  agent.destroy();
}

async function churn(): Promise<void> {
  while (Date.now() < end) {
    try {
      if (traffic.has('churn')) {
        const r = await send(t.port, { body: mixedReview().body, ca: t.caPem });
        if (r.status !== 200) error(`churn review answered ${r.status}`);
        counts.churn++;
        const bad = await send(t.port, { body: '{"apiVersion":', ca: t.caPem });
        if (bad.status !== 400) error(`a malformed review answered ${bad.status}, not 400`);
      }
      if (traffic.has('explain')) {
        const ex = await send(t.adminPort, { path: '/explain', body: JSON.stringify(pod({ 'outrigger.dev/inject': 'soak' })), ca: t.caPem });
        if (ex.status !== 200) error(`/explain answered ${ex.status}`);
        counts.explain++;
      }
      if (traffic.has('abandon')) {
        // A client that goes away in the middle of its body: its bytes must be released.
        const s = await rawTls(t);
        s.write('POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"apiVersion":"admission.k8s.io/v1",');
        await sleep(20);
        s.destroy();
        counts.abandoned++;
      }
    } catch (e) {
      error(`churn failed: ${(e as Error).message}`);
    }
    await sleep(200);
  }
}

// --- reloads ---------------------------------------------------------------------------------
function atomicWrite(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

async function servedGeneration(): Promise<string | undefined> {
  const r = await send(t.port, { body: JSON.stringify(review(pod({ 'outrigger.dev/inject': 'soak' }), { uid: 'gen' })), ca: t.caPem });
  const patch = (r.json().response as { patch?: string }).patch;
  const m = /SOAK_GENERATION","value":"(\d+)"/.exec(Buffer.from(patch ?? '', 'base64').toString('utf8'));
  return m?.[1];
}

async function reloader(): Promise<void> {
  while (Date.now() < end - 25_000) {
    await sleep(20_000);
    generation++;
    atomicWrite(join(t.profilesDir, 'soak.yaml'), soakProfile(generation));
    const want = String(generation);
    const deadline = Date.now() + 15_000;
    let got: string | undefined;
    for (;;) {
      got = await servedGeneration().catch(() => undefined);
      if (got === want || Date.now() > deadline) break;
      await sleep(250);
    }
    if (got === want) counts.profileReloads++;
    else error(`profile generation ${want} not served within 15 s (serving ${got})`);
  }
}

/** One scrape: the values of the series named (a name, or a name with its labels). */
async function scrape(...names: string[]): Promise<(number | undefined)[]> {
  const r = await send(t.port, { method: 'GET', path: '/metrics', ca: t.caPem });
  counts.scrapes++;
  const lines = r.text.split('\n');
  return names.map((name) => {
    const line = lines.find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
  });
}
const metric = async (name: string) => (await scrape(name))[0];

async function certRenewer(): Promise<void> {
  while (Date.now() < end - 40_000) {
    await sleep(60_000);
    const before = (await metric('outrigger_tls_reloads_total{result="success"}')) ?? 0;
    // Same CA as the one the clients trust: a renewal, as cert-manager or the self mode does it.
    const leaf = generateServingCert({ ca: t.ca, commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    atomicWrite(join(t.certDir, 'tls.key'), leaf.keyPem);
    atomicWrite(join(t.certDir, 'tls.crt'), leaf.certPem);
    const deadline = Date.now() + 20_000;
    let after = before;
    while (Date.now() < deadline && after <= before) {
      await sleep(500);
      after = (await metric('outrigger_tls_reloads_total{result="success"}')) ?? before;
    }
    if (after > before) counts.certReloads++;
    else error('a renewed serving certificate was not loaded within 20 s');
  }
}

// --- sampling --------------------------------------------------------------------------------
interface Sample {
  s: number;
  rss: number;
  heap: number;
  heapTotal: number;
  external: number;
  loopP99: number;
}
const samples: Sample[] = [];
const started = Date.now();
async function sampler(): Promise<void> {
  while (Date.now() < end) {
    await sleep(Math.min(30_000, Math.max(1_000, end - Date.now())));
    try {
      // One scrape for both: the event-loop p99 covers the time since the previous scrape.
      const [heap, heapTotal, external, loopP99] = await scrape(
        'nodejs_heap_used_bytes',
        'nodejs_heap_total_bytes',
        'nodejs_external_memory_bytes',
        'nodejs_eventloop_delay_p99_seconds',
      );
      const sample = {
        s: (Date.now() - started) / 1000,
        rss: rssBytes(t.pid, 'VmRSS'),
        heap: heap ?? 0,
        heapTotal: heapTotal ?? 0,
        external: external ?? 0,
        loopP99: loopP99 ?? 0,
      };
      samples.push(sample);
      console.log(
        `${sample.s.toFixed(0).padStart(5)} s  rss ${mib(sample.rss)} MiB  heap ${mib(sample.heap)}/${mib(sample.heapTotal)} MiB  external ${mib(sample.external)} MiB  ` +
          `loop p99 ${(sample.loopP99 * 1000).toFixed(1)} ms  ` +
          `reviews ${counts.reviews}  churn ${counts.churn}  reloads ${counts.profileReloads}/${counts.certReloads}  errors ${errors.length}`,
      );
    } catch (e) {
      error(`sampling failed: ${(e as Error).message}`);
    }
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const mib = (b: number) => (b / 2 ** 20).toFixed(1);

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const num = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

console.log(`soak: ${minutes} min against pid ${t.pid} on port ${t.port}, ${clients} keep-alive clients`);
try {
  await Promise.all([
    ...(traffic.has('reviews') ? Array.from({ length: clients }, keepAliveClient) : []),
    ...(['churn', 'explain', 'abandon'].some((x) => traffic.has(x)) ? [churn()] : []),
    ...(traffic.has('profiles') ? [reloader()] : []),
    ...(traffic.has('certs') ? [certRenewer()] : []),
    sampler(),
  ]);
} finally {
  await t.stop();
}

// Warm-up: the first fifth of the run (JIT, pools, the first GCs) is not growth.
const steady = samples.filter((s) => s.s >= (minutes * 60) / 5);
const rssSlope = steady.length >= 3 ? slope(steady.map((s) => ({ x: s.s / 3600, y: s.rss / 2 ** 20 }))) : 0;
const loops = samples.map((s) => s.loopP99 * 1000);
console.log('\nsummary');
console.log(
  `  requests: ${counts.reviews} reviews, ${counts.churn} churn rounds, ${counts.explain} explains, ${counts.abandoned} abandoned bodies, ${counts.scrapes} scrapes`,
);
console.log(`  reloads:  ${counts.profileReloads} profile, ${counts.certReloads} certificate`);
console.log(
  `  rss:      first ${mib(samples[0]?.rss ?? 0)} MiB, last ${mib(samples.at(-1)?.rss ?? 0)} MiB, max ${mib(Math.max(0, ...samples.map((s) => s.rss)))} MiB, slope after warm-up ${rssSlope.toFixed(1)} MiB/h (limit ${maxSlopeMiBPerHour})`,
);
console.log(`  event-loop delay p99 per 30 s window: median ${percentile(loops, 50).toFixed(1)} ms, worst ${Math.max(0, ...loops).toFixed(1)} ms`);
console.log(`  errors:   ${errors.length}`);
for (const e of errors) console.log(`    ${e}`);
// A slope over a few minutes is GC noise, not growth: judged from 10 minutes on.
const failed =
  errors.length > 0 ||
  (minutes >= 10 && rssSlope > maxSlopeMiBPerHour) ||
  (minutes >= 5 && ((traffic.has('profiles') && counts.profileReloads === 0) || (traffic.has('certs') && counts.certReloads === 0)));
console.log(failed ? 'soak: FAILED' : 'soak: passed');
process.exitCode = failed ? 1 : 0;
