/**
 * At-least-once delivery: per-receiver queues of stored messages, ack timers, exponential backoff,
 * in-progress extensions, dead-lettering after `maxAttempts`, and the store and backlog limits.
 *
 * A receiver ("target") is an agent inbox (`a:<id>`, survives reconnects and restarts), a queue
 * group (`g:<key>`, any member may take it, waits for members after a restart) or one anonymous
 * session (`s:<id>`, gone when it closes). Delivery tags are `<bootId>.<seq>.<attempt>.<secret>`,
 * unique per attempt and per process start, so a late ack for an earlier attempt can never ack a
 * newer one; the secret (random, one per message) makes them unguessable, and only the receiver's
 * identity may settle one (`mayAck`).
 *
 * Memory holds the index of the backlog only (`durable-entry.ts`); a payload is read from the
 * store when its message is delivered or dead-lettered. Re-homing of service messages whose
 * instance has no session lives in `service-rehoming.ts`; hung group members in `member-pause.ts`.
 */
import { gatewayError, TagSecrets, type AckItem, type AckOutcome, type Delivery, type MessageEnvelope } from '../../kernel';
import { storedCost, type DurableEntry, type Target } from './durable-entry';
import { indexOf, type DurableStore, type IndexRecord, type StoredMessage } from './durable-store';
import { MemberPause } from './member-pause';
import type { RouterOptions } from './schema';
import { ServiceRehoming, type RehomingHost } from './service-rehoming';
import type { Session } from './session';

export interface DurableHost extends RehomingHost {
  /** A live session that can take the target's next message (preferring one that is not `avoid`). */
  sessionFor(targetKey: string, avoid?: Session): Session | undefined;
  deliver(session: Session, delivery: Delivery): void;
  deadLetter(message: MessageEnvelope, reason: string, attempts: number): void;
  limitReached(limit: string, policy: string, detail: string): void;
  redelivered(): void;
  /** A message with this id was acked by its receiver (`delivered`) or dead-lettered. */
  settled(id: string, outcome: 'delivered' | 'dead-lettered'): void;
  /** A paused group member acked again: its groups may deliver to it. */
  resumed(session: Session): void;
  /** A group member was paused for timing out (count of messages handed to other members). */
  paused(session: Session, moved: number): void;
}

export class DurableDelivery {
  private readonly entries = new Map<number, DurableEntry>();
  private readonly targets = new Map<string, Target>();
  private readonly rehoming: ServiceRehoming;
  readonly members: MemberPause;
  /** Set by `quiesce`/`stop`: nothing is delivered or moved while sessions are closed for shutdown. */
  private stopped = false;
  private nextSeq = 1;
  private readonly secrets = new TagSecrets();
  private totalBytes = 0;
  private store?: DurableStore;

  constructor(
    private readonly options: RouterOptions,
    private readonly bootId: string,
    private readonly host: DurableHost,
  ) {
    this.members = new MemberPause(options.durable.pauseAfterTimeouts);
    this.rehoming = new ServiceRehoming(options, host, {
      targets: this.targets,
      targetFor: (key) => this.targetFor(key),
      forget: (target) => this.forgetTarget(target),
      pump: (target) => this.pump(target),
      persistMove: (entry) => this.store?.moveMessage(entry.seq, entry.target.key, entry.index),
      stopped: () => this.stopped,
    });
  }

  get pending(): number {
    return this.entries.size;
  }

  /** Bytes the pending messages take in the store (`storedCost`), the unit of `maxStoreBytes`. */
  get bytes(): number {
    return this.totalBytes;
  }

  get hasStranded(): boolean {
    return this.rehoming.hasStranded;
  }

  /** Keys of the queue groups with stored messages (known groups after a restart). */
  groupTargets(): string[] {
    return [...this.targets.keys()].filter((key) => key.startsWith('g:'));
  }

  /**
   * Rebuilds the queues from the store's index after a (possibly unclean) restart. Payloads stay
   * on disk until their message is delivered; `onId` sees the id of every pending message.
   */
  attach(store: DurableStore, onId: (id: string) => void): void {
    this.store = store;
    const orphaned: DurableEntry[] = [];
    for (const { seq, entry: index } of store.loadIndex(storedCost, this.bootId.length)) {
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
      const entry = this.track(seq, index);
      entry.state = 'ready';
      entry.target.ready.push(entry);
      if (index.id) onId(index.id);
      if (index.target.startsWith('s:')) orphaned.push(entry);
      // Its instance may never come back after the restart: it gets the grace period to.
      else if (index.service) this.rehoming.strand(index.target, Date.now() + this.options.durable.rehomeAfterMs);
    }
    // An anonymous session cannot come back after a restart: its messages have no receiver left.
    for (const entry of orphaned) this.deadLetter(entry, 'subscriber-gone');
  }

