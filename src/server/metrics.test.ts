import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWebhookMetrics, escapeLabelValue, formatValue, Registry } from './metrics.ts';

test('label values are escaped per the exposition format', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const r = new Registry();
  const c = r.counter('x_total', 'Help with \\ and\nnewline.', ['l']);
  c.inc(['we"ird\\\n']);
  c.inc(['plain'], 2);
  assert.equal(
    r.render(),
    ['# HELP x_total Help with \\\\ and\\nnewline.', '# TYPE x_total counter', 'x_total{l="we\\"ird\\\\\\n"} 1', 'x_total{l="plain"} 2', ''].join('\n'),
  );
});

test('histograms are cumulative, with +Inf, _sum and _count', () => {
  const r = new Registry();
  const h = r.histogram('d_seconds', 'Latency.', [0.001, 0.01], ['outcome']);
  h.observe(0.0005, ['a']);
  h.observe(0.005, ['a']);
  h.observe(5, ['a']);
  assert.equal(
    r.render(),
    [
      '# HELP d_seconds Latency.',
      '# TYPE d_seconds histogram',
      'd_seconds_bucket{outcome="a",le="0.001"} 1',
      'd_seconds_bucket{outcome="a",le="0.01"} 2',
      'd_seconds_bucket{outcome="a",le="+Inf"} 3',
      'd_seconds_sum{outcome="a"} 5.0055',
      'd_seconds_count{outcome="a"} 3',
      '',
    ].join('\n'),
  );
});

test('gauges without labels, special values', () => {
  const r = new Registry();
  const g = r.gauge('g', 'A gauge.');
  g.set(1.5);
  g.inc();
  assert.ok(r.render().includes('\ng 2.5\n'));
  assert.equal(formatValue(Number.POSITIVE_INFINITY), '+Inf');
  assert.equal(formatValue(Number.NaN), 'NaN');
  assert.throws(() => r.gauge('g', 'again'), /registered twice/);
});

test('the webhook metric set renders every required family once', () => {
  const m = createWebhookMetrics();
  try {
    const text = m.registry.render();
    for (const name of [
      'outrigger_admission_requests_total',
      'outrigger_admission_duration_seconds',
      'outrigger_admission_requests_in_flight',
      'outrigger_injections_total',
      'outrigger_profiles_reloads_total',
      'outrigger_profiles_last_reload_success_timestamp_seconds',
      'outrigger_tls_certificate_expiry_timestamp_seconds',
      'process_cpu_seconds_total',
      'process_start_time_seconds',
    ]) {
      assert.equal(text.split('\n').filter((l) => l === `# TYPE ${name} ${l.split(' ').at(-1)}`).length, 1, name);
    }
  } finally {
    m.stop();
  }
});

test('outrigger_build_info carries the version, the commit and the Node version', () => {
  const m = createWebhookMetrics({ version: '1.2.3', commit: 'a'.repeat(40) });
  assert.ok(m.registry.render().includes(`\noutrigger_build_info{version="1.2.3",commit="${'a'.repeat(40)}",node_version="${process.version}"} 1\n`));
  m.stop();
});

test('the labelled series alerts select exist at 0 before the first event', () => {
  const m = createWebhookMetrics();
  try {
    const lines = new Set(m.registry.render().split('\n'));
    for (const series of [
      'outrigger_admission_requests_total{outcome="denied",reason="name-conflict"} 0',
      'outrigger_admission_requests_total{outcome="denied",reason="template-error"} 0',
      'outrigger_admission_requests_total{outcome="errored",reason="internal-error"} 0',
      'outrigger_admission_requests_total{outcome="injected",reason="injected"} 0',
      'outrigger_admission_requests_total{outcome="unchanged",reason="nothing-requested"} 0',
      'outrigger_admission_requests_total{outcome="rejected",reason="overloaded"} 0',
      'outrigger_profiles_reloads_total{result="failure"} 0',
      'outrigger_profiles_reloads_total{result="success"} 0',
      'outrigger_tls_reloads_total{result="failure"} 0',
      'outrigger_tls_handshake_errors_total 0',
      'outrigger_cluster_profiles_not_in_use{reason="Invalid"} 0',
      'outrigger_webhook_ca_bundle_mismatch 0',
    ])
      assert.ok(lines.has(series), series);
    // Without cert mode self there is no Lease: no series, so an alert on "no leader" stays quiet.
    assert.deepEqual(
      [...lines].filter((l) => l.startsWith('outrigger_leader')),
      [],
    );
  } finally {
    m.stop();
  }
});

test('a scrape does not reset the event-loop delay: two scrapers see the same window', async () => {
  // A window far longer than the test: only the explicit rotation below turns it.
  const m = createWebhookMetrics({ eventLoopWindowMs: 3_600_000 });
  try {
    const p99 = () =>
      m.registry
        .render()
        .split('\n')
        .find((l) => l.startsWith('nodejs_eventloop_delay_p99_seconds '));
    const end = Date.now() + 120;
    while (Date.now() < end) {
      // hold the event loop so the histogram records a delay
    }
    // The delay is recorded by the monitor's timer, once the loop runs again.
    await new Promise((r) => setTimeout(r, 60));
    m.rotateEventLoopWindow();
    const first = p99();
    assert.notEqual(first, 'nodejs_eventloop_delay_p99_seconds 0', 'the blocked loop shows in the window');
    assert.equal(p99(), first, 'a second scrape sees the same figure');
    assert.equal(p99(), first);
  } finally {
    m.stop();
  }
});
