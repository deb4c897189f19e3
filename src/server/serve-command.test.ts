import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LogSink, makeCerts, TEST_PROFILES, tempDir } from '../../test/support/webhook.ts';
import { UsageError } from '../cli/options.ts';
import { parseDuration, parseServeArgs } from '../cli/serve-flags.ts';
import { createLogger } from './log.ts';
import { StartError, startServe, UNAUTHENTICATED_WARNING } from './serve-command.ts';
import { watchPaths } from './watch.ts';

test('flags: defaults and every option', () => {
  assert.deepEqual(parseServeArgs(['--profiles', 'p', '--tls-cert', 'c', '--tls-key', 'k']), {
    profiles: ['p'],
    tls: { certFile: 'c', keyFile: 'k' },
    port: 8443,
    host: '0.0.0.0',
    admin: { host: '127.0.0.1', port: 9443 },
    kubeVersion: { major: 1, minor: 33 },
    drainTimeoutMs: 25_000,
    shutdownDelayMs: 0,
    pollMs: 10_000,
    logLevel: 'info',
    limits: {
      maxBodyBytes: 7 * 1024 * 1024,
      json: { maxContainers: 131_072, maxTokens: 524_288, maxDistinctKeys: 8192 },
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 120_000,
      maxConnections: 2048,
      maxConnectionsPerPeer: 512,
      maxBufferedBytes: 28 * 1024 * 1024,
      largeBodyBytes: 1024 * 1024,
      maxLargeBufferedBytes: 14 * 1024 * 1024,
      minBodyBytesPerSecond: 128 * 1024,
      bodyRateWindowMs: 1000,
      handshakeTimeoutMs: 10_000,
      connectionsCheckingIntervalMs: 1000,
    },
  });
  const o = parseServeArgs([
    '-p',
    'a',
    '--profiles=b',
    '--tls-cert=c',
    '--tls-key=k',
    '--client-ca=ca',
    '--port=0',
    '--host=::',
    '--kube-version=v1.28.3',
    '--drain-timeout=500ms',
    '--shutdown-delay=5s',
    '--reload-interval=2m',
    '--max-connections=10',
    '--max-connections-per-peer=4',
    '--log-level=debug',
    '--unknown-profiles=deny',
  ]);
  assert.ok(o !== 'help');
  assert.equal(o.unknownProfiles, 'deny');
  assert.deepEqual(o.profiles, ['a', 'b']);
  assert.deepEqual(o.tls, { certFile: 'c', keyFile: 'k', clientCaFile: 'ca' });
  assert.equal(o.port, 0);
  assert.equal(o.host, '::');
  assert.deepEqual(o.admin, { host: '127.0.0.1', port: 0 }, 'with --port 0 the admin port is free-picked too');
  assert.deepEqual(o.kubeVersion, { major: 1, minor: 28 });
  assert.equal(o.drainTimeoutMs, 500);
  assert.equal(o.shutdownDelayMs, 5000);
  assert.equal(o.pollMs, 120_000);
  assert.equal(o.limits.maxConnections, 10);
  assert.equal(o.limits.maxConnectionsPerPeer, 4);
  assert.equal(o.logLevel, 'debug');
  assert.equal(parseServeArgs(['-h']), 'help');
});

