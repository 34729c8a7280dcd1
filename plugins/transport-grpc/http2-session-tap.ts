/**
 * The one place the transport reaches into @grpc/grpc-js: the HTTP/2 sessions of its listeners.
 *
 * grpc-js (checked up to 1.14) has no server option for ping policing — it ignores gRPC core's
 * `grpc.http2.min_ping_interval_without_data_ms`, `grpc.http2.max_ping_strikes` and
 * `grpc.keepalive_permit_without_calls` on servers — and no public way to see a connection's HTTP/2
 * session (`createConnectionInjector` takes sockets in, but hands no session out). Node's own
 * `Http2Session` 'ping' and 'stream' events are public; only finding the sessions is not. So this
 * file reads grpc-js's private `http2Servers` map, and test/transport/http2-session-tap.test.ts
 * fails on a grpc-js upgrade that changes it (callers are told `false` and log it at runtime).
 */
import type { Http2SecureServer, Http2Server, ServerHttp2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

type Http2ServerLike = Http2Server | Http2SecureServer;
interface ServerEntry {
  sessions?: Set<ServerHttp2Session>;
}

/**
 * Calls `onSession` for every HTTP/2 session of `server`'s bound listeners: those open now and every
 * later one. Call after the last `bindAsync` resolved. False when grpc-js's layout is not the known one.
 */
export function tapHttp2Sessions(server: Server, onSession: (session: ServerHttp2Session) => void): boolean {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) return false;
  for (const [http2Server, entry] of servers as Map<Http2ServerLike, ServerEntry | undefined>) {
    if (typeof (http2Server as { on?: unknown }).on !== 'function') return false;
    http2Server.on('session', onSession);
    for (const session of entry?.sessions ?? []) onSession(session);
  }
  return true;
}
