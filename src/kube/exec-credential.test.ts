/**
 * Exec credential plugins: checked when the kubeconfig is read, run as kubectl runs them (with
 * KUBERNETES_EXEC_INFO, never interactively), bounded in time and output, and run again when the
 * credential expires or the API server refuses it. The plugins are real executables; the API
 * server is a local HTTPS server that wants a bearer token.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { processAlive } from '../../test/support/processes.ts';
import { generateCA, generateServingCert } from '../tls/certs.ts';
import { KubeApiError, KubeClient } from './client.ts';
import { loadKubeconfig } from './config.ts';
import { EXEC_MAX_OUTPUT, execCredentialSource, execPlugin, parseExecCredential } from './exec-credential.ts';

const dir = mkdtempSync(join(tmpdir(), 'outrigger-exec-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const V1 = 'client.authentication.k8s.io/v1';
const cluster = { server: 'https://127.0.0.1:1' };

/** An executable shell script in the test directory. */
function script(name: string, body: string): string {
  const f = join(dir, name);
  writeFileSync(f, `#!/bin/sh\n${body}\n`);
  chmodSync(f, 0o755);
  return f;
}

describe('the exec stanza', () => {
  const plugin = (exec: object) => execPlugin({ apiVersion: V1, command: 'p', ...exec }, 'u', '/k/config', cluster);
  test('what cannot be run is named with its file, user and field', () => {
    assert.throws(() => plugin({ apiVersion: 'client.authentication.k8s.io/v1alpha1' }), {
      message:
        '/k/config: user "u": exec.apiVersion: "client.authentication.k8s.io/v1alpha1" is not one of client.authentication.k8s.io/v1, client.authentication.k8s.io/v1beta1',
    });
    assert.throws(() => plugin({ command: '' }), { message: '/k/config: user "u": exec.command: must be a non-empty string' });
    assert.throws(() => plugin({ args: ['a', 1] }), { message: '/k/config: user "u": exec.args: must be a list of strings' });
    assert.throws(() => plugin({ env: [{ name: 'A' }] }), { message: '/k/config: user "u": exec.env[0]: needs a name and a value' });
    assert.throws(() => plugin({ env: { A: 'b' } }), { message: '/k/config: user "u": exec.env: must be a list' });
    assert.throws(() => plugin({ interactiveMode: 'Always' }), { message: /exec\.interactiveMode: Always needs a terminal/ });
  });

  test('KUBERNETES_EXEC_INFO says non-interactive, with the cluster only when asked; a relative path is the kubeconfig’s', () => {
    assert.deepEqual(JSON.parse(plugin({}).execInfo), { apiVersion: V1, kind: 'ExecCredential', spec: { interactive: false } });
    assert.deepEqual(JSON.parse(plugin({ provideClusterInfo: true, interactiveMode: 'IfAvailable' }).execInfo).spec, { interactive: false, cluster });
    assert.equal(plugin({ command: './bin/p' }).command, '/k/bin/p');
    assert.equal(plugin({ command: 'aws' }).command, 'aws');
    assert.deepEqual(plugin({ env: [{ name: 'A', value: 'b' }], args: ['x'] }).env, { A: 'b' });
  });
});

describe('the plugin’s answer', () => {
  const p = { apiVersion: V1, command: 'p' } as const;
  const answer = (status: object, extra: object = {}) => JSON.stringify({ apiVersion: V1, kind: 'ExecCredential', status, ...extra });
  test('a token, or a client certificate with its key, and when it expires', () => {
    assert.deepEqual(parseExecCredential(answer({ token: 't' }), p), { credential: { token: 't' } });
    assert.deepEqual(parseExecCredential(answer({ clientCertificateData: 'C', clientKeyData: 'K', expirationTimestamp: '2030-01-02T03:04:05Z' }), p), {
      credential: { cert: 'C', key: 'K' },
      expiresAt: Date.UTC(2030, 0, 2, 3, 4, 5),
    });
  });
  test('anything else is refused with what is wrong', () => {
    const refused: [string, RegExp][] = [
      // The parser's own message would quote the output, which may be a bare token.
      ['eyJhbGciOiJSUzI1NiJ9.secret', /^exec plugin "p" printed no JSON ExecCredential$/],
      [JSON.stringify({ kind: 'Pod' }), /printed something other than an ExecCredential/],
      [
        answer({ token: 't' }, { apiVersion: 'client.authentication.k8s.io/v1beta1' }),
        /answered apiVersion "client.authentication.k8s.io\/v1beta1", not the client.authentication.k8s.io\/v1/,
      ],
      [JSON.stringify({ apiVersion: V1, kind: 'ExecCredential' }), /has no status/],
      [answer({ clientCertificateData: 'C' }), /clientCertificateData and clientKeyData come together/],
      [answer({ token: '' }), /neither a token nor a client certificate/],
      [answer({ token: 't', expirationTimestamp: 'soon' }), /expirationTimestamp "soon" is not a time/],
    ];
    for (const [text, message] of refused) assert.throws(() => parseExecCredential(text, p), { message }, text);
  });
});