test('flags: usage errors name the flag', () => {
  const base = ['--profiles', 'p', '--tls-cert', 'c', '--tls-key', 'k'];
  const bad: [string[], RegExp][] = [
    [[], /missing --profiles, --tls-cert, --tls-key/],
    [[...base, '--port', '70000'], /--port: "70000" must be a whole number from 0 to 65535/],
    [[...base, '--port', 'x'], /--port/],
    [[...base, '--drain-timeout', '5d'], /--drain-timeout: "5d" is not a duration/],
    [[...base, '--cert-mode', 'magic'], /--cert-mode: "magic" must be files or self/],
    [[...base, '--cert-mode', 'self'], /--cert-mode self makes its own certificate: drop --tls-cert and --tls-key/],
    [[...base, '--tls-secret', 's'], /--tls-secret only apply to --cert-mode self/],
    [[...base, '--ca-secret', 's'], /--ca-secret only apply to --cert-mode self/],
    [[...base, '--validating-webhook-config', 'v'], /--validating-webhook-config only apply to --cert-mode self/],
    [['--profiles-from-cluster', '--cert-mode', 'self', '--cert-check-interval', '0'], /--cert-check-interval: must be at least 100ms/],
    [['--profiles-from-cluster'], /missing --tls-cert, --tls-key/],
    [[...base, '--kube-version', 'latest'], /--kube-version/],
    [[...base, '--log-level', 'loud'], /--log-level/],
    [[...base, '--unknown-profiles', 'reject'], /^--unknown-profiles: "reject" must be admit or deny$/],
    [[...base, '--reload-interval', '10ms'], /at least 100ms/],
    [[...base, '--nope'], /nope/],
    [[...base, '--admin-address', '9443'], /--admin-address: "9443" must be HOST:PORT, \[IPv6\]:PORT or none/],
    [[...base, '--admin-address', '::1:9443'], /--admin-address: "::1:9443" must be HOST:PORT/],
    [[...base, '--admin-address', 'localhost:99999'], /--admin-address port: "99999" must be a whole number from 0 to 65535/],
    [['--profiles-from-cluster', '--cert-mode', 'self', '--webhook-config', 'none'], /^--webhook-config none: only with --admission policy/],
    [
      ['--profiles-from-cluster', '--admission', 'policy', '--cert-mode', 'self', '--webhook-config', 'none'],
      /^--webhook-config none: cert mode self needs a webhook configuration .*--validating-webhook-config$/,
    ],
    [[...base, '--leader-lease', 'l'], /--leader-lease only apply to --cert-mode self/],
    [[...base, '--admission', 'both'], /^--admission: "both" must be webhook or policy$/],
    [[...base, '--admission', 'policy'], /^--admission policy compiles the profiles it watches: add --profiles-from-cluster$/],
  ];
  for (const [argv, message] of bad)
    assert.throws(
      () => parseServeArgs(argv),
      (e: Error) => e instanceof UsageError && message.test(e.message),
      argv.join(' '),
    );
  assert.equal(parseDuration('25', 'x'), 25_000);
  assert.equal(parseDuration('1.5s', 'x'), 1500);
});

test('flags: --admission policy reaches the cluster options; webhook is the default and adds nothing', () => {
  const cluster = ['--profiles-from-cluster', '--tls-cert', 'c', '--tls-key', 'k'];
  const policy = parseServeArgs([...cluster, '--admission', 'policy']);
  assert.ok(policy !== 'help');
  assert.equal(policy.cluster?.admission, 'policy');
  for (const argv of [cluster, [...cluster, '--admission', 'webhook']]) {
    const o = parseServeArgs(argv);
    assert.ok(o !== 'help');
    assert.equal(o.cluster?.admission, undefined);
  }
});

test('flags: --webhook-config none leaves the validating configuration as the one kept (policy mode)', () => {
  const o = parseServeArgs([
    '--profiles-from-cluster',
    '--admission',
    'policy',
    '--cert-mode',
    'self',
    '--webhook-config',
    'none',
    '--validating-webhook-config',
    'outrigger',
  ]);
  assert.ok(o !== 'help');
  assert.equal(o.cluster?.self?.webhookConfig, undefined);
  assert.equal(o.cluster?.self?.validatingWebhookConfig, 'outrigger');
  // Policy mode elects a writer in every cert mode: cert mode self's Lease, or its own.
  const files = parseServeArgs(['--profiles-from-cluster', '--admission', 'policy', '--tls-cert', 'c', '--tls-key', 'k', '--leader-lease', 'mine']);
  assert.ok(files !== 'help');
  assert.equal(files.cluster?.leaderLease, 'mine');
  assert.equal(o.cluster?.leaderLease, undefined);
  assert.equal(o.cluster?.self?.leaderLease, 'outrigger-certificates');
});

