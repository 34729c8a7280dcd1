/**
 * Service messages follow the service. A message sent to a *service* is admitted to the chosen
 * instance's inbox, but it belongs to the service. An instance without a session is "stranded"
 * from a moment on: at once when it left (deregistered), `durable.rehomeAfterMs` after it merely
 * lost its session or after a restart of the gateway (time to come back and keep its own messages).
 * From then on its waiting and unacked service messages are re-homed to another reachable instance;
 * those no instance can take yet are retried on every sweep and whenever an inbox opens or the
 * registry changes, so an instance id that never comes back cannot hold a service message until
 * it expires.
 */
import type { DurableEntry, Target } from './durable-entry';
import type { IndexRecord } from './durable-store';
import type { RouterOptions } from './schema';
import type { Session } from './session';

export interface RehomingHost {
  sessionFor(targetKey: string): Session | undefined;
  /** The inbox target (`a:<id>`) of a reachable instance for a service message, or undefined. */
  serviceTarget(service: NonNullable<IndexRecord['service']>): string | undefined;
  /** Service messages moved from an instance without a session to other instances. */
  rehomed(from: string, count: number): void;
}

/** What re-homing needs of the delivery queues. */
export interface RehomingQueues {
  readonly targets: ReadonlyMap<string, Target>;
  targetFor(key: string): Target;
  forget(target: Target): void;
  pump(target: Target): void;
  /** Stores the entry's new target, so a restart keeps the move. */
  persistMove(entry: DurableEntry): void;
  stopped(): boolean;
}

export class ServiceRehoming {
  /**
   * Inbox targets without a session that may hold service messages → when those may move. Bounded
   * by the targets themselves (an entry goes with its target, or when its session is back).
   */
  private readonly stranded = new Map<string, number>();
  /** Inboxes whose agent deregistered while its session was still open (at most one per session). */
  private readonly leaving = new Set<string>();
  /** The inbox whose session is being closed: its messages are re-homed in one pass afterwards. */
  private closingKey?: string;

  constructor(
    private readonly options: RouterOptions,
    private readonly host: RehomingHost,
    private readonly queues: RehomingQueues,
  ) {}

  get hasStranded(): boolean {
    return this.stranded.size > 0;
  }

  strand(key: string, movableAt: number): void {
    this.stranded.set(key, movableAt);
  }

  forget(key: string): void {
    this.stranded.delete(key);
  }

  /** Runs `release` (the closing session's deliveries going back) without moving them one by one. */
  closing(key: string | undefined, release: () => void): void {
    this.closingKey = key;
    try {
      release();
    } finally {
      this.closingKey = undefined;
    }
  }

  /** The inbox `key` has no session any more. */
  lostSession(key: string, now: number): void {
    const left = this.leaving.delete(key);
    if (this.queues.stopped() || (this.queues.targets.get(key)?.serviceEntries ?? 0) === 0) return;
    const movableAt = left ? now : (this.stranded.get(key) ?? now + this.options.durable.rehomeAfterMs);
    this.stranded.set(key, movableAt);
    if (movableAt <= now) this.rehomeTarget(key);
  }

  /**
   * Instances appeared or changed (inbox opened, registration, state or health change, sweep):
   * service messages of instances stranded long enough get another chance to move.
   */
  retryStranded(now: number): void {
    if (this.stranded.size === 0 || this.queues.stopped()) return;
    for (const [key, movableAt] of [...this.stranded]) {
      if (this.host.sessionFor(key)) {
        this.stranded.delete(key);
        const target = this.queues.targets.get(key);
        if (target) this.queues.pump(target);
      } else if (movableAt <= now) {
        this.rehomeTarget(key);
      }
    }
  }

  /** The agent left on purpose (deregistered): its service messages may move at once. */
  departed(agentId: string, now: number): void {
    const key = `a:${agentId}`;
    if (this.queues.stopped()) return;
    if (this.host.sessionFor(key)) {
      // An agent says goodbye before it hangs up: no grace period once it does.
      this.leaving.add(key);
      return;
    }
    if ((this.queues.targets.get(key)?.serviceEntries ?? 0) === 0) return;
    this.stranded.set(key, now);
    this.rehomeTarget(key);
  }

  /** The agent registered again: it gets the grace period to open its session. */
  returned(agentId: string, now: number): void {
    const key = `a:${agentId}`;
    this.leaving.delete(key);
    if (this.stranded.has(key)) this.stranded.set(key, now + this.options.durable.rehomeAfterMs);
  }

  /** A service message is queued again: to another instance if its own has been gone long enough. */
  beforeEnqueue(entry: DurableEntry, now: number): void {
    const key = entry.target.key;
    if (this.queues.stopped() || key === this.closingKey || this.host.sessionFor(key)) return;
    const movableAt = this.stranded.get(key) ?? now + this.options.durable.rehomeAfterMs;
    this.stranded.set(key, movableAt);
    const to = movableAt <= now ? this.host.serviceTarget(entry.index.service!) : undefined;
    if (to !== undefined && to !== key) {
      this.move(entry, to);
      this.host.rehomed(key, 1);
    }
  }

  /** Moves the waiting service messages of a stranded inbox (no session) to reachable instances. */
  private rehomeTarget(key: string): void {
    const target = this.queues.targets.get(key);
    if (!target) {
      this.stranded.delete(key);
      return;
    }
    let moved = 0;
    const kept: DurableEntry[] = [];
    const touched = new Set<Target>();
    // A service (and range) with no reachable instance now has none for the rest of this pass.
    const unreachable = new Set<string>();
    for (const entry of target.ready) {
      const service = entry.index.service;
      const name = service ? `${service.service}\u0000${service.versionRange}` : '';
      const to = service && !unreachable.has(name) ? this.host.serviceTarget(service) : undefined;
      if (to === undefined || to === key) {
        if (service) unreachable.add(name);
        kept.push(entry);
        continue;
      }
      this.move(entry, to);
      entry.target.ready.push(entry);
      touched.add(entry.target);
      moved++;
    }
    if (moved > 0) {
      // Not splice(...kept): a spread of a long inbox would overflow the stack.
      target.ready.length = 0;
      for (const entry of kept) target.ready.push(entry);
      this.host.rehomed(key, moved);
    }
    // Kept while service messages wait here, or are in flight / backing off and will be queued
    // again (`beforeEnqueue` moves them then).
    if (!this.queues.targets.has(key) || target.serviceEntries === 0) this.stranded.delete(key);
    for (const other of touched) this.queues.pump(other);
  }

  /** Re-points an entry at another target; the stored record follows so a restart keeps the move. */
  private move(entry: DurableEntry, toKey: string): void {
    const from = entry.target;
    from.count--;
    from.bytes -= entry.index.cost;
    from.serviceEntries--;
    if (from.count === 0) this.queues.forget(from);
    // Admission limits were checked when the message was accepted; a move may take an inbox past
    // them (the global maxPending still bounds the total) rather than lose an accepted message.
    const to = this.queues.targetFor(toKey);
    to.count++;
    to.bytes += entry.index.cost;
    to.serviceEntries++;
    entry.target = to;
    entry.index = { ...entry.index, target: toKey };
    this.queues.persistMove(entry);
  }
}
