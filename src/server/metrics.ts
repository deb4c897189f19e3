/**
 * Prometheus text exposition (format 0.0.4), written by hand: counters, gauges and histograms with
 * labels, and the webhook's own metric set. Label values are escaped per the format (backslash,
 * double quote, newline); label values that come from requests are only ever taken from closed
 * lists or the loaded profile names, so a pod cannot grow the number of series.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ADMISSION_ERRORS, ERROR_REASONS, type HttpErrorCode, REASONS } from '../common/errors.ts';

type Labels = readonly string[];

export function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

function escapeHelp(v: string): string {
  return v.replace(/[\\\n]/g, (c) => (c === '\\' ? '\\\\' : '\\n'));
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

function labelText(names: Labels, values: Labels, extra = ''): string {
  if (names.length === 0 && extra === '') return '';
  const parts = names.map((n, i) => `${n}="${escapeLabelValue(values[i] ?? '')}"`);
  if (extra !== '') parts.push(extra);
  return `{${parts.join(',')}}`;
}

interface Metric {
  render(out: string[]): void;
}

abstract class Base implements Metric {
  readonly name: string;
  readonly help: string;
  readonly labelNames: Labels;
  protected abstract readonly type: string;
  constructor(name: string, help: string, labelNames: Labels) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }
  protected header(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
  }
  abstract render(out: string[]): void;
}

class Series extends Base {
  protected readonly type: string;
  private readonly series = new Map<string, { values: Labels; value: number }>();
  constructor(type: 'counter' | 'gauge', name: string, help: string, labelNames: Labels) {
    super(name, help, labelNames);
    this.type = type;
    if (labelNames.length === 0) this.series.set('', { values: [], value: 0 });
  }
  protected slot(values: Labels) {
    const key = values.length === 1 ? (values[0] as string) : values.join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      s = { values: [...values], value: 0 };
      this.series.set(key, s);
    }
    return s;
  }
  render(out: string[]): void {
    this.header(out);
    for (const s of this.series.values()) out.push(`${this.name}${labelText(this.labelNames, s.values)} ${formatValue(s.value)}`);
  }
  get(...values: string[]): number {
    return this.series.get(values.length === 1 ? (values[0] as string) : values.join('\u0000'))?.value ?? 0;
  }
}

export class Counter extends Series {
  constructor(name: string, help: string, labelNames: Labels = []) {
    super('counter', name, help, labelNames);
  }
  inc(values: Labels = [], by = 1): void {
    this.slot(values).value += by;
  }
  /** Creates the series at 0, so `rate()` and `increase()` see it before the first event. */
  init(values: Labels): void {
    this.slot(values);
  }
}

export class Gauge extends Series {
  constructor(name: string, help: string, labelNames: Labels = []) {
    super('gauge', name, help, labelNames);
  }
  set(value: number, values: Labels = []): void {
    this.slot(values).value = value;
  }
  inc(values: Labels = [], by = 1): void {
    this.slot(values).value += by;
  }
  dec(values: Labels = [], by = 1): void {
    this.slot(values).value -= by;
  }
}