test('flags: --admin-address', () => {
  const base = ['--profiles', 'p', '--tls-cert', 'c', '--tls-key', 'k'];
  const admin = (v: string) => {
    const o = parseServeArgs([...base, '--admin-address', v]);
    assert.ok(o !== 'help');
    return o.admin;
  };
  assert.deepEqual(admin('0.0.0.0:9000'), { host: '0.0.0.0', port: 9000 });
  assert.deepEqual(admin('[::1]:9443'), { host: '::1', port: 9443 });
  assert.deepEqual(admin('localhost:0'), { host: 'localhost', port: 0 });
  assert.equal(admin('none'), undefined);
});

test('watch: a change in a watched directory triggers a check; the poll runs without any event', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const sub = join(dir, 'certs');
    mkdirSync(sub);
    writeFileSync(join(sub, 'a'), '1');
    let checks = 0;
    const w = watchPaths({ paths: [join(sub, 'a')], pollMs: 60_000, debounceMs: 20, check: async () => void checks++ });
    writeFileSync(join(sub, 'a'), '2');
    await sleep(200);
    assert.ok(checks >= 1, 'watch event');
    w.stop();

    let polled = 0;
    const missing = join(dir, 'not-yet', 'x');
    const p = watchPaths({ paths: [missing], pollMs: 30, check: async () => void polled++ });
    await sleep(200);
    p.stop();
    assert.ok(polled >= 3, `${polled} polls`);
    const after = polled;
    await sleep(100);
    assert.equal(polled, after, 'stopped');

    // A check that throws does not stop the watch.
    let calls = 0;
    const t = watchPaths({
      paths: [missing],
      pollMs: 30,
      check: async () => {
        calls++;
        throw new Error('boom');
      },
    });
    await sleep(150);
    t.stop();
    assert.ok(calls >= 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    cleanup();
  }
});

test('flags: cluster mode needs neither files nor certificates', () => {
  const o = parseServeArgs([
    '--profiles-from-cluster',
    '--cert-mode',
    'self',
    '--controller-namespace',
    'ops',
    '--cert-validity',
    '90s',
    '--cert-check-interval',
    '2s',
    '--ca-secret',
    'ops-ca',
    '--kubeconfig',
    'k',
  ]);
  assert.ok(o !== 'help');
  assert.equal(o.tls, undefined);
  assert.deepEqual(o.profiles, []);
  assert.deepEqual(o.cluster, {
    kubeconfig: 'k',
    profilesFromCluster: true,
    controllerNamespace: 'ops',
    events: true,
    self: {
      secretName: 'outrigger-tls',
      caSecretName: 'ops-ca',
      service: 'outrigger',
      webhookConfig: 'outrigger',
      leaderLease: 'outrigger-certificates',
      checkIntervalMs: 2000,
      leafValiditySeconds: 90,
    },
  });
  const withCa = parseServeArgs(['--profiles-from-cluster', '--cert-mode', 'self', '--client-ca', '/etc/outrigger/client-ca/ca.crt']);
  assert.ok(withCa !== 'help');
  assert.equal(withCa.clientCaFile, '/etc/outrigger/client-ca/ca.crt', '--client-ca works with --cert-mode self');
  assert.equal(withCa.tls, undefined);
  const files = parseServeArgs(['--profiles', 'p', '--tls-cert', 'c', '--tls-key', 'k']);
  assert.ok(files !== 'help' && files.cluster === undefined, 'no cluster connection unless asked for');
});

