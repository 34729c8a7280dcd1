/**
 * One subscriber session (one Subscribe stream): its bounded event queue drained into the sink,
 * its subscriptions, and the durable deliveries it holds unacked.
 */
import { gatewayError, SubscriberQueue, type CallerContext, type EventSink, type GatewayError, type OutboundEvent, type RouterSession, type SubscriptionSpec } from '../../kernel';
import type { OverflowPolicy } from './schema';

export interface SessionHost {
  subscribe(session: Session, spec: SubscriptionSpec): void;
  unsubscribe(session: Session, pattern: string, queueGroup?: string): void;
  closed(session: Session, reason: string): void;
  dropped(session: Session, event: OutboundEvent, policy: OverflowPolicy): void;
  overflowed(session: Session, policy: OverflowPolicy): void;
}

export class Session implements RouterSession {
  readonly agentId?: string;
  readonly caller: CallerContext;
  /** `pattern\u0000group` → what tears the subscription down (`explicit`: unsubscribed, not disconnected). */
  readonly subscriptions = new Map<string, (explicit: boolean) => void>();
  /** Tags of durable deliveries handed to this session and not yet settled. */
  readonly unacked = new Set<string>();
  /** Set by the router: stops the session's inbox consumers. */
  teardown?: () => void;
  private readonly queue: SubscriberQueue;
  private flushScheduled = false;
  private blocked = false;
  private overflowing = false;
  private closedReason?: string;
  private readonly flushBound = () => this.flush();

  constructor(
    readonly id: string,
    private readonly sink: EventSink,
    options: { agentId?: string; caller: CallerContext },
    private readonly settings: { maxEvents: number; policy: OverflowPolicy; maxBatch: number },
    private readonly host: SessionHost,
  ) {
    this.agentId = options.agentId || undefined;
    this.caller = options.caller;
    this.queue = new SubscriberQueue(settings.maxEvents);
    sink.onWritable(() => {
      this.blocked = false;
      this.flush();
    });
  }

  get isClosed(): boolean {
    return this.closedReason !== undefined;
  }

  get full(): boolean {
    return this.queue.full;
  }

  get queued(): number {
    return this.queue.length;
  }

  subscribe(spec: SubscriptionSpec): void {
    this.host.subscribe(this, spec);
  }

  unsubscribe(pattern: string, queueGroup?: string): void {
    this.host.unsubscribe(this, pattern, queueGroup);
  }

  close(reason: string): void {
    this.shutdown(reason);
  }

  fail(error: GatewayError, reason: string): void {
    if (this.isClosed) return;
    this.shutdown(reason);
    this.sink.close(error);
  }

  push(event: OutboundEvent): boolean {
    if (this.closedReason !== undefined) return false;
    if (this.full && !this.blocked) this.flush();
    if (this.full) {
      const policy = this.settings.policy;
      if (!this.overflowing) {
        this.overflowing = true;
        this.host.overflowed(this, policy);
      }
      if (policy === 'disconnect') {
        this.host.dropped(this, event, policy);
        this.fail(gatewayError('GW_RESOURCE_EXHAUSTED', `subscriber queue full (${this.settings.maxEvents} events): slow consumer disconnected`), 'slow-consumer');
        return false;
      }
      if (policy === 'drop-newest') {
        this.host.dropped(this, event, policy);
        return false;
      }
      this.host.dropped(this, this.queue.shift()!, policy);
    }
    this.queue.push(event);
    if (!this.flushScheduled && !this.blocked) {
      this.flushScheduled = true;
      queueMicrotask(this.flushBound);
    }
    return true;
  }

  private flush(): void {
    this.flushScheduled = false;
    while (!this.blocked && this.queue.length > 0 && this.closedReason === undefined) {
      const batch = this.queue.takeBatch(this.settings.maxBatch);
      if (!this.sink.write(batch)) this.blocked = true;
    }
    if (this.overflowing && this.queue.length <= this.settings.maxEvents / 2) this.overflowing = false;
  }

  private shutdown(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.queue.clear();
    this.host.closed(this, reason);
  }
}
