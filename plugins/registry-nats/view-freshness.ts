/**
 * Whether this gateway's copy of the cluster view is current. It goes stale for named reasons
 * (our NATS link is down, the KV watch is behind or being recreated, JetStream does not answer);
 * the view is kept and served while stale, and is fresh again once every reason has cleared. Each
 * change is logged once with how long the view was stale, so an operator sees a failover as two
 * lines, and `registry_nats_view_stale` says whether it is stale now.
 */
import type { Logger } from 'pino';
import type { RegistryViewStatus } from '../../kernel';

export type StaleReason = 'nats-disconnected' | 'watch-resuming' | 'jetstream-unreachable';

export class ViewFreshness {
  private readonly reasons = new Set<StaleReason>();
  private staleSince = 0;

  constructor(
    private readonly logger: Logger,
    private readonly onStale: () => void,
  ) {}

  get stale(): boolean {
    return this.reasons.size > 0;
  }

  /** Epoch ms the view went stale, 0 while fresh. */
  get since(): number {
    return this.staleSince;
  }

  status(now: number): RegistryViewStatus {
    return { stale: this.stale, staleForMs: this.stale ? now - this.staleSince : 0, reasons: [...this.reasons] };
  }

  has(reason: StaleReason): boolean {
    return this.reasons.has(reason);
  }

  mark(reason: StaleReason, now: number): void {
    if (this.reasons.has(reason)) return;
    const wasFresh = this.reasons.size === 0;
    this.reasons.add(reason);
    if (!wasFresh) return;
    this.staleSince = now;
    this.onStale();
    this.logger.warn({ reason }, 'registry view is stale: serving the last known agents until NATS catches up');
  }

  clear(reason: StaleReason, now: number): void {
    if (!this.reasons.delete(reason) || this.reasons.size > 0) return;
    const staleMs = now - this.staleSince;
    this.staleSince = 0;
    this.logger.info({ reason, staleMs }, 'registry view is current again');
  }
}
