/**
 * The bounds of the HTTP layer: body size, parse cost, timeouts, connections and buffered bytes,
 * each with the reason for its default.
 */
import { DEFAULT_JSON_BUDGET, type JsonBudget } from './json-budget.ts';

/**
 * Request body limit: 7 MiB.
 *
 * - The API server refuses any request body above 3 MiB (`MaxRequestBodyBytes` = 3 × 1024 × 1024),
 *   so the object a client creates or updates is at most 3 MiB as sent. The API server re-encodes
 *   it as JSON for the review: a protobuf body grows a little as JSON, defaulting adds fields, and
 *   Go's encoder writes `<`, `>` and `&` as `\u003c` (6 bytes for 1). Call `object` ≤ 3 MiB for any
 *   object that could also be stored, since etcd refuses objects above ~1.5 MiB
 *   (`--max-request-bytes`, 1.5 MiB by default) and so bounds what is worth admitting.
 * - An UPDATE also carries `oldObject`, which came out of etcd: ≤ 1.5 MiB stored, ≤ 3 MiB as JSON
 *   by the same argument. We only mutate CREATE (no oldObject), but a review for an UPDATE must
 *   still get a valid "allowed", not a 413, if the webhook is ever registered for it.
 * - The envelope (uid, kind, resource, userInfo with groups and extra, options) is a few KiB.
 *
 * 3 MiB + 3 MiB + envelope ≈ 6 MiB, plus 1 MiB of slack for escaping growth: 7 MiB. A larger body
 * would be an object made mostly of escaped characters, which no real Pod is. The body is counted
 * as it arrives and reading stops at the limit: nothing above it is ever buffered.
 */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;

export interface Limits {
  maxBodyBytes: number;
  /** What parsing one body may cost (objects, tokens, keys): checked before it is parsed. */
  json: JsonBudget;
  /** Time to receive the request headers, from their first byte (not the keep-alive idle time). */
  headersTimeoutMs: number;
  /** Time to receive the whole request (headers and body). */
  requestTimeoutMs: number;
  /** Idle time before a keep-alive connection is closed: above the API server's 90 s idle timeout, so the server never closes a connection the client is about to reuse. */
  keepAliveTimeoutMs: number;
  /** Open connections at most; at the limit, the longest idle one is closed for a new client (connections.ts). */
  maxConnections: number;
  /** Open connections from one remote address at most, the same way. */
  maxConnectionsPerPeer: number;
  /** Bytes of request bodies held at once, over all connections: bounds memory whatever the clients do. */
  maxBufferedBytes: number;
  /** A body is large once it passes this many bytes. */
  largeBodyBytes: number;
  /** Bytes of large bodies held at once: the rest of maxBufferedBytes is kept for small bodies. */
  maxLargeBufferedBytes: number;
  /** Slowest a body may arrive, measured over each window of bodyRateWindowMs (the first included). */
  minBodyBytesPerSecond: number;
  bodyRateWindowMs: number;
  /** Time for a new connection to finish the TLS handshake. */
  handshakeTimeoutMs: number;
  /** How often Node checks the two timeouts above. */
  connectionsCheckingIntervalMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxBodyBytes: MAX_BODY_BYTES,
  json: DEFAULT_JSON_BUDGET,
  // Not above keepAliveTimeout, on purpose: since Node 18 the headers timer starts at the first byte
  // of a request, not when a kept-alive connection goes idle, so a short one does not cut idle
  // connections (http.test.ts checks this) and it bounds slow-loris clients to 10 s, not 2 minutes.
  headersTimeoutMs: 10_000,
  // The API server waits at most 30 s (the largest webhook timeoutSeconds); a request still arriving after that has no one waiting for it.
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 120_000,
  maxConnections: 2048,
  // A quarter: one address cannot take every slot, and the API server (which keeps a pool of a few
  // dozen connections, more under load) loses only idle ones at its limit.
  maxConnectionsPerPeer: 512,
  // Four bodies of the largest size at once (a parsed body takes several times its size in memory):
  // far above what API servers send together (pods are at most 1.5 MiB in etcd), and far below
  // what fits in the default memory limit of 256 MiB.
  maxBufferedBytes: 4 * MAX_BODY_BYTES,
  // Everyday reviews are a few KiB: large bodies (over 1 MiB) together get three of the four shares,
  // so clients that send large bodies and stall cannot refuse every other review.
  largeBodyBytes: 1024 * 1024,
  // Two of the largest bodies: four at once peaked at 221–243 MiB of a 256 MiB limit; two stay far under.
  maxLargeBufferedBytes: 2 * MAX_BODY_BYTES,
  // The API server writes at network speed (tens of MB/s in a cluster): 128 KiB/s is about 1% of a
  // 100 Mbit/s link. Measured per second, so a body that stalls is cut within two seconds. A
  // per-client share of the budget would not help here: the API server is one client (a few
  // addresses at most) sending many reviews at once, and would be the first one refused.
  minBodyBytesPerSecond: 128 * 1024,
  bodyRateWindowMs: 1_000,
  // The API server completes its handshake in milliseconds; an idle or stalled socket gets no more.
  handshakeTimeoutMs: 10_000,
  connectionsCheckingIntervalMs: 1_000,
};