  /**
   * Admits a message for a target, enforcing the store, global and backlog limits, and queues its
   * write. Throws GW_RESOURCE_EXHAUSTED when a `reject` limit is hit: nothing is stored then. Call
   * `commit` after a batch, or `discard` to take back what was admitted for a refused message.
   */
  admit(targetKey: string, subscription: string, message: MessageEnvelope, now: number, clientId: string): DurableEntry {
    const store = this.store;
    if (!store) throw gatewayError('GW_UNAVAILABLE', 'the durable store is not open');
    const durable = this.options.durable;
    if (this.entries.size >= durable.maxPending) {
      this.host.limitReached('router.durable.maxPending', 'reject', `${this.entries.size} durable messages pending`);
      throw gatewayError('GW_RESOURCE_EXHAUSTED', `too many durable messages pending (${durable.maxPending}); retry later`);
    }
    const record: StoredMessage = { target: targetKey, subscription, message, enqueuedAt: now };
    const cost = storedCost(record);
    if (this.totalBytes + cost > durable.maxStoreBytes) {
      this.host.limitReached('router.durable.maxStoreBytes', 'reject', `${this.totalBytes} of ${durable.maxStoreBytes} bytes stored`);
      throw gatewayError('GW_RESOURCE_EXHAUSTED', `the durable store is full (maxStoreBytes ${durable.maxStoreBytes}); retry later`);
    }
    this.checkBacklog(targetKey, cost);
    const seq = this.nextSeq++;
    const entry = this.track(seq, indexOf(record, cost, clientId));
    entry.record = record;
    store.putMessage(seq, record, entry.index);
    return entry;
  }

  /** Waits for the batch to be synced, then makes its entries deliverable. */
  async commit(entries: readonly DurableEntry[]): Promise<void> {
    await this.store!.synced();
    for (const entry of entries) {
      if (entry.state !== 'committing' || !this.entries.has(entry.seq)) continue;
      this.enqueue(entry, false);
      // Delivered from memory if a receiver was ready; otherwise read back when one is.
      entry.record = undefined;
    }
  }

  /** Resolves once everything written so far is synced (a duplicate of a message being stored). */
  async synced(): Promise<void> {
    await this.store?.synced();
  }

  /** Takes back entries admitted for a message that was refused after all (not dead-lettered). */
  discard(entries: readonly DurableEntry[]): void {
    for (const entry of entries) this.finish(entry);
  }

  /** A receiver may have become reachable (session opened, agent registered, member joined). */
  reachable(targetKey: string): void {
    const target = this.targets.get(targetKey);
    if (target) this.pump(target);
  }

  retryStranded(now: number): void {
    this.rehoming.retryStranded(now);
  }

  departed(agentId: string, now: number): void {
    this.rehoming.departed(agentId, now);
  }

  returned(agentId: string, now: number): void {
    this.rehoming.returned(agentId, now);
  }

  /** Messages stored for the target (waiting, in flight or backing off). */
  hasStored(targetKey: string): boolean {
    return this.targets.has(targetKey);
  }

  hasWaiting(targetKey: string): boolean {
    return (this.targets.get(targetKey)?.ready.length ?? 0) > 0;
  }

  inFlightFor(targetKey: string): number {
    return this.targets.get(targetKey)?.inflight ?? 0;
  }

