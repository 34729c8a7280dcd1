/**
 * Keepalive ping-strike enforcement. grpc-js answers client pings but, unlike gRPC core, does not
 * police how often they come, so an abusive client could keep a connection busy with PINGs. This
 * counts pings closer together than `minIntervalMs` per HTTP/2 session and, past `maxStrikes`,
 * sends GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings") and closes the session, as gRPC core does.
 */
import type { Http2Session, Http2Server, Http2SecureServer } from 'node:http2';

const ENHANCE_YOUR_CALM = 0x0b;

export interface PingGuardOptions {
  minIntervalMs: number;
  maxStrikes: number;
  /** A connection was closed for too many pings. */
  onStrikeOut(): void;
}

export function guardSession(session: Http2Session, options: PingGuardOptions): void {
  if (options.minIntervalMs <= 0) return;
  let lastPing = 0;
  let strikes = 0;
  session.on('ping', () => {
    const now = Date.now();
    if (lastPing !== 0 && now - lastPing < options.minIntervalMs) strikes++;
    else strikes = 0;
    lastPing = now;
    if (strikes > options.maxStrikes && !session.closed && !session.destroyed) {
      options.onStrikeOut();
      session.goaway(ENHANCE_YOUR_CALM, 0, Buffer.from('too_many_pings'));
      session.close();
    }
  });
}

/**
 * The HTTP/2 servers grpc-js created for its listeners. grpc-js keeps them in a private map; when a
 * future version renames it this returns nothing and ping policing is skipped (logged by the caller).
 */
export function http2ServersOf(server: object): Array<Http2Server | Http2SecureServer> | undefined {
  const map = (server as { http2Servers?: Map<Http2Server | Http2SecureServer, unknown> }).http2Servers;
  return map instanceof Map ? [...map.keys()] : undefined;
}
