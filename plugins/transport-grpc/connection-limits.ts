/**
 * Per-peer connection limit (`quotas.connectionsPerPeer`): HTTP/2 connections open at once from one
 * client address (an IPv4 address, an IPv6 /64 — see `clientAddress`). A connection past the limit
 * is not dropped blindly: its calls are refused with GW_RESOURCE_EXHAUSTED naming the quota, so
 * the client learns why, and the connection is closed right after (or after `REFUSED_GRACE_MS`
 * without a call). Unix socket connections carry no address and are not counted: file permissions
 * (`socketMode`) decide who may open them, and the per-identity quotas still apply.
 */
import type { Http2Session } from 'node:http2';
import { canonicalPeer, clientAddress, type GatewayError } from '../../kernel';

/** How long a connection over the limit may stay open waiting for the call that tells it why. */
const REFUSED_GRACE_MS = 5000;
/** Over-limit connections waiting for their refusal; past this they are closed at once. */
const MAX_REFUSED = 10_000;

export class ConnectionLimits {
  private readonly open = new Map<string, number>();
  /** Canonical peer (`ipv4:1.2.3.4:5678`) → its over-limit session, until it is closed. */
  private readonly refused = new Map<string, Http2Session>();

  constructor(
    private readonly limit: number,
    private readonly refusal: (address: string, open: number) => GatewayError,
  ) {}

  /** Counts a new HTTP/2 session (from the server's `session` event). */
  track(session: Http2Session): void {
    if (this.limit <= 0) return;
    const socket = session.socket;
    if (!socket?.remoteAddress) return;
    const peer = canonicalPeer(`${socket.remoteAddress}:${socket.remotePort ?? 0}`);
    const address = clientAddress(peer);
    const count = (this.open.get(address) ?? 0) + 1;
    this.open.set(address, count);
    session.once('close', () => {
      const left = (this.open.get(address) ?? 1) - 1;
      if (left <= 0) this.open.delete(address);
      else this.open.set(address, left);
      if (this.refused.get(peer) === session) this.refused.delete(peer);
    });
    if (count <= this.limit) return;
    if (this.refused.size >= MAX_REFUSED) {
      session.destroy();
      return;
    }
    this.refused.set(peer, session);
    const timer = setTimeout(() => session.close(), REFUSED_GRACE_MS);
    timer.unref();
    session.once('close', () => clearTimeout(timer));
  }

  /**
   * Throws for a call on a connection over the limit, and closes that connection gracefully
   * (GOAWAY: the refusal is still written, nothing new is accepted on it).
   */
  admit(peer: string): void {
    if (this.refused.size === 0) return;
    const session = this.refused.get(peer);
    if (!session) return;
    const address = clientAddress(peer);
    const error = this.refusal(address, this.open.get(address) ?? 0);
    setImmediate(() => {
      if (!session.closed && !session.destroyed) session.close();
    });
    throw error;
  }

  /** Open connections counted for an address (tests and metrics). */
  openFrom(address: string): number {
    return this.open.get(address) ?? 0;
  }
}
