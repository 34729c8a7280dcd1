/**
 * At-least-once delivery: per-receiver queues of stored messages, ack timers, exponential backoff,
 * in-progress extensions, dead-lettering after `maxAttempts`, and offline-inbox limits.
 *
 * A receiver ("target") is an agent inbox (`a:<id>`, survives reconnects and restarts), a queue
 * group (`g:<key>`, any member may take it) or one anonymous session (`s:<id>`, gone when it
 * closes). Delivery tags are `<bootId>.<seq>.<attempt>.<secret>`, unique per attempt and per process
 * start, so a late ack for an earlier attempt can never ack a newer one; the secret (random, one per
 * message) makes them unguessable, and only the receiver's identity may settle one (`mayAck`).
 *
 * A message sent to a *service* is admitted to the chosen instance's inbox, but it belongs to the
 * service. An instance without a session is "stranded" from a moment on: at once when it left
 * (deregistered), `durable.rehomeAfterMs` after it merely lost its session or after a restart of
 * the gateway (time to come back and keep its own messages). From then on its waiting and unacked
 * service messages are re-homed to another reachable instance; those no instance can take yet are
 * retried on every sweep and whenever an inbox opens or the registry changes, so an instance id
 * that never comes back cannot hold a service message until it expires.
 */
import { gatewayError, TagSecrets, type AckItem, type AckOutcome, type Delivery, type MessageEnvelope } from '../../kernel';
import type { DurableStore, StoredMessage } from './durable-store';
import type { RouterOptions } from './schema';
import type { Session } from './session';

interface DurableEntry {
  readonly seq: number;
  /** Changes only when a service message is re-homed to another instance. */
  target: Target;
  record: StoredMessage;
  /** Sent to a service (subscription `service:<name>`): any instance of it may take the message. */
  readonly serviceAddressed: boolean;
  readonly bytes: number;
  attempts: number;
  extensions: number;
  state: 'committing' | 'ready' | 'inflight' | 'backoff';
  tag: string;
  /** Random tag suffix: only receivers ever see it, so nobody else can name this entry. */
  readonly secret: string;
  session?: Session;
  timer?: NodeJS.Timeout;
}

interface Target {
  readonly key: string;
  /** Entries waiting for a receiver, oldest first (redeliveries go back to the front). */
  readonly ready: DurableEntry[];
  inflight: number;
  count: number;
  bytes: number;
  /** Entries sent to a service (any state): only those can move to another instance. */
  serviceEntries: number;
}

export interface DurableHost {
  /** A live session that can take the target's next message, or undefined. */
  sessionFor(targetKey: string): Session | undefined;
  deliver(session: Session, delivery: Delivery): void;
  deadLetter(message: MessageEnvelope, reason: string, attempts: number): void;
  limitReached(limit: string, policy: string, detail: string): void;
  redelivered(): void;
  /** The inbox target (`a:<id>`) of a reachable instance for a service message, or undefined. */
  serviceTarget(message: MessageEnvelope): string | undefined;
  /** Service messages moved from an instance without a session to other instances. */
  rehomed(from: string, count: number): void;
}

/** Fixed per-message overhead counted against byte limits besides the payload. */
const ENTRY_OVERHEAD_BYTES = 256;

export class DurableDelivery {
  private readonly entries = new Map<number, DurableEntry>();
  private readonly targets = new Map<string, Target>();
  /**
   * Inbox targets without a session that may hold service messages → when those may move. Bounded
   * by the targets themselves (an entry goes with its target, or when its session is back).
   */
  private readonly stranded = new Map<string, number>();
  /** Inboxes whose agent deregistered while its session was still open (at most one per session). */
  private readonly leaving = new Set<string>();
  /** The inbox whose session is being closed: `sessionClosed` re-homes its messages in one pass. */
  private closing?: string;
  /** Set by `quiesce`/`stop`: nothing is delivered or moved while sessions are closed for shutdown. */
  private stopped = false;
  private nextSeq = 1;
  private totalBytes = 0;
  private readonly secrets = new TagSecrets();
  private store?: DurableStore;