test('a busy admin address is a start error that names --admin-address', async () => {
  const blocker = createNetServer().listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  const busy = (blocker.address() as AddressInfo).port;
  const { dir, cleanup } = tempDir();
  try {
    const certs = makeCerts();
    writeFileSync(join(dir, 'tls.crt'), certs.certPem);
    writeFileSync(join(dir, 'tls.key'), certs.keyPem);
    writeFileSync(join(dir, 'probe.yaml'), TEST_PROFILES['probe.yaml']);
    const opts = parseServeArgs(['-p', dir, '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--host', '127.0.0.1', '--port', '0']);
    assert.ok(opts !== 'help');
    await assert.rejects(startServe({ ...opts, admin: { host: '127.0.0.1', port: busy } }, createLogger(new LogSink())), (e: Error) => {
      assert.ok(e instanceof StartError);
      assert.equal(e.exitCode, 1);
      assert.match(e.message, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${busy} \\(--admin-address\\)`));
      return true;
    });
  } finally {
    blocker.close();
    cleanup();
  }
});

test('without --client-ca: one loud warning naming what any caller can learn, and the gauge at 0; with it: no warning, gauge at 1', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const certs = makeCerts();
    writeFileSync(join(dir, 'tls.crt'), certs.certPem);
    writeFileSync(join(dir, 'tls.key'), certs.keyPem);
    writeFileSync(join(dir, 'ca.crt'), certs.ca.certPem);
    writeFileSync(join(dir, 'probe.yaml'), TEST_PROFILES['probe.yaml']);
    const base = ['-p', dir, '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--host', '127.0.0.1', '--port', '0'];
    for (const [args, enabled] of [
      [base, 0],
      [[...base, '--client-ca', join(dir, 'ca.crt')], 1],
    ] as const) {
      const opts = parseServeArgs([...args]);
      assert.ok(opts !== 'help');
      const sink = new LogSink();
      const running = await startServe(opts, createLogger(sink));
      try {
        await running.recheck();
        const warnings = sink.find(UNAUTHENTICATED_WARNING);
        assert.equal(warnings.length, 1 - enabled, JSON.stringify(sink.lines));
        if (!enabled) {
          assert.equal(warnings[0]?.level, 'warn');
          assert.match(UNAUTHENTICATED_WARNING, /any caller.*every profile would inject.*env values.*any namespace/);
        }
        assert.match(running.metrics.registry.render(), new RegExp(`^outrigger_client_authentication_enabled ${enabled}$`, 'm'));
      } finally {
        await running.shutdown('test');
      }
    }
  } finally {
    cleanup();
  }
});

test('no profiles in the --profiles paths: a warning at start, or with --require-profiles a start error naming them', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const certs = makeCerts();
    writeFileSync(join(dir, 'tls.crt'), certs.certPem);
    writeFileSync(join(dir, 'tls.key'), certs.keyPem);
    const profiles = join(dir, 'profiles');
    mkdirSync(profiles);
    const base = [
      '-p',
      profiles,
      '--tls-cert',
      join(dir, 'tls.crt'),
      '--tls-key',
      join(dir, 'tls.key'),
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--admin-address',
      'none',
    ];
    const opts = parseServeArgs(base);
    assert.ok(opts !== 'help');
    const sink = new LogSink();
    const running = await startServe(opts, createLogger(sink));
    try {
      const warned = sink.find('no profiles loaded: every pod is admitted unchanged');
      assert.equal(warned.length, 1);
      assert.deepEqual([warned[0]?.level, warned[0]?.paths], ['warn', [profiles]]);
    } finally {
      await running.shutdown('test');
    }
    const strict = parseServeArgs([...base, '--require-profiles']);
    assert.ok(strict !== 'help');
    await assert.rejects(startServe(strict, createLogger(new LogSink())), (e: Error) => {
      assert.ok(e instanceof StartError);
      assert.equal(e.exitCode, 3);
      assert.equal(e.message, `error: --profiles ${profiles}: no SidecarProfiles found (--require-profiles)`);
      return true;
    });
    // With a profile there, neither.
    writeFileSync(join(profiles, 'probe.yaml'), TEST_PROFILES['probe.yaml']);
    const quiet = new LogSink();
    const ok = await startServe(strict, createLogger(quiet));
    await ok.shutdown('test');
    assert.equal(quiet.find('no profiles loaded: every pod is admitted unchanged').length, 0);
  } finally {
    cleanup();
  }
});
