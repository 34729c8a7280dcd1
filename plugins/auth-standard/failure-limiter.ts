/**
 * Failed authentications per peer address: after `maxFailures` within `windowMs` the address is
 * locked out for `lockoutMs` and every call from it is refused without checking credentials (so a
 * credential-guessing client cannot use the gateway as a signature-checking oracle).
 *
 * The map is keyed by client input (the address), so it is bounded: at `maxPeers` the least
 * recently failed address is forgotten (`limitReached`, policy `evict-oldest`).
 */
import type { FailureLimitOptions } from './schema';

interface PeerFailures {
  windowStart: number;
  failures: number;
  lockedUntil: number;
}

/** `ipv4:10.0.0.1:51234` → `ipv4:10.0.0.1`; `ipv6:[::1]:5000` → `ipv6:[::1]`; `unix:...` stays. */
export function peerAddress(peer: string): string {
  if (peer.startsWith('ipv6:[')) {
    const end = peer.indexOf(']');
    return end === -1 ? peer : peer.slice(0, end + 1);
  }
  if (peer.startsWith('ipv4:')) {
    const colon = peer.lastIndexOf(':');
    return colon > 4 ? peer.slice(0, colon) : peer;
  }
  return peer;
}

export class FailureLimiter {
  private readonly peers = new Map<string, PeerFailures>();

  constructor(
    private readonly options: FailureLimitOptions,
    private readonly onEvict: () => void,
    private readonly onLockout: (address: string, until: number) => void,
  ) {}

  size(): number {
    return this.peers.size;
  }

  /** Epoch ms until which the address is locked out, or 0. */
  lockedUntil(address: string, now = Date.now()): number {
    const entry = this.peers.get(address);
    if (!entry || entry.lockedUntil <= now) return 0;
    return entry.lockedUntil;
  }

  recordFailure(address: string, now = Date.now()): void {
    let entry = this.peers.get(address);
    if (entry) {
      this.peers.delete(address); // re-insert: Map order is the eviction order
    } else {
      if (this.peers.size >= this.options.maxPeers) {
        const oldest = this.peers.keys().next().value as string;
        this.peers.delete(oldest);
        this.onEvict();
      }
      entry = { windowStart: now, failures: 0, lockedUntil: 0 };
    }
    if (now - entry.windowStart >= this.options.windowMs) {
      entry.windowStart = now;
      entry.failures = 0;
    }
    entry.failures++;
    if (entry.failures >= this.options.maxFailures && entry.lockedUntil <= now) {
      entry.lockedUntil = now + this.options.lockoutMs;
      entry.failures = 0;
      entry.windowStart = entry.lockedUntil;
      this.onLockout(address, entry.lockedUntil);
    }
    this.peers.set(address, entry);
  }

  /** A success clears the address's record: a client that fixed its credentials starts clean. */
  recordSuccess(address: string): void {
    this.peers.delete(address);
  }

  /** Drops records whose window and lockout have passed (called periodically). */
  sweep(now = Date.now()): void {
    for (const [address, entry] of this.peers) {
      if (entry.lockedUntil <= now && now - entry.windowStart >= this.options.windowMs) this.peers.delete(address);
    }
  }
}