  constructor(
    private readonly options: RouterOptions,
    private readonly bootId: string,
    private readonly host: DurableHost,
  ) {}

  get pending(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Rebuilds the queues from the store after a (possibly unclean) restart. */
  attach(store: DurableStore): void {
    this.store = store;
    const orphaned: DurableEntry[] = [];
    for (const { seq, record } of store.loadMessages()) {
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
      const entry = this.track(seq, record);
      entry.state = 'ready';
      entry.target.ready.push(entry);
      if (record.target.startsWith('s:')) orphaned.push(entry);
      // Its instance may never come back after the restart: it gets the grace period to.
      else if (entry.serviceAddressed) this.stranded.set(record.target, Date.now() + this.options.durable.rehomeAfterMs);
    }
    // An anonymous session cannot come back after a restart: its messages have no receiver left.
    for (const entry of orphaned) this.deadLetter(entry, 'subscriber-gone');
  }

  /**
   * Admits a message for a target, enforcing the global and offline-inbox limits, and queues its
   * write. Throws GW_RESOURCE_EXHAUSTED when a `reject` limit is hit. Call `commit` after a batch.
   */
  admit(targetKey: string, subscription: string, message: MessageEnvelope, now: number): DurableEntry {
    const store = this.store;
    if (!store) throw gatewayError('GW_UNAVAILABLE', 'the durable store is not open');
    if (this.entries.size >= this.options.durable.maxPending) {
      this.host.limitReached('router.durable.maxPending', 'reject', `${this.entries.size} durable messages pending`);
      throw gatewayError('GW_RESOURCE_EXHAUSTED', `too many durable messages pending (${this.options.durable.maxPending}); retry later`);
    }
    const bytes = message.payload.length + ENTRY_OVERHEAD_BYTES;
    const inbox = this.options.offlineInbox;
    const target = this.targets.get(targetKey);
    if (target && (target.count >= inbox.maxMessages || target.bytes + bytes > inbox.maxBytes)) {
      const which = target.count >= inbox.maxMessages ? 'maxMessages' : 'maxBytes';
      const oldest = target.ready[0];
      if (inbox.policy === 'drop-oldest' && oldest) {
        this.host.limitReached(`router.offlineInbox.${which}`, 'drop-oldest', targetKey);
        this.deadLetter(oldest, 'inbox-full');
      } else {
        this.host.limitReached(`router.offlineInbox.${which}`, 'reject', targetKey);
        throw gatewayError('GW_RESOURCE_EXHAUSTED', `the receiver's inbox is full (${which} ${which === 'maxMessages' ? inbox.maxMessages : inbox.maxBytes}); retry later`);
      }
    }
    const seq = this.nextSeq++;
    const record: StoredMessage = { target: targetKey, subscription, message, enqueuedAt: now };
    const entry = this.track(seq, record);
    void store.putMessage(seq, record);
    return entry;
  }

  /** Waits for the batch to be synced, then makes its entries deliverable. */
  async commit(entries: readonly DurableEntry[]): Promise<void> {
    await this.store!.synced();
    for (const entry of entries) {
      if (entry.state !== 'committing' || !this.entries.has(entry.seq)) continue;
      this.enqueue(entry, false);
    }
  }

  /** A receiver may have become reachable (session opened, agent registered, member joined). */
  reachable(targetKey: string): void {
    const target = this.targets.get(targetKey);
    if (target) this.pump(target);
  }

  /**
   * Instances appeared or changed (inbox opened, registration, state or health change, sweep):
   * service messages of instances stranded long enough get another chance to move.
   */
  retryStranded(now: number): void {
    if (this.stranded.size === 0 || this.stopped) return;
    for (const [key, movableAt] of [...this.stranded]) {
      if (this.host.sessionFor(key)) {
        this.stranded.delete(key);
        const target = this.targets.get(key);
        if (target) this.pump(target);
      } else if (movableAt <= now) {
        this.rehomeTarget(key);
      }
    }
  }

  get hasStranded(): boolean {
    return this.stranded.size > 0;
  }

  /** The agent left on purpose (deregistered): its service messages may move at once. */
  departed(agentId: string, now: number): void {
    const key = `a:${agentId}`;
    if (this.stopped) return;
    if (this.host.sessionFor(key)) {
      // An agent says goodbye before it hangs up: no grace period once it does.
      this.leaving.add(key);
      return;
    }
    if ((this.targets.get(key)?.serviceEntries ?? 0) === 0) return;
    this.stranded.set(key, now);
    this.rehomeTarget(key);
  }

  /** The agent registered again: it gets the grace period to open its session. */
  returned(agentId: string, now: number): void {
    const key = `a:${agentId}`;
    this.leaving.delete(key);
    if (this.stranded.has(key)) this.stranded.set(key, now + this.options.durable.rehomeAfterMs);
  }

  /** Keys of targets with messages waiting, for groups whose membership changed. */
  hasWaiting(targetKey: string): boolean {
    return (this.targets.get(targetKey)?.ready.length ?? 0) > 0;
  }

  inFlightFor(targetKey: string): number {
    return this.targets.get(targetKey)?.inflight ?? 0;
  }

  /**
   * `mayAck` says whether the caller may settle a delivery made to `receiver`; when it says no, the
   * answer is `unknown`, the same as for a tag that never existed.
   */
  ack(item: AckItem, mayAck?: (receiver: Session) => boolean): AckOutcome['result'] {
    const entry = this.entryForTag(item.deliveryTag);
    if (!entry) return 'unknown';
    if (entry.tag !== item.deliveryTag || entry.state !== 'inflight') return 'stale';
    if (mayAck !== undefined && entry.session !== undefined && !mayAck(entry.session)) return 'unknown';
    if (item.kind === 'ack') {
      this.finish(entry);
      this.pump(entry.target);
      return 'acked';
    }
    if (item.kind === 'in-progress') {
      if (entry.extensions >= this.options.durable.maxExtensions) {
        this.host.limitReached('router.durable.maxExtensions', 'ignore', entry.tag);
        return 'stale';
      }
      entry.extensions++;
      this.armAckTimer(entry);
      return 'extended';
    }
    this.release(entry, item.reason ? `nack: ${item.reason}` : 'nack', false);
    return 'requeued';
  }

  /** The session ended: its unacked deliveries go back at once (to another member if any). */
  sessionClosed(session: Session): void {
    // Released service messages are moved below, all at once, not one by one in `enqueue`.
    this.closing = session.agentId ? `a:${session.agentId}` : undefined;
    try {
      for (const tag of [...session.unacked]) {
        const entry = this.entryForTag(tag);
        if (entry && entry.tag === tag && entry.state === 'inflight') this.release(entry, 'receiver-closed', true);
      }
    } finally {
      this.closing = undefined;
    }
    session.unacked.clear();
    const own = this.targets.get(`s:${session.id}`);
    if (own) for (const entry of [...own.ready]) this.deadLetter(entry, 'subscriber-gone');
    const key = session.agentId ? `a:${session.agentId}` : undefined;
    if (key && !this.host.sessionFor(key)) {
      const left = this.leaving.delete(key);
      if (this.stopped || (this.targets.get(key)?.serviceEntries ?? 0) === 0) return;
      const now = Date.now();
      const movableAt = left ? now : this.stranded.get(key) ?? now + this.options.durable.rehomeAfterMs;
      this.stranded.set(key, movableAt);
      if (movableAt <= now) this.rehomeTarget(key);
    }
  }

  /** Dead-letters messages older than the inbox age limit or their own TTL. */
  sweep(now: number): void {
    for (const target of this.targets.values()) {
      while (target.ready.length > 0 && this.expired(target.ready[0]!, now)) {
        this.host.limitReached('router.offlineInbox.maxAgeMs', 'dead-letter', target.key);
        this.deadLetter(target.ready[0]!, 'expired');
      }
    }
  }

  /**
   * The gateway is shutting down: from now on nothing is delivered, moved or counted as an attempt
   * (sessions close one after another; handing their messages to the next one to close would only
   * spend attempts). Acks still count. Everything stays stored for the next start.
   */
  quiesce(): void {
    this.stopped = true;
  }

  stop(): void {
    this.stopped = true;
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
  }

  private expired(entry: DurableEntry, now: number): boolean {
    const ttl = entry.record.message.ttlMs;
    const age = now - entry.record.enqueuedAt;
    return age > this.options.offlineInbox.maxAgeMs || (ttl > 0 && age > ttl);
  }

  private track(seq: number, record: StoredMessage): DurableEntry {
    const target = this.targetFor(record.target);
    const bytes = record.message.payload.length + ENTRY_OVERHEAD_BYTES;
    const serviceAddressed = record.target.startsWith('a:') && record.subscription.startsWith('service:') && record.message.service !== '';
    const entry: DurableEntry = { seq, target, record, bytes, serviceAddressed, attempts: 0, extensions: 0, state: 'committing', tag: '', secret: this.secrets.next() };
    this.entries.set(seq, entry);
    target.count++;
    target.bytes += bytes;
    if (serviceAddressed) target.serviceEntries++;
    this.totalBytes += bytes;
    return entry;
  }

  private targetFor(key: string): Target {
    let target = this.targets.get(key);
    if (!target) {
      target = { key, ready: [], inflight: 0, count: 0, bytes: 0, serviceEntries: 0 };
      this.targets.set(key, target);
    }
    return target;
  }

  /**
   * Makes an entry deliverable and pumps its target. A service message whose instance has no
   * session goes to another reachable instance once that instance is stranded long enough.
   */
  private enqueue(entry: DurableEntry, front: boolean): void {
    entry.state = 'ready';
    if (entry.serviceAddressed && !this.stopped && entry.target.key !== this.closing && !this.host.sessionFor(entry.target.key)) {
      const key = entry.target.key;
      const now = Date.now();
      const movableAt = this.stranded.get(key) ?? now + this.options.durable.rehomeAfterMs;
      this.stranded.set(key, movableAt);
      const to = movableAt <= now ? this.host.serviceTarget(entry.record.message) : undefined;
      if (to !== undefined && to !== key) {
        this.move(entry, to);
        this.host.rehomed(key, 1);
      }
    }
    if (front) entry.target.ready.unshift(entry);
    else entry.target.ready.push(entry);
    this.pump(entry.target);
  }

  /** Moves the waiting service messages of a stranded inbox (no session) to reachable instances. */
  private rehomeTarget(key: string): void {
    const target = this.targets.get(key);
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
      const message = entry.record.message;
      const service = entry.serviceAddressed ? `${message.service}\u0000${message.versionRange}` : '';
      const to = entry.serviceAddressed && !unreachable.has(service) ? this.host.serviceTarget(message) : undefined;
      if (to === undefined || to === key) {
        if (entry.serviceAddressed) unreachable.add(service);
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
    // again (`enqueue` moves them then).
    if (!this.targets.has(key) || target.serviceEntries === 0) this.stranded.delete(key);
    for (const other of touched) this.pump(other);
  }

  /** Re-points an entry at another target; the stored record follows so a restart keeps the move. */
  private move(entry: DurableEntry, toKey: string): void {
    const from = entry.target;
    from.count--;
    from.bytes -= entry.bytes;
    from.serviceEntries--;
    if (from.count === 0) {
      this.targets.delete(from.key);
      this.stranded.delete(from.key);
    }
    // Admission limits were checked when the message was accepted; a move may take an inbox past
    // them (the global maxPending still bounds the total) rather than lose an accepted message.
    const to = this.targetFor(toKey);
    to.count++;
    to.bytes += entry.bytes;
    to.serviceEntries++;
    entry.target = to;
    entry.record = { ...entry.record, target: toKey };
    void this.store?.putMessage(entry.seq, entry.record);
  }

  private entryForTag(tag: string): DurableEntry | undefined {
    const first = tag.indexOf('.');
    const second = tag.indexOf('.', first + 1);
    const third = tag.indexOf('.', second + 1);
    if (first < 0 || second < 0 || third < 0 || tag.slice(0, first) !== this.bootId) return undefined;
    const entry = this.entries.get(Number(tag.slice(first + 1, second)));
    // A wrong secret is a guess: as unknown as a tag that never existed.
    return entry !== undefined && tag.length - third - 1 === entry.secret.length && tag.endsWith(entry.secret) ? entry : undefined;
  }

  private pump(target: Target): void {
    if (this.stopped) return;
    const maxInFlight = this.options.durable.maxInFlightPerReceiver;
    const now = Date.now();
    while (target.ready.length > 0 && target.inflight < maxInFlight) {
      const session = this.host.sessionFor(target.key);
      if (!session) return;
      const entry = target.ready.shift()!;
      if (this.expired(entry, now)) {
        this.deadLetter(entry, 'expired');
        continue;
      }
      entry.attempts++;
      if (entry.attempts > 1) this.host.redelivered();
      entry.extensions = 0;
      entry.state = 'inflight';
      entry.tag = `${this.bootId}.${entry.seq}.${entry.attempts}.${entry.secret}`;
      entry.session = session;
      target.inflight++;
      session.unacked.add(entry.tag);
      this.armAckTimer(entry);
      this.host.deliver(session, {
        message: entry.record.message,
        deliveryTag: entry.tag,
        attempt: entry.attempts,
        subscription: entry.record.subscription,
        ackDeadline: now + this.options.durable.ackTimeoutMs,
      });
    }
  }

  private armAckTimer(entry: DurableEntry): void {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.release(entry, 'ack-timeout', false), this.options.durable.ackTimeoutMs);
    entry.timer.unref?.();
  }

  /** Takes an in-flight delivery back: dead-letters it when attempts are used up, else requeues it. */
  private release(entry: DurableEntry, reason: string, immediately: boolean): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.session?.unacked.delete(entry.tag);
    entry.session = undefined;
    entry.target.inflight--;
    // No longer in flight: `finish` must not count it down again.
    entry.state = 'backoff';
    if (this.stopped) {
      // The gateway is stopping, the receiver did nothing wrong: kept as it is stored, for the next start.
      entry.state = 'ready';
      entry.target.ready.unshift(entry);
      return;
    }
    const durable = this.options.durable;
    if (entry.attempts >= durable.maxAttempts) {
      this.host.limitReached('router.durable.maxAttempts', 'dead-letter', entry.tag);
      this.deadLetter(entry, reason);
      this.pump(entry.target);
      return;
    }
    if (immediately) {
      this.enqueue(entry, true);
      return;
    }
    entry.state = 'backoff';
    const delay = Math.min(durable.backoffMaxMs, durable.backoffBaseMs * 2 ** (entry.attempts - 1));
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      this.enqueue(entry, true);
    }, delay);
    entry.timer.unref?.();
    this.pump(entry.target);
  }

  private deadLetter(entry: DurableEntry, reason: string): void {
    this.finish(entry);
    this.host.deadLetter(entry.record.message, reason, entry.attempts);
  }

  /** Forgets an entry everywhere (acked or dead-lettered). */
  private finish(entry: DurableEntry): void {
    if (!this.entries.delete(entry.seq)) return;
    clearTimeout(entry.timer);
    const target = entry.target;
    if (entry.state === 'inflight') {
      target.inflight--;
      entry.session?.unacked.delete(entry.tag);
    } else if (entry.state === 'ready') {
      const index = target.ready.indexOf(entry);
      if (index >= 0) target.ready.splice(index, 1);
    }
    target.count--;
    target.bytes -= entry.bytes;
    if (entry.serviceAddressed) target.serviceEntries--;
    this.totalBytes -= entry.bytes;
    if (target.count === 0) {
      this.targets.delete(target.key);
      this.stranded.delete(target.key);
    }
    void this.store?.removeMessage(entry.seq);
  }
}

export type { DurableEntry };
