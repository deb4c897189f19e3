/** Real TLS handshakes with node:https against the generated certificates. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { type CertificateAuthority, generateCA, generateServingCert, type KeyPairPem } from './certs.ts';

const SERVICE = 'webhook.outrigger-system.svc';

async function serve(host: string, opts: https.ServerOptions): Promise<{ server: https.Server; port: number }> {
  // Answers "ok", "ok <client CN>" for a verified client certificate, or "unauthorized <reason>".
  const server = https.createServer(opts, (req, res) => {
    const socket = req.socket as TLSSocket;
    if (!socket.authorized && socket.authorizationError) return void res.end(`unauthorized ${socket.authorizationError}`);
    const peer = socket.getPeerCertificate();
    res.end(peer?.subject?.CN ? `ok ${peer.subject.CN}` : 'ok');
  });
  server.listen(0, host);
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

function close(server: https.Server | undefined): Promise<void> {
  if (!server?.listening) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** GET / over a fresh connection; resolves with the body, rejects with the TLS error. */
function get(opts: https.RequestOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get({ path: '/', agent: false, ...opts }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('request timed out')));
  });
}

describe('TLS handshake with a generated CA and serving certificate', () => {
  let ca: CertificateAuthority;
  let otherCa: CertificateAuthority;
  let leaf: KeyPairPem;
  let server: https.Server | undefined;
  let port = 0;

  before(async () => {
    ca = generateCA({ commonName: 'Outrigger Test CA' });
    otherCa = generateCA({ commonName: 'Outrigger Test CA' }); // same name, different key
    leaf = generateServingCert({ ca, commonName: SERVICE, dnsNames: [SERVICE, `${SERVICE}.cluster.local`], ipAddresses: ['127.0.0.1'] });
    ({ server, port } = await serve('127.0.0.1', { cert: leaf.certPem, key: leaf.keyPem }));
  });
  after(() => close(server));

  test('a client trusting the CA connects with the service name as SNI', async () => {
    assert.equal(await get({ host: '127.0.0.1', port, ca: ca.certPem, servername: SERVICE }), 'ok');
    assert.equal(await get({ host: '127.0.0.1', port, ca: ca.certPem, servername: `${SERVICE}.cluster.local` }), 'ok');
  });

  test('a name the certificate does not cover fails with a hostname error', async () => {
    await assert.rejects(get({ host: '127.0.0.1', port, ca: ca.certPem, servername: 'other.svc' }), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
      assert.match(err.message, /other\.svc/);
      return true;
    });
  });

  test('a client trusting another CA fails verification', async () => {
    await assert.rejects(get({ host: '127.0.0.1', port, ca: otherCa.certPem, servername: SERVICE }), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      return true;
    });
  });

  test('the IP SAN matches when connecting to 127.0.0.1 without a server name', async () => {
    assert.equal(await get({ host: '127.0.0.1', port, ca: ca.certPem }), 'ok');
  });
});

describe('TLS handshake: IP SANs must be present to match', () => {
  let ca: CertificateAuthority;
  let server: https.Server | undefined;
  let port = 0;

  before(async () => {
    ca = generateCA({ commonName: 'ca' });
    const dnsOnly = generateServingCert({ ca, commonName: SERVICE, dnsNames: [SERVICE] });
    ({ server, port } = await serve('127.0.0.1', { cert: dnsOnly.certPem, key: dnsOnly.keyPem }));
  });
  after(() => close(server));

  test('connecting by IP to a certificate without that IP fails with a hostname error', async () => {
    await assert.rejects(get({ host: '127.0.0.1', port, ca: ca.certPem }), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    assert.equal(await get({ host: '127.0.0.1', port, ca: ca.certPem, servername: SERVICE }), 'ok');
  });
});

describe('TLS handshake over IPv6 with an IPv6 SAN', () => {
  let ca: CertificateAuthority;
  let server: https.Server | undefined;
  let port = 0;
  let skip: string | false = false;

  before(async () => {
    ca = generateCA({ commonName: 'ca' });
    const leaf = generateServingCert({ ca, commonName: 'v6', ipAddresses: ['0:0:0:0:0:0:0:1'] });
    try {
      ({ server, port } = await serve('::1', { cert: leaf.certPem, key: leaf.keyPem }));
    } catch (e) {
      skip = `IPv6 loopback unavailable: ${(e as Error).message}`;
    }
  });
  after(() => close(server));

  test('a client connecting to ::1 verifies the IPv6 SAN', async (t) => {
    if (skip) return t.skip(skip);
    assert.equal(await get({ host: '::1', port, ca: ca.certPem }), 'ok');
  });
});

describe('mutual TLS with client: true', () => {
  let ca: CertificateAuthority;
  let server: https.Server | undefined;
  let port = 0;

  before(async () => {
    ca = generateCA({ commonName: 'ca' });
    const serving = generateServingCert({ ca, commonName: SERVICE, dnsNames: [SERVICE] });
    // rejectUnauthorized: false so the handler can report why a client certificate was not accepted.
    ({ server, port } = await serve('127.0.0.1', { cert: serving.certPem, key: serving.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false }));
  });
  after(() => close(server));

  test('a client certificate with clientAuth is accepted', async () => {
    const client = generateServingCert({ ca, commonName: 'apiserver', dnsNames: ['apiserver.local'], client: true });
    const body = await get({ host: '127.0.0.1', port, ca: ca.certPem, servername: SERVICE, cert: client.certPem, key: client.keyPem });
    assert.equal(body, 'ok apiserver');
  });

  test('a serving-only certificate (no clientAuth) is refused as a client certificate', async () => {
    const servingOnly = generateServingCert({ ca, commonName: 'intruder', dnsNames: ['intruder.local'] });
    const body = await get({ host: '127.0.0.1', port, ca: ca.certPem, servername: SERVICE, cert: servingOnly.certPem, key: servingOnly.keyPem });
    assert.equal(body, 'unauthorized INVALID_PURPOSE');
  });

  test('a client certificate from another CA is refused', async () => {
    const stranger = generateServingCert({ ca: generateCA({ commonName: 'ca' }), commonName: 'stranger', dnsNames: ['s.local'], client: true });
    const body = await get({ host: '127.0.0.1', port, ca: ca.certPem, servername: SERVICE, cert: stranger.certPem, key: stranger.keyPem });
    assert.equal(body, 'unauthorized UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});