export class Histogram extends Base {
  protected readonly type = 'histogram';
  readonly buckets: readonly number[];
  private readonly series = new Map<string, { values: Labels; counts: Float64Array; sum: number; count: number }>();
  constructor(name: string, help: string, buckets: readonly number[], labelNames: Labels = []) {
    super(name, help, labelNames);
    this.buckets = [...buckets].sort((a, b) => a - b);
  }
  observe(v: number, values: Labels = []): void {
    const key = values.length === 1 ? (values[0] as string) : values.join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      s = { values: [...values], counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    const b = this.buckets;
    // Non-cumulative per bucket; rendering accumulates.
    for (let i = 0; i < b.length; i++) {
      if (v <= (b[i] as number)) {
        (s.counts as Float64Array)[i] = ((s.counts as Float64Array)[i] as number) + 1;
        break;
      }
    }
    s.sum += v;
    s.count++;
  }
  render(out: string[]): void {
    this.header(out);
    for (const s of this.series.values()) {
      let cum = 0;
      this.buckets.forEach((le, i) => {
        cum += s.counts[i] as number;
        out.push(`${this.name}_bucket${labelText(this.labelNames, s.values, `le="${formatValue(le)}"`)} ${cum}`);
      });
      out.push(`${this.name}_bucket${labelText(this.labelNames, s.values, 'le="+Inf"')} ${s.count}`);
      out.push(`${this.name}_sum${labelText(this.labelNames, s.values)} ${formatValue(s.sum)}`);
      out.push(`${this.name}_count${labelText(this.labelNames, s.values)} ${s.count}`);
    }
  }
}

/** A metric whose value is read when scraped (process figures). */
class Collected extends Base {
  protected readonly type: string;
  private readonly read: () => number;
  constructor(type: 'counter' | 'gauge', name: string, help: string, read: () => number) {
    super(name, help, []);
    this.type = type;
    this.read = read;
  }
  render(out: string[]): void {
    this.header(out);
    out.push(`${this.name} ${formatValue(this.read())}`);
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  private readonly names = new Set<string>();
  private add<M extends Metric & { name: string }>(m: M): M {
    if (this.names.has(m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.names.add(m.name);
    this.metrics.push(m);
    return m;
  }
  counter(name: string, help: string, labelNames: Labels = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }
  gauge(name: string, help: string, labelNames: Labels = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }
  histogram(name: string, help: string, buckets: readonly number[], labelNames: Labels = []): Histogram {
    return this.add(new Histogram(name, help, buckets, labelNames));
  }
  collected(type: 'counter' | 'gauge', name: string, help: string, read: () => number): void {
    this.add(new Collected(type, name, help, read));
  }
  render(): string {
    const out: string[] = [];
    for (const m of this.metrics) m.render(out);
    out.push('');
    return out.join('\n');
  }
}

/** Sub-millisecond resolution at the bottom: the injection itself takes well under a millisecond. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type WebhookMetrics = ReturnType<typeof createWebhookMetrics>;

/** Event-loop delay is published per window of this length, whoever scrapes and how often. */
export const EVENT_LOOP_WINDOW_MS = 10_000;

/** The /mutate rejections alerts key on (the rest appear when they first happen). */
const REJECTIONS: readonly HttpErrorCode[] = [
  'body-too-large',
  'body-too-complex',
  'body-too-slow',
  'overloaded',
  'request-timeout',
  'not-ready',
  'internal-error',
];

/** Every (outcome, reason) pair an alert or dashboard can select, at 0 from the start. */
function initAdmissionSeries(requests: Counter): void {
  for (const reason of ['injected', 'updated'] as const) requests.init(['injected', reason]);
  for (const reason of Object.keys(REASONS))
    if (!ERROR_REASONS.has(reason as keyof typeof REASONS) && reason !== 'injected') requests.init(['unchanged', reason]);
  for (const reason of ERROR_REASONS) if (reason !== 'patch-verification-failed') requests.init(['denied', reason]);
  for (const reason of [...Object.keys(ADMISSION_ERRORS), 'patch-verification-failed']) requests.init(['errored', reason]);
  for (const code of REJECTIONS) requests.init(['rejected', code]);
}

export function createWebhookMetrics(opts: { version?: string; commit?: string; eventLoopWindowMs?: number } = {}) {
  const r = new Registry();
  const m = {
    registry: r,
    requests: r.counter(
      'outrigger_admission_requests_total',
      'Admission requests by outcome (injected, unchanged, denied, errored, rejected: HTTP error without a review) and reason code.',
      ['outcome', 'reason'],
    ),
    duration: r.histogram('outrigger_admission_duration_seconds', 'Time from the request headers to the response, for /mutate, by outcome.', LATENCY_BUCKETS, [
      'outcome',
    ]),
    inFlight: r.gauge('outrigger_admission_requests_in_flight', 'Admission requests being read or handled.'),
    injections: r.counter('outrigger_injections_total', 'Per-profile results of pod CREATE requests (profile is "unknown" for names not in the loaded set).', [
      'profile',
      'reason',
    ]),
    ignoredFailures: r.counter(
      'outrigger_ignored_failures_total',
      'Profiles with failurePolicy ignore that could not be injected; the pod was admitted without them.',
      ['profile', 'reason'],
    ),
    http: r.counter('outrigger_http_requests_total', 'HTTP requests by route and status code.', ['route', 'code']),
    profileReloads: r.counter('outrigger_profiles_reloads_total', 'Profile (re)loads by result (success, failure).', ['result']),
    profileReloadSuccess: r.gauge('outrigger_profiles_last_reload_success_timestamp_seconds', 'Unix time of the last successful profile load.'),
    profileReloadOk: r.gauge(
      'outrigger_profiles_last_reload_successful',
      '1 if the last profile load attempt succeeded, 0 if it failed (the previous set is still served).',
    ),
    profilesLoaded: r.gauge('outrigger_profiles_loaded', 'Number of profiles in the set being served.'),
    mandatoryBypassable: r.gauge(
      'outrigger_profiles_mandatory_bypassable',
      'Mandatory profiles loaded while the webhook configuration lets opted-out pods skip Outrigger (see --webhook-opt-out).',
    ),
    profilesInSync: r.gauge(
      'outrigger_profiles_in_sync',
      '1 when the profiles served are what the files hold, 0 while a change waits for its quiet period or fails to load.',
    ),
    tlsReloads: r.counter('outrigger_tls_reloads_total', 'Serving certificate (re)loads by result (success, failure).', ['result']),
    tlsReloadOk: r.gauge(
      'outrigger_tls_last_reload_successful',
      '1 if the last certificate load attempt succeeded, 0 if it failed (the previous pair is still served).',
    ),
    droppedConnections: r.counter(
      'outrigger_connections_dropped_total',
      'New connections refused: --max-connections (or --max-connections-per-peer for that address) open and none of them idle.',
    ),
    handshakeErrors: r.counter(
      'outrigger_tls_handshake_errors_total',
      'TLS handshakes that failed (no or wrong client certificate, protocol too old, scanners).',
    ),
    certExpiry: r.gauge('outrigger_tls_certificate_expiry_timestamp_seconds', 'Unix time at which the serving certificate being served expires (notAfter).'),
    caExpiry: r.gauge(
      'outrigger_tls_ca_expiry_timestamp_seconds',
      'Cert mode self: Unix time at which the longest-lived CA in the trusted bundle expires (0 in other modes). Rotation starts with a third of its life left.',
    ),
    clientAuth: r.gauge(
      'outrigger_client_authentication_enabled',
      '1 when /mutate needs a client certificate signed by --client-ca; 0 when any caller that reaches the port is answered.',
    ),
    clusterProfilesNotInUse: r.gauge(
      'outrigger_cluster_profiles_not_in_use',
      'SidecarProfile objects not in use as written, by reason (Invalid: fails validation, the last valid version is served if any; NameTaken: shadowed).',
      ['reason'],
    ),
    leader: r.gauge(
      'outrigger_leader',
      'Cert mode self (absent otherwise): 1 while this replica holds the Lease and writes certificates, caBundle and profile status.',
      ['lease'],
    ),
    caBundleMismatch: r.gauge(
      'outrigger_webhook_ca_bundle_mismatch',
      "Cert mode self, leader only: 1 when the last check found the webhook configuration's caBundle wrong and could not fix it, none of its webhooks calling our Service, or the configuration unreadable.",
    ),
    ready: r.gauge('outrigger_ready', '1 when the webhook is ready to serve (profiles loaded, TLS listening, not shutting down).'),
    buildInfo: r.gauge('outrigger_build_info', 'Always 1; labels carry the versions.', ['version', 'commit', 'node_version']),
  };
  m.buildInfo.set(1, [opts.version ?? 'dev', opts.commit ?? 'unknown', process.version]);
  initAdmissionSeries(m.requests);
  for (const result of ['success', 'failure']) {
    m.profileReloads.init([result]);
    m.tlsReloads.init([result]);
  }
  for (const reason of ['Invalid', 'NameTaken']) m.clusterProfilesNotInUse.set(0, [reason]);
  const start = Date.now() / 1000 - process.uptime();
  r.collected('gauge', 'process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', () => start);
  r.collected('counter', 'process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  });
  r.collected('gauge', 'process_resident_memory_bytes', 'Resident memory size in bytes.', () => process.memoryUsage.rss());
  r.collected('gauge', 'nodejs_heap_used_bytes', 'V8 heap in use, in bytes.', () => process.memoryUsage().heapUsed);
  // Off-heap memory (TLS, sockets, Buffers) is most of what RSS holds beyond the heap: without these
  // a growing RSS cannot be told apart from a growing heap.
  r.collected('gauge', 'nodejs_heap_total_bytes', 'V8 heap reserved, in bytes.', () => process.memoryUsage().heapTotal);
  r.collected(
    'gauge',
    'nodejs_external_memory_bytes',
    'Memory of C++ objects bound to JavaScript objects (Buffers included), in bytes.',
    () => process.memoryUsage().external,
  );
  r.collected('gauge', 'nodejs_array_buffers_bytes', 'Memory of ArrayBuffers and Buffers, in bytes.', () => process.memoryUsage().arrayBuffers);
  // A scrape only reads: the window turns on its own timer, so two Prometheus servers (or a
  // person with curl) scraping the same replica all see the same figure.
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  let loopP99 = 0;
  const rotateEventLoopWindow = () => {
    loopP99 = loop.count > 0 ? loop.percentile(99) / 1e9 : 0;
    loop.reset();
  };
  const window = setInterval(rotateEventLoopWindow, opts.eventLoopWindowMs ?? EVENT_LOOP_WINDOW_MS);
  window.unref();
  r.collected(
    'gauge',
    'nodejs_eventloop_delay_p99_seconds',
    `p99 event loop delay over the last complete window of ${(opts.eventLoopWindowMs ?? EVENT_LOOP_WINDOW_MS) / 1000} s, in seconds.`,
    () => loopP99,
  );
  return {
    ...m,
    rotateEventLoopWindow,
    stop: () => {
      clearInterval(window);
      loop.disable();
    },
  };
}