  /**
   * `mayAck` says whether the caller may settle a delivery made to `receiver`; when it says no, the
   * answer is `unknown`, the same as for a tag that never existed (and it proves no liveness).
   */
  ack(item: AckItem, mayAck?: (receiver: Session) => boolean): AckOutcome['result'] {
    const entry = this.entryForTag(item.deliveryTag);
    const current = entry?.inflight?.tag === item.deliveryTag ? entry.inflight : undefined;
    if (current && mayAck && !mayAck(current.session)) return 'unknown';
    // Any answer shows the member is alive, even a late one for an attempt taken back from it.
    const resumed = this.members.alive(current?.session, item.deliveryTag);
    if (resumed) this.host.resumed(resumed);
    if (!entry) return 'unknown';
    if (!current) return 'stale';
    if (item.kind === 'ack') {
      this.finish(entry);
      if (entry.index.id) this.host.settled(entry.index.id, 'delivered');
      this.pump(entry.target);
      return 'acked';
    }
    if (item.kind === 'in-progress') {
      if (entry.extensions >= this.options.durable.maxExtensions) {
        this.host.limitReached('router.durable.maxExtensions', 'ignore', current.tag);
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
    this.members.closed(session);
    const key = session.agentId ? `a:${session.agentId}` : undefined;
    this.rehoming.closing(key, () => {
      for (const tag of [...session.unacked]) {
        const entry = this.entryForTag(tag);
        if (entry?.inflight?.tag === tag) this.release(entry, 'receiver-closed', true);
      }
    });
    session.unacked.clear();
    const own = this.targets.get(`s:${session.id}`);
    if (own) for (const entry of [...own.ready]) this.deadLetter(entry, 'subscriber-gone');
    if (key && !this.host.sessionFor(key)) this.rehoming.lostSession(key, Date.now());
  }

  /** Dead-letters messages older than the inbox age limit or their own TTL. */
  sweep(now: number): void {
    for (const target of this.targets.values()) {
      while (target.ready.length > 0 && this.expired(target.ready[0], now)) {
        this.host.limitReached('router.offlineInbox.maxAgeMs', 'dead-letter', target.key);
        this.deadLetter(target.ready[0], 'expired');
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
    for (const entry of this.entries.values()) {
      clearTimeout(entry.inflight?.ackTimer);
      clearTimeout(entry.retryTimer);
    }
  }

  private checkBacklog(targetKey: string, cost: number): void {
    const target = this.targets.get(targetKey);
    if (!target) return;
    const group = targetKey.startsWith('g:');
    const limits = group ? this.options.groupBacklog : this.options.offlineInbox;
    const name = group ? 'groupBacklog' : 'offlineInbox';
    if (target.count < limits.maxMessages && target.bytes + cost <= limits.maxBytes) return;
    const which = target.count >= limits.maxMessages ? 'maxMessages' : 'maxBytes';
    const oldest = target.ready[0];
    if (limits.policy === 'drop-oldest' && oldest) {
      this.host.limitReached(`router.${name}.${which}`, 'drop-oldest', targetKey);
      this.deadLetter(oldest, 'inbox-full');
      return;
    }
    this.host.limitReached(`router.${name}.${which}`, 'reject', targetKey);
    const what = group ? "the queue group's backlog" : "the receiver's inbox";
    throw gatewayError(
      'GW_RESOURCE_EXHAUSTED',
      `${what} is full (${which} ${which === 'maxMessages' ? limits.maxMessages : limits.maxBytes}); retry later`,
    );
  }

  private expired(entry: DurableEntry, now: number): boolean {
    const age = now - entry.index.enqueuedAt;
    return age > this.options.offlineInbox.maxAgeMs || (entry.index.ttlMs > 0 && age > entry.index.ttlMs);
  }

  private track(seq: number, index: IndexRecord): DurableEntry {
    const target = this.targetFor(index.target);
    const entry: DurableEntry = { seq, secret: this.secrets.next(), target, index, attempts: 0, extensions: 0, state: 'committing' };
    this.entries.set(seq, entry);
    target.count++;
    target.bytes += index.cost;
    if (index.service) target.serviceEntries++;
    this.totalBytes += index.cost;
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

  private forgetTarget(target: Target): void {
    this.targets.delete(target.key);
    this.rehoming.forget(target.key);
  }

  /** Makes an entry deliverable (possibly on another instance of its service) and pumps its target. */
  private enqueue(entry: DurableEntry, front: boolean): void {
    entry.state = 'ready';
    if (entry.index.service) this.rehoming.beforeEnqueue(entry, Date.now());
    if (front) entry.target.ready.unshift(entry);
    else entry.target.ready.push(entry);
    this.pump(entry.target);
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
      const session = this.host.sessionFor(target.key, target.ready[0].avoid);
      if (!session) return;
      const entry = target.ready.shift()!;
      if (this.expired(entry, now)) {
        this.deadLetter(entry, 'expired');
        continue;
      }
      const stored = entry.record ?? this.store?.readMessage(entry.seq);
      if (!stored) {
        // Cannot happen unless the data file was changed under us: nothing left to deliver.
        this.finish(entry);
        continue;
      }
      entry.attempts++;
      if (entry.attempts > 1) this.host.redelivered();
      entry.extensions = 0;
      entry.state = 'inflight';
      entry.avoid = undefined;
      entry.inflight = { tag: `${this.bootId}.${entry.seq}.${entry.attempts}.${entry.secret}`, session };
      target.inflight++;
      session.unacked.add(entry.inflight.tag);
      this.armAckTimer(entry);
      this.host.deliver(session, {
        message: stored.message,
        deliveryTag: entry.inflight.tag,
        attempt: entry.attempts,
        subscription: stored.subscription,
        ackDeadline: now + this.options.durable.ackTimeoutMs,
      });
    }
  }

  private armAckTimer(entry: DurableEntry): void {
    const inflight = entry.inflight!;
    clearTimeout(inflight.ackTimer);
    inflight.ackTimer = setTimeout(() => this.ackTimedOut(entry), this.options.durable.ackTimeoutMs);
    inflight.ackTimer.unref?.();
  }

  private ackTimedOut(entry: DurableEntry): void {
    const inflight = entry.inflight;
    if (!inflight) return;
    const session = inflight.session;
    const group = entry.target.key.startsWith('g:');
    if (group) entry.avoid = session;
    this.release(entry, 'ack-timeout', false);
    if (!group || this.stopped || !this.members.timedOut(session, inflight.tag)) return;
    // Paused: what it holds of its groups goes to the other members, without spending an attempt.
    let moved = 0;
    for (const tag of [...session.unacked]) {
      const held = this.entryForTag(tag);
      if (held?.inflight?.tag !== tag || !held.target.key.startsWith('g:')) continue;
      this.members.movedAway(session, tag);
      held.attempts--;
      held.avoid = session;
      this.release(held, 'member-paused', true);
      moved++;
    }
    this.host.paused(session, moved);
  }

  /** Takes an in-flight delivery back: dead-letters it when attempts are used up, else requeues it. */
  private release(entry: DurableEntry, reason: string, immediately: boolean): void {
    const inflight = entry.inflight;
    if (inflight) {
      clearTimeout(inflight.ackTimer);
      inflight.session.unacked.delete(inflight.tag);
      entry.inflight = undefined;
      entry.target.inflight--;
    }
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
      this.host.limitReached('router.durable.maxAttempts', 'dead-letter', inflight?.tag ?? String(entry.seq));
      this.deadLetter(entry, reason);
      this.pump(entry.target);
      return;
    }
    if (immediately) {
      this.enqueue(entry, true);
      return;
    }
    const delay = Math.min(durable.backoffMaxMs, durable.backoffBaseMs * 2 ** (entry.attempts - 1));
    entry.retryTimer = setTimeout(() => {
      entry.retryTimer = undefined;
      this.enqueue(entry, true);
    }, delay);
    entry.retryTimer.unref?.();
    this.pump(entry.target);
  }

  private deadLetter(entry: DurableEntry, reason: string): void {
    const message = (entry.record ?? this.store?.readMessage(entry.seq))?.message;
    this.finish(entry);
    if (entry.index.id) this.host.settled(entry.index.id, 'dead-lettered');
    if (message) this.host.deadLetter(message, reason, entry.attempts);
  }

  /** Forgets an entry everywhere (acked, dead-lettered or discarded). */
  private finish(entry: DurableEntry): void {
    if (!this.entries.delete(entry.seq)) return;
    clearTimeout(entry.retryTimer);
    const target = entry.target;
    const inflight = entry.inflight;
    if (inflight) {
      clearTimeout(inflight.ackTimer);
      target.inflight--;
      inflight.session.unacked.delete(inflight.tag);
      entry.inflight = undefined;
    } else if (entry.state === 'ready') {
      const index = target.ready.indexOf(entry);
      if (index >= 0) target.ready.splice(index, 1);
    }
    entry.record = undefined;
    target.count--;
    target.bytes -= entry.index.cost;
    if (entry.index.service) target.serviceEntries--;
    this.totalBytes -= entry.index.cost;
    if (target.count === 0) this.forgetTarget(target);
    void this.store?.removeMessage(entry.seq);
  }
}
