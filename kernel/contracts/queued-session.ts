/**
 * A router's subscriber session (one Subscribe stream), shared by every router: its
 * subscriptions, its bounded event queue drained into the transport's sink, the durable
 * deliveries it holds unacked, and publisher backpressure (waiting for room past the high-water
 * mark). What to do with subscriptions, closes and drops is the router's, through the host.
 */
import { gatewayError, type GatewayError } from '../errors';
import type { CallerContext, OutboundEvent } from './message';
import type { EventSink, RouterSession, SubscriptionSpec } from './router';
import type { OverflowPolicy } from './router-options';
import { SubscriberQueue } from './subscriber-queue';

/** What a session needs from its router; keeps the session free of routing logic. */
export interface QueuedSessionHost {
  subscribe(session: QueuedSession<unknown>, spec: SubscriptionSpec): void;
  unsubscribe(session: QueuedSession<unknown>, pattern: string, queueGroup?: string): void;
  /** Called once, after the session stopped taking events. */
  closed(session: QueuedSession<unknown>, reason: string): void;
  /** An event was discarded by the overflow policy. */
  dropped(session: QueuedSession<unknown>, event: OutboundEvent, policy: OverflowPolicy): void;
  /** The queue hit its limit (once per episode: until it drains below half). */
  overflowed(session: QueuedSession<unknown>, policy: OverflowPolicy): void;
}

export interface QueueSettings {
  maxEvents: number;
  policy: OverflowPolicy;
  maxBatch: number;
}

export class QueuedSession<Subscription = SubscriptionSpec> implements RouterSession {
  readonly agentId?: string;
  readonly caller: CallerContext;
  /**
   * `pattern\u0000group` (subscriptionKey) → what the router keeps per subscription (the spec, or
   * what tears it down), for unsubscribe-on-close and the per-session limit.
   */
  readonly subscriptions = new Map<string, Subscription>();
  /** Durable deliveries written to this session and not yet acked, by delivery tag. */
  readonly unacked = new Set<string>();
  /**
   * Set when a publisher gave up waiting for this session (`publisherWaitMs` passed): publishers
   * stop waiting for it, and its queue's policy applies, until it drains to its low-water mark.
   */
  stalled = false;
  /** The router's routing round that last counted this session as over its high-water mark. */
  pressureRound = 0;
  private readonly queue: SubscriberQueue;
  /** Deliveries per sink write: the router's `maxBatch`, or less when the subscriber asked. */
  private readonly maxBatch: number;
  private readonly highWater: number;
  private readonly lowWater: number;
  /** Publishers waiting for room: at most one per pipelining publish stream feeding this session. */
  private roomWaiters?: Array<() => void>;
  private flushScheduled = false;
  private blocked = false;
  private overflowing = false;
  private closedReason?: string;
  private readonly flushBound = () => this.flush();

  constructor(
    readonly id: string,
    private readonly sink: EventSink,
    options: { agentId?: string; caller: CallerContext; maxBatch?: number },
    private readonly settings: QueueSettings,
    private readonly host: QueuedSessionHost,
  ) {
    this.agentId = options.agentId || undefined;
    this.caller = options.caller;
    const asked = options.maxBatch ?? 0;
    this.maxBatch = asked > 0 ? Math.min(asked, settings.maxBatch) : settings.maxBatch;
    this.queue = new SubscriberQueue(settings.maxEvents);
    // Publishers wait past half full and resume at a quarter, so a drain lets a burst through.
    this.highWater = Math.max(1, Math.ceil(settings.maxEvents / 2));
    this.lowWater = Math.floor(settings.maxEvents / 4);
    // The sink calls this every time its buffer drains (transport contract).
    sink.onWritable(() => {
      this.blocked = false;
      this.flush();
    });
  }

  get isClosed(): boolean {
    return this.closedReason !== undefined;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** True when the next event would trigger the overflow policy. */
  get full(): boolean {
    return this.queue.full;
  }

  /** Behind: its stream reported full and it holds half its queue or more. */
  get overHighWater(): boolean {
    return this.blocked && this.queue.length >= this.highWater;
  }

  get hasRoom(): boolean {
    return this.queue.length <= this.lowWater;
  }

  /** Calls `listener` once the queue is at its low-water mark or the session closed. */
  whenRoom(listener: () => void): void {
    if (this.closedReason !== undefined || this.hasRoom) {
      listener();
      return;
    }
    (this.roomWaiters ??= []).push(listener);
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

  /** Closes with an error the client sees (slow consumer, gateway stopping). */
  fail(error: GatewayError, reason: string): void {
    if (this.isClosed) return;
    this.shutdown(reason);
    this.sink.close(error);
  }

  /** Queues an event; returns false when it was not queued (closed, or dropped by the policy). */
  push(event: OutboundEvent): boolean {
    if (this.closedReason !== undefined) return false;
    // A stream with room is not slow: hand it what is queued now rather than applying the policy.
    if (this.queue.full && !this.blocked) this.flush();
    if (this.queue.full) {
      const policy = this.settings.policy;
      if (!this.overflowing) {
        this.overflowing = true;
        this.host.overflowed(this, policy);
      }
      if (policy === 'disconnect') {
        this.host.dropped(this, event, policy);
        this.fail(
          gatewayError('GW_RESOURCE_EXHAUSTED', `subscriber queue full (${this.settings.maxEvents} events): slow consumer disconnected`),
          'slow-consumer',
        );
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
      const batch = this.queue.takeBatch(this.maxBatch);
      if (!this.sink.write(batch)) this.blocked = true;
    }
    if (this.overflowing && this.queue.length <= this.settings.maxEvents / 2) this.overflowing = false;
    if ((this.roomWaiters !== undefined || this.stalled) && this.hasRoom) this.roomFound();
  }

  private roomFound(): void {
    this.stalled = false;
    const waiters = this.roomWaiters;
    this.roomWaiters = undefined;
    if (waiters) for (const listener of waiters) listener();
  }

  private shutdown(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.queue.clear();
    this.roomFound();
    this.host.closed(this, reason);
  }
}
