/**
 * Failed authentications per peer address: after `maxFailures` within `windowMs` the address is
 * locked out for `lockoutMs` and every call from it is refused without checking credentials (so a
 * credential-guessing client cannot use the gateway as a signature-checking oracle).
 *
 * The map is keyed by client input (the address), so it is bounded: at `maxPeers` the least
 * recently failed address is forgotten (`limitReached`, policy `evict-oldest`).
 */
import { clientAddress } from '../../kernel';
import type { FailureLimitOptions } from './schema';

/** Read once: the kernel's re-exports are getters (three deep for this one), and every call asks. */
const clientAddressOf = clientAddress;

interface PeerFailures {
  windowStart: number;
  failures: number;
  lockedUntil: number;
}

/**
 * The client address failures are counted for: the peer without its port (a new connection has a
 * new port, so keying on the whole peer would let a client reset its count by reconnecting), an
 * IPv6 /64 as one address, every Unix socket client as `unix:`. See `clientAddress`.
 */
export function peerAddress(peer: string): string {
  return clientAddressOf(peer);
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
  lockedUntil(address: string, now?: number): number {
    // Every call asks; almost always nobody has failed: no lookup, no clock read then.
    if (this.peers.size === 0) return 0;
    const entry = this.peers.get(address);
    now ??= Date.now();
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
    if (this.peers.size !== 0) this.peers.delete(address);
  }

  /** Drops records whose window and lockout have passed (called periodically). */
  sweep(now = Date.now()): void {
    for (const [address, entry] of this.peers) {
      if (entry.lockedUntil <= now && now - entry.windowStart >= this.options.windowMs) this.peers.delete(address);
    }
  }
}
