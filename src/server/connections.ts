/**
 * Which connections the server keeps: at most `maxConnections` in all and `maxConnectionsPerPeer`
 * from one remote address. At a limit, the connection that has been idle longest (a kept-alive
 * connection between requests) is closed to make room; a new connection is refused only when every
 * connection it competes with is busy. So idle keep-alive connections, whoever holds them, never
 * lock a client out, and one address cannot take every slot.
 *
 * The API server is one peer (a few addresses at most) and keeps a pool of connections: at its own
 * limit it loses its oldest idle connection, which it would have reopened anyway, never a request.
 */
import type { Duplex } from 'node:stream';

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerPeer: number;
}

type Socket = Duplex & { remoteAddress?: string | undefined };

export interface ConnectionTable {
  /** A new TCP connection: true when kept (maybe after closing an idle one), false when it must be refused. */
  admit(socket: Socket): boolean;
  /** A connection past its handshake, ready for requests: idle until one arrives. */
  ready(socket: Socket): void;
  requestStarted(socket: Socket): void;
  requestEnded(socket: Socket): void;
  /** Idle connections closed to make room, since the start. */
  evicted(): number;
}

export function createConnectionTable(l: ConnectionLimits): ConnectionTable {
  let open = 0;
  let evictions = 0;
  const perPeer = new Map<string, number>();
  /** Idle connections in the order they became idle (a Map keeps insertion order): oldest first. */
  const idle = new Map<Socket, string>();
  const inFlight = new WeakMap<Socket, number>();
  const peerOf = (s: Socket) => s.remoteAddress ?? '';

  const evictIdle = (peer?: string): boolean => {
    for (const [s, p] of idle) {
      if (peer !== undefined && p !== peer) continue;
      idle.delete(s);
      s.destroy();
      evictions++;
      return true;
    }
    return false;
  };

  const markIdle = (s: Socket) => {
    idle.delete(s);
    if (!s.destroyed) idle.set(s, peerOf(s));
  };

  return {
    admit(socket) {
      const peer = peerOf(socket);
      if ((perPeer.get(peer) ?? 0) >= l.maxConnectionsPerPeer && !evictIdle(peer)) return false;
      if (open >= l.maxConnections && !evictIdle()) return false;
      open++;
      perPeer.set(peer, (perPeer.get(peer) ?? 0) + 1);
      socket.once('close', () => {
        open--;
        const n = (perPeer.get(peer) ?? 1) - 1;
        if (n === 0) perPeer.delete(peer);
        else perPeer.set(peer, n);
      });
      return true;
    },
    ready(socket) {
      markIdle(socket);
      socket.once('close', () => idle.delete(socket));
    },
    requestStarted(socket) {
      inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
      idle.delete(socket);
    },
    requestEnded(socket) {
      const n = (inFlight.get(socket) ?? 1) - 1;
      inFlight.set(socket, n);
      if (n === 0) markIdle(socket);
    },
    evicted: () => evictions,
  };
}
