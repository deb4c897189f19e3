/**
 * The HTTP server of `outrigger playground`: the page's three files and nothing else. Paths are
 * looked up by exact name (no file system behind them, so no traversal), only GET and HEAD, no
 * request body, bounded headers, time and connections. It listens on loopback unless told
 * otherwise: the page runs in the browser and sends nothing back.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PlaygroundFile } from './playground-bundle.ts';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Sent with every answer: the page's own CSP again (the meta tag cannot say frame-ancestors), no sniffing, no caching. */
const HEADERS = {
  'content-security-policy': "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
} as const;

/** A request line longer than this is refused (414): the page's own URLs are short, the fragment is never sent. */
export const MAX_URL = 2048;
export const MAX_CONNECTIONS = 32;

export interface PlaygroundServer {
  /** `http://ADDRESS:PORT/` */
  url: string;
  port: number;
  close(): Promise<void>;
}

function answer(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...HEADERS, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...extra });
  res.end(text);
}

function handler(files: ReadonlyMap<string, { bytes: Uint8Array; type: string }>) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'only GET and HEAD\n', { allow: 'GET, HEAD' });
    if (url.length > MAX_URL) return answer(res, 414, 'URL too long\n');
    // A GET has no body; one that announces one is refused rather than read.
    if (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0) {
      res.shouldKeepAlive = false;
      return answer(res, 413, 'no request body is accepted\n', { connection: 'close' });
    }
    const path = url.split('?')[0] as string;
    const file = files.get(path === '/' ? 'index.html' : path.slice(1));
    if (!path.startsWith('/') || !file) return answer(res, 404, 'not found\n');
    res.writeHead(200, { ...HEADERS, 'content-type': file.type, 'content-length': file.bytes.length });
    res.end(req.method === 'HEAD' ? undefined : file.bytes);
  };
}

/** Serves `files` on `address:port` (port 0: any free one) until close(). */
export async function startPlaygroundServer(files: readonly PlaygroundFile[], address: string, port: number): Promise<PlaygroundServer> {
  const byName = new Map(files.map((f) => [f.name, { bytes: f.bytes, type: TYPES[f.name.slice(f.name.lastIndexOf('.'))] ?? 'application/octet-stream' }]));
  const server = createServer({ maxHeaderSize: 8192, requestTimeout: 10_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 }, handler(byName));
  server.maxConnections = MAX_CONNECTIONS;
  server.maxHeadersCount = 64;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${bound}/`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
