/**
 * Applies the ping policy (ping-policy.ts) to one HTTP/2 session: counts its open streams, sees
 * every ping it receives, and past the strikes sends GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings") and
 * closes it, as gRPC core servers do (clients of gRPC core back their keepalive off on that reply).
 */
import type { ServerHttp2Session } from 'node:http2';
import { PingStrikes, type PingPolicyOptions } from './ping-policy';

const ENHANCE_YOUR_CALM = 0x0b;
const TOO_MANY_PINGS = Buffer.from('too_many_pings');

export interface PingGuardOptions extends PingPolicyOptions {
  /** A connection was closed for too many pings. */
  onStrikeOut(): void;
}

export function guardSession(session: ServerHttp2Session, options: PingGuardOptions): void {
  const policy = new PingStrikes(options);
  if (!policy.enabled) return;
  // One listener per session, not a closure (and a `once` wrapper) per stream: this runs per call.
  // A stream closes once, so a plain `on` is enough.
  const streamClosed = (): void => policy.streamClosed();
  session.on('stream', (stream) => {
    policy.streamOpened();
    stream.on('close', streamClosed);
  });
  session.on('ping', () => {
    if (!policy.pingReceived(Date.now()) || session.closed || session.destroyed) return;
    options.onStrikeOut();
    session.goaway(ENHANCE_YOUR_CALM, 0, TOO_MANY_PINGS);
    session.close();
  });
}