describe('running the plugin', () => {
  const source = (command: string, exec: object = {}, opts = {}) =>
    execCredentialSource(execPlugin({ apiVersion: V1, command, ...exec }, 'u', join(dir, 'config'), cluster), opts);

  test('concurrent callers share one run; the credential is kept until it is about to expire, or invalidated', async () => {
    const count = join(dir, 'count');
    writeFileSync(count, '');
    const expiry = join(dir, 'expiry');
    writeFileSync(expiry, '2999-01-01T00:00:00Z');
    const p = script(
      'counting',
      `echo x >> ${count}; n=$(wc -l < ${count}); printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"token":"t%s","expirationTimestamp":"%s"}}' $n "$(cat ${expiry})"`,
    );
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const s = source(p, {}, { now: () => clock });
    const [a, b] = await Promise.all([s.get(), s.get()]);
    assert.deepEqual([a, b], [{ token: 't1' }, { token: 't1' }]);
    assert.deepEqual(await s.get(), { token: 't1' });
    s.invalidate();
    assert.deepEqual(await s.get(), { token: 't2' });
    writeFileSync(expiry, '2026-01-01T00:01:00Z');
    s.invalidate();
    assert.deepEqual(await s.get(), { token: 't3' });
    clock += 49_000;
    assert.deepEqual(await s.get(), { token: 't3' });
    clock += 2_000; // within the refresh margin of its expiry
    assert.deepEqual(await s.get(), { token: 't4' });
  });

  test('env, args and KUBERNETES_EXEC_INFO reach the plugin', async () => {
    const seen = join(dir, 'seen');
    const p = script(
      'echoing',
      `printf '%s|%s|%s' "$GREETING" "$1" "$KUBERNETES_EXEC_INFO" > ${seen}; printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"token":"t"}}'`,
    );
    await source(p, { env: [{ name: 'GREETING', value: 'hi' }], args: ['--region=x'], provideClusterInfo: true }).get();
    const [greeting, arg, info] = readFileSync(seen, 'utf8').split('|');
    assert.deepEqual(
      [greeting, arg, JSON.parse(info as string)],
      ['hi', '--region=x', { apiVersion: V1, kind: 'ExecCredential', spec: { interactive: false, cluster } }],
    );
  });

  test('a missing, failing, hung or flooding plugin is an error that says which and why; a later call runs it again', async () => {
    await assert.rejects(source(join(dir, 'absent'), { installHint: 'install it with: apt install absent\n' }).get(), {
      message: `exec plugin "${join(dir, 'absent')}" was not found: install it with: apt install absent`,
    });
    const failing = script('failing', 'echo "first line" >&2; echo "token expired, run login" >&2; exit 3');
    await assert.rejects(source(failing).get(), { message: `exec plugin "${failing}" failed (exit 3): first line / token expired, run login` });
    // A terminal escape sequence in its stderr does not reach the caller's terminal.
    const escaping = script('escaping', "printf 'login \\033[2J\\033]0;owned\\007fai\\342\\200\\256led\\r\\n' >&2; exit 1");
    await assert.rejects(source(escaping).get(), { message: `exec plugin "${escaping}" failed (exit 1): login [2J]0;ownedfailed` });
    const hung = script('hung', 'exec sleep 30');
    await assert.rejects(source(hung, {}, { timeoutMs: 300 }).get(), { message: `exec plugin "${hung}" did not answer within 300 ms and was stopped` });
    const flooding = script('flooding', `head -c ${EXEC_MAX_OUTPUT + 10} /dev/zero`);
    await assert.rejects(source(flooding).get(), { message: `exec plugin "${flooding}" printed more than ${EXEC_MAX_OUTPUT} bytes` });
    const flag = join(dir, 'flag');
    const flaky = script('flaky', `if [ -e ${flag} ]; then printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"token":"ok"}}'; else exit 1; fi`);
    const s = source(flaky);
    await assert.rejects(s.get());
    writeFileSync(flag, '');
    assert.deepEqual(await s.get(), { token: 'ok' });
  });
});

