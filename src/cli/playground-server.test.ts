/** The playground's HTTP server, over real HTTP on loopback: its three files and nothing else. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { UsageError } from './options.ts';
import { listenError } from './playground.ts';
import { MAX_URL, type PlaygroundServer, startPlaygroundServer } from './playground-server.ts';

const files = [
  { name: 'index.html', bytes: new TextEncoder().encode('<!doctype html><title>p</title>') },
  { name: 'playground.css', bytes: new TextEncoder().encode('body{}') },
  { name: 'playground.js', bytes: new TextEncoder().encode('console.log(1)') },
];
let server: PlaygroundServer;
before(async () => {
  server = await startPlaygroundServer(files, '127.0.0.1', 0);
});
after(() => server.close());

function get(path: string, method = 'GET', body?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-length': Buffer.byteLength(body) };
    const req = request({ host: '127.0.0.1', port: server.port, path, method, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A request written by hand, for what an HTTP client would tidy up first. */
function raw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(server.port, '127.0.0.1', () => s.end(text));
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    s.on('error', reject);
  });
}

test('the URL it gives is the loopback address and the port it took', () => {
  assert.equal(server.url, `http://127.0.0.1:${server.port}/`);
  assert.ok(server.port > 0);
});

test("each file with its content type and the page's security headers; / is the page", async () => {
  for (const [path, type, body] of [
    ['/', 'text/html; charset=utf-8', '<!doctype html><title>p</title>'],
    ['/index.html', 'text/html; charset=utf-8', '<!doctype html><title>p</title>'],
    ['/playground.css', 'text/css; charset=utf-8', 'body{}'],
    ['/playground.js?v=1', 'text/javascript; charset=utf-8', 'console.log(1)'],
  ] as const) {
    const r = await get(path);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers['content-type'], type, path);
    assert.equal(r.body, body, path);
    assert.equal(r.headers['content-length'], String(body.length));
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.match(String(r.headers['content-security-policy']), /^default-src 'self';.*frame-ancestors 'none'/);
    assert.equal(r.headers['cache-control'], 'no-store');
  }
});

test('HEAD gives the headers and no body', async () => {
  const r = await get('/playground.js', 'HEAD');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], '14');
  assert.equal(r.body, '');
});

test('every other method is refused with 405 and Allow', async () => {
  for (const m of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    const r = await get('/', m);
    assert.equal(r.status, 405, m);
    assert.equal(r.headers.allow, 'GET, HEAD');
  }
});

test('no other path: traversal, encoded traversal, directories, source files and absolute URLs are 404', async () => {
  for (const path of [
    '/../package.json',
    '/%2e%2e/package.json',
    '/..%2fpackage.json',
    '/index.html/',
    '//index.html',
    '/playground',
    '/src/playground/page.ts',
    '/INDEX.HTML',
    '/.',
  ]) {
    const r = await raw(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(r, /^HTTP\/1\.1 404 /, path);
  }
  assert.match(await raw('GET http://example.com/index.html HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 404 /);
});

test('a request with a body is refused without reading it; an overlong URL is refused', async () => {
  assert.equal((await get('/', 'GET', 'x'.repeat(100))).status, 413);
  assert.match(await raw('GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'), /^HTTP\/1\.1 413 /);
  assert.equal((await get(`/${'a'.repeat(MAX_URL)}`)).status, 414);
  // Headers past the bound are answered by Node's parser before the handler runs.
  assert.match(await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(10_000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
});

test('close() stops it even with a connection kept alive', async () => {
  const s = await startPlaygroundServer(files, '127.0.0.1', 0);
  const sock = connect(s.port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await new Promise((r) => sock.once('data', r));
  const closed = new Promise((r) => sock.once('close', r));
  await s.close();
  await closed;
  await assert.rejects(new Promise((resolve, reject) => connect(s.port, '127.0.0.1').on('connect', resolve).on('error', reject)), /ECONNREFUSED/);
});

test('a port in use or an address that is not this machine is the flag at fault, not a crash', async () => {
  const taken = await startPlaygroundServer(files, '127.0.0.1', 0);
  try {
    const e = await startPlaygroundServer(files, '127.0.0.1', taken.port).then(
      () => assert.fail('listened on a port in use'),
      (err: NodeJS.ErrnoException) => listenError(err, '127.0.0.1', taken.port),
    );
    assert.ok(e instanceof UsageError);
    assert.equal(e.message, `--port ${taken.port}: 127.0.0.1:${taken.port} is in use; pick another port, or --port 0 for any free one`);
  } finally {
    await taken.close();
  }
  const bad = await startPlaygroundServer(files, 'nosuch.invalid', 0).then(
    () => assert.fail('listened on a name that does not resolve'),
    (err: NodeJS.ErrnoException) => listenError(err, 'nosuch.invalid', 0),
  );
  assert.ok(bad instanceof UsageError);
  assert.match(bad.message, /^--address nosuch\.invalid: not an address of this machine \((ENOTFOUND|EAI_AGAIN)\)$/);
});
