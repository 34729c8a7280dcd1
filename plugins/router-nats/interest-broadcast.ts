/**
 * Sends this gateway's interest snapshot (which patterns and groups it has subscribers for) to the
 * others, for their receiver counts: 20 ms after a change (coalescing bursts of subscribes), on
 * every housekeeping tick when it changed or `interestIntervalMs` elapsed, and at once when asked
 * or after a reconnect.
 */
import type { NatsConnection } from 'nats';
import type { InterestMap } from './interest-map';

export class InterestBroadcast {
  private timer?: NodeJS.Timeout;
  private sentVersion = -1;
  private lastSentAt = 0;

  constructor(
    private readonly interest: Pick<InterestMap, 'localVersion' | 'snapshot'>,
    private readonly subject: string,
    private readonly intervalMs: number,
    private readonly connection: () => NatsConnection | undefined,
  ) {}

  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.publish(false);
    }, 20);
    this.timer.unref();
  }

  /** Sends our snapshot when it changed (at most once per tick) or the interval elapsed. */
  publish(force: boolean): void {
    const nc = this.connection();
    if (!nc || nc.isClosed()) return;
    const now = Date.now();
    if (!force && this.sentVersion === this.interest.localVersion && now - this.lastSentAt < this.intervalMs) return;
    this.sentVersion = this.interest.localVersion;
    this.lastSentAt = now;
    nc.publish(this.subject, this.interest.snapshot());
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