describe('a plugin that will not stop', () => {
  const source = (command: string, timeoutMs: number) =>
    execCredentialSource(execPlugin({ apiVersion: V1, command }, 'u', join(dir, 'config'), cluster), { timeoutMs });

  const until = async (check: () => boolean) => {
    for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 50));
    return check();
  };

  test('one that ignores SIGTERM is given up on at the time limit and killed, with the children it started', async () => {
    const pids = join(dir, 'pids');
    const stubborn = script('stubborn', `trap '' TERM; sleep 3600 & echo $$ $! > ${pids}; wait; sleep 3600`);
    const started = Date.now();
    await assert.rejects(source(stubborn, 500).get(), { message: `exec plugin "${stubborn}" did not answer within 500 ms and was stopped` });
    assert.ok(Date.now() - started < 5000, 'rejected at the limit, not when the plugin exits');
    const [shell, child] = readFileSync(pids, 'utf8').trim().split(' ').map(Number) as [number, number];
    assert.ok(await until(() => !processAlive(shell) && !processAlive(child)), 'the plugin and its child are gone after the SIGKILL grace');
  });

  test('stdin is closed: a plugin that reads it gets end of input at once, not a hang', async () => {
    const reader = script('reader', `read line; printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"token":"read-%s"}}' "$line"`);
    assert.deepEqual(await source(reader, 10_000).get(), { token: 'read-' });
  });

  test('a refused token is dropped only if it is still the current one; a short-lived one is used for most of its life', async () => {
    const count = join(dir, 'count2');
    writeFileSync(count, '');
    const p = script(
      'short',
      `echo x >> ${count}; n=$(wc -l < ${count}); printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"token":"t%s","expirationTimestamp":"2026-01-01T00:00:08Z"}}' $n`,
    );
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const s = execCredentialSource(execPlugin({ apiVersion: V1, command: p }, 'u', join(dir, 'config'), cluster), { now: () => clock });
    assert.deepEqual(await s.get(), { token: 't1' });
    clock += 5000; // 3 s before an 8 s credential expires: still fresh (the margin is a quarter of its life)
    assert.deepEqual(await s.get(), { token: 't1' });
    s.invalidate('t0');
    assert.deepEqual(await s.get(), { token: 't1' });
    s.invalidate('t1');
    assert.deepEqual(await s.get(), { token: 't2' });
  });
});

test('a kubeconfig exec user authenticates against an HTTPS API server, and a refused token is fetched again once', async () => {
  const ca = generateCA({ commonName: 'test-ca' });
  const serving = generateServingCert({ ca, commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const seen: string[] = [];
  const server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    seen.push(req.headers.authorization ?? '');
    const ok = req.headers.authorization === 'Bearer t2' || req.headers.authorization === 'Bearer t3';
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { major: '1', minor: '36' } : { kind: 'Status', reason: 'Unauthorized', message: 'Unauthorized' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const count = join(dir, 'kcount');
  writeFileSync(count, '');
  writeFileSync(join(dir, 'ca.pem'), ca.certPem);
  script('kplugin', `echo x >> ${count}; n=$(wc -l < ${count}); printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"token":"t%s"}}' $n`);
  const config = join(dir, 'kubeconfig');
  writeFileSync(
    config,
    `current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: 'https://127.0.0.1:${(server.address() as AddressInfo).port}', certificate-authority: ca.pem}}]
users: [{name: u, user: {exec: {apiVersion: ${V1}, command: ./kplugin}}}]
`,
  );
  const client = new KubeClient(loadKubeconfig(config));
  try {
    assert.deepEqual(await client.request('GET', '/version'), { major: '1', minor: '36' });
    assert.deepEqual(await client.request('GET', '/version'), { major: '1', minor: '36' });
    assert.deepEqual(seen, ['Bearer t1', 'Bearer t2', 'Bearer t2']);
    // A credential refused right after it was fetched is not fetched in a loop: the 401 reaches the caller.
    writeFileSync(count, 'x\nx\nx\nx\n');
    const s2 = new KubeClient(loadKubeconfig(config));
    await assert.rejects(s2.request('GET', '/version'), (e: unknown) => e instanceof KubeApiError && e.status === 401);
    s2.close();
    assert.deepEqual(seen.slice(3), ['Bearer t5', 'Bearer t6']);
  } finally {
    client.close();
    server.close();
  }
});
