/**
 * Ping policing the way gRPC core servers do it (chttp2's ping abuse policy), per HTTP/2 connection.
 *
 * gRPC core clients send pings alongside data on their own: BDP pings to size flow-control windows
 * and, when configured, keepalive pings. None of those may cost a strike, or a default grpcio
 * channel is sent GOAWAY on a busy connection. So:
 * - a ping while a stream is open is never a strike;
 * - stream activity (a stream opening or closing: headers and data flowed) forgives all strikes
 *   and makes the next ping free, as core does when it writes data or headers;
 * - only a ping on an idle connection sooner than `minIntervalMs` after the previous one is a
 *   strike, and more than `maxStrikes` of them in a row end the connection.
 * `minIntervalMs` 0 or `maxStrikes` 0 turns policing off (core: max_ping_strikes 0).
 */
export interface PingPolicyOptions {
  minIntervalMs: number;
  maxStrikes: number;
}

export class PingStrikes {
  private lastPingAt = Number.NEGATIVE_INFINITY;
  private strikes = 0;
  private openStreams = 0;

  constructor(private readonly options: PingPolicyOptions) {}

  get enabled(): boolean {
    return this.options.minIntervalMs > 0 && this.options.maxStrikes > 0;
  }

  get strikeCount(): number {
    return this.strikes;
  }

  streamOpened(): void {
    this.openStreams++;
    this.forgive();
  }

  streamClosed(): void {
    if (this.openStreams > 0) this.openStreams--;
    this.forgive();
  }

  /** Records a received (non-ACK) ping; true when this one strikes the connection out. */
  pingReceived(now: number): boolean {
    if (!this.enabled) return false;
    if (this.openStreams > 0) {
      this.forgive();
      return false;
    }
    const tooSoon = now - this.lastPingAt < this.options.minIntervalMs;
    this.lastPingAt = now;
    if (!tooSoon) return false;
    this.strikes++;
    return this.strikes > this.options.maxStrikes;
  }

  private forgive(): void {
    this.strikes = 0;
    this.lastPingAt = Number.NEGATIVE_INFINITY;
  }
}
