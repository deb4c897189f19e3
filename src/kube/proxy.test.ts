/** The proxy decision, as kubectl makes it: proxy-url, scheme, loopback, NO_PROXY hosts, suffixes, ports, IPs and CIDRs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proxyFor } from './proxy.ts';

const P = 'http://proxy.example:3128';

test('the proxy variable follows the scheme, upper case first unless empty', () => {
  assert.equal(proxyFor('https://api.example:6443', undefined, { HTTPS_PROXY: P }), P);
  assert.equal(proxyFor('https://api.example:6443', undefined, { https_proxy: P }), P);
  assert.equal(proxyFor('https://api.example:6443', undefined, { HTTPS_PROXY: '', https_proxy: P }), P);
  assert.equal(proxyFor('https://api.example:6443', undefined, { HTTP_PROXY: P }), undefined);
  assert.equal(proxyFor('http://api.example:8001', undefined, { HTTP_PROXY: P }), P);
  assert.equal(proxyFor('https://api.example:6443', undefined, {}), undefined);
});

test('loopback servers are never proxied from the environment, only by proxy-url', () => {
  for (const server of ['http://127.0.0.1:8001', 'https://127.5.6.7', 'http://localhost:8001', 'https://api.localhost', 'https://[::1]:6443']) {
    assert.equal(proxyFor(server, undefined, { HTTP_PROXY: P, HTTPS_PROXY: P }), undefined, server);
    assert.equal(proxyFor(server, P, {}), P, server);
  }
});

test('NO_PROXY: *, hosts with their subdomains, .suffixes, ports, IPs and CIDRs (which Node alone does not read)', () => {
  const via = (server: string, noProxy: string) => proxyFor(server, undefined, { HTTPS_PROXY: P, NO_PROXY: noProxy });
  const cases: [string, string, boolean][] = [
    ['https://10.96.0.1', '10.96.0.0/12', false],
    ['https://10.112.0.1', '10.96.0.0/12', true],
    ['https://[fd00::1]:6443', 'fd00::/8', false],
    ['https://10.96.0.1', 'fd00::/8', true],
    ['https://10.1.2.3', '10.1.2.3', false],
    ['https://api.example.com', 'example.com', false],
    ['https://example.com', 'example.com', false],
    ['https://notexample.com', 'example.com', true],
    ['https://example.com', '.example.com', true],
    ['https://a.example.com', '*.example.com', false],
    ['https://api.example.com:6443', 'api.example.com:6443', false],
    ['https://api.example.com:6443', 'api.example.com:443', true],
    ['https://api.example.com', 'api.example.com:443', false],
    ['https://anything', '*', false],
    ['https://api.example.com', ' other.org , API.EXAMPLE.COM ', false],
    ['https://api.example.com', '10.0.0.0/not-bits,,', true],
  ];
  for (const [server, noProxy, proxied] of cases) assert.equal(via(server, noProxy), proxied ? P : undefined, `${server} with NO_PROXY=${noProxy}`);
});
