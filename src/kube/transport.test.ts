/**
 * How the client reaches the API server, through connect() as `outrigger status` does: plain
 * http:// (kubectl proxy), tls-server-name, and proxies (HTTPS_PROXY/NO_PROXY, a cluster's
 * proxy-url) — each against a real local server, and a real CONNECT proxy that counts its tunnels.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateCA, generateServingCert } from '../tls/certs.ts';
import { connect } from './connect.ts';

const dir = mkdtempSync(join(tmpdir(), 'outrigger-transport-'));
const ca = generateCA({ commonName: 'test-ca' });
// The certificate names only api.internal: a client that checks it against 127.0.0.1 fails.
const serving = generateServingCert({ ca, commonName: 'api.internal', dnsNames: ['api.internal'] });
const VERSION = { major: '1', minor: '36' };
const answer = (_req: unknown, res: import('node:http').ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(VERSION));
};
const https = createHttpsServer({ cert: serving.certPem, key: serving.keyPem }, answer);
const plain = createHttpServer(answer);
let tunnels: string[] = [];
const proxy = createHttpServer((_req, res) => res.writeHead(502).end());
proxy.on('connect', (req, socket, head) => {
  tunnels.push(req.url ?? '');
  // The proxy resolves names, not the client: api.internal is this machine's test server.
  const [host, port] = (req.url ?? '').split(':');
  const upstream = netConnect(Number(port), host === 'api.internal' ? '127.0.0.1' : (host as string), () => {
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
});
const port = (s: Server) => (s.address() as AddressInfo).port;
before(async () => {
  for (const s of [https, plain, proxy]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  writeFileSync(join(dir, 'ca.pem'), ca.certPem);
});
after(() => {
  for (const s of [https, plain, proxy]) s.close();
  rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(name: string, cluster: string): string {
  const f = join(dir, name);
  writeFileSync(f, `current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\nclusters: [{name: k, cluster: {${cluster}}}]\n`);
  return f;
}
async function version(file: string, env: NodeJS.ProcessEnv = {}) {
  const client = connect({ kubeconfig: file, env });
  try {
    return await client.request('GET', '/version', { timeoutMs: 10_000 });
  } finally {
    client.close();
  }
}

describe('reaching the API server', () => {
  test('http:// (kubectl proxy) needs no TLS', async () => {
    assert.deepEqual(await version(kubeconfig('plain', `server: 'http://127.0.0.1:${port(plain)}'`)), VERSION);
  });

  test('tls-server-name is the name the certificate is checked against', async () => {
    const server = `server: 'https://127.0.0.1:${port(https)}', certificate-authority: ca.pem`;
    assert.deepEqual(await version(kubeconfig('named', `${server}, tls-server-name: api.internal`)), VERSION);
    await assert.rejects(version(kubeconfig('unnamed', server)), /altnames|IP: 127\.0\.0\.1 is not in the cert/);
  });

  test('HTTPS_PROXY tunnels through the proxy; proxy-url wins over the environment and NO_PROXY', async () => {
    // api.internal resolves nowhere but in the proxy: the request succeeds only through it.
    const file = kubeconfig('proxied', `server: 'https://api.internal:${port(https)}', certificate-authority: ca.pem`);
    const proxyUrl = `http://127.0.0.1:${port(proxy)}`;
    tunnels = [];
    assert.deepEqual(await version(file, { https_proxy: proxyUrl, NO_PROXY: '10.0.0.0/8,example.com' }), VERSION);
    assert.deepEqual(tunnels, [`api.internal:${port(https)}`]);
    tunnels = [];
    const viaProxyUrl = kubeconfig('proxy-url', `server: 'https://api.internal:${port(https)}', certificate-authority: ca.pem, proxy-url: '${proxyUrl}'`);
    assert.deepEqual(await version(viaProxyUrl, { NO_PROXY: 'api.internal', HTTPS_PROXY: 'http://127.0.0.1:1' }), VERSION);
    assert.deepEqual(tunnels, [`api.internal:${port(https)}`]);
  });

  test('a loopback server is never reached through an environment proxy, so a token over http stays on the machine', async () => {
    let proxied = 0;
    const plainProxy = createHttpServer((_req, res) => {
      proxied++;
      res.writeHead(502).end();
    });
    await new Promise<void>((r) => plainProxy.listen(0, '127.0.0.1', r));
    try {
      const file = kubeconfig('loopback', `server: 'http://127.0.0.1:${port(plain)}'`);
      assert.deepEqual(
        await version(file, { HTTP_PROXY: `http://127.0.0.1:${port(plainProxy)}`, HTTPS_PROXY: `http://127.0.0.1:${port(plainProxy)}` }),
        VERSION,
      );
      assert.equal(proxied, 0);
    } finally {
      plainProxy.close();
    }
  });

  test('what a kubeconfig may not name', () => {
    assert.throws(() => connect({ kubeconfig: kubeconfig('socks', `server: 'https://a', proxy-url: 'socks5://p:1080'`), env: {} }), {
      message: `${join(dir, 'socks')}: cluster "k": proxy-url "socks5://p:1080" is not an http:// or https:// proxy (SOCKS is not supported)`,
    });
    assert.throws(() => connect({ kubeconfig: kubeconfig('ftp', `server: 'ftp://a'`), env: {} }), {
      message: `${join(dir, 'ftp')}: cluster "k": server "ftp://a" is not an https:// or http:// URL`,
    });
  });
});
