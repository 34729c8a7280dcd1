/**
 * Agent ids that have registered at some point, persisted with the durable store.
 *
 * A durable message to an agent that is offline (its stream dropped, so the registry removed it,
 * or the gateway restarted and it has not registered yet) must wait in its inbox rather than fail
 * with NOT_FOUND. Accepting durable messages for *any* id would let a typo fill the store, so the
 * router accepts them for ids it has seen register. Bounded: the least recently seen id is
 * forgotten first when `maxKnownAgents` is reached.
 *
 * Persistence is coalesced: a registration only changes the in-memory map (what the router reads)
 * and marks the id for writing; the marked ids go to lmdb together, in one transaction, at most
 * `KNOWN_AGENTS_FLUSH_MS` after the first of them, or at once when `KNOWN_AGENTS_MAX_PENDING`
 * are waiting, and always when the router stops (`close`, before the store is synced and closed;
 * nothing is written after it). One lmdb transaction per registration cost more
 * CPU than the rest of RegisterAgent together (docs/performance.md, "Registry"). What a `kill -9`
 * can lose is the ids that registered in the last flush window: after the restart, durable
 * messages to them are refused as for any unknown id until they register again (which an agent
 * does on reconnecting), and messages already stored for them still wait in their inboxes.
 */
import type { MetricsFactory } from '../../kernel';

export interface KnownAgentsStore {
  putKnownAgent(agentId: string, seenAt: number): Promise<boolean>;
  removeKnownAgent(agentId: string): Promise<boolean>;
  loadKnownAgents(): Iterable<{ agentId: string; seenAt: number }>;
}

/** Longest time a registered id waits in memory before it is written. */
export const KNOWN_AGENTS_FLUSH_MS = 100;
/** Ids waiting to be written beyond which they are written at once (bounds the pending map). */
export const KNOWN_AGENTS_MAX_PENDING = 1_024;
/** A pending write that forgets the id instead of storing it. */
const FORGET = -1;

export class KnownAgents {
  /** Insertion order is recency order: re-seen ids are deleted and re-inserted. */
  private readonly seen = new Map<string, number>();
  /** id → seenAt to store, or FORGET; at most KNOWN_AGENTS_MAX_PENDING entries. */
  private readonly pending = new Map<string, number>();
  private flushTimer?: NodeJS.Timeout;
  private store?: KnownAgentsStore;
  private readonly flushes: Record<'timer' | 'full' | 'stop', number> | undefined;

  constructor(
    private readonly limit: number,
    private readonly onEvict: () => void,
    metrics?: MetricsFactory,
  ) {
    if (!metrics) return;
    const pending = this.pending;
    metrics.gauge({
      name: 'router_known_agents_pending_writes',
      help: 'Known agent ids changed in memory and not yet written to the durable store (coalesced, at most 1,024)',
      collect() {
        this.set(pending.size);
      },
    });
    this.flushes = metrics.fastCounter({
      name: 'router_known_agents_flushes_total',
      help: 'Coalesced writes of known agent ids to the durable store, by trigger (timer, full, stop)',
      labelNames: ['trigger'],
      series: { timer: { trigger: 'timer' }, full: { trigger: 'full' }, stop: { trigger: 'stop' } },
    });
  }

  attach(store: KnownAgentsStore): void {
    this.store = store;
    const loaded = [...store.loadKnownAgents()].sort((a, b) => a.seenAt - b.seenAt);
    for (const { agentId, seenAt } of loaded.slice(-this.limit)) this.seen.set(agentId, seenAt);
  }

  has(agentId: string): boolean {
    return this.seen.has(agentId);
  }

  get size(): number {
    return this.seen.size;
  }

  /** Ids waiting to be written (the gauge's value). */
  get pendingWrites(): number {
    return this.pending.size;
  }

  touch(agentId: string, now: number): void {
    this.seen.delete(agentId);
    this.seen.set(agentId, now);
    this.mark(agentId, now);
    if (this.seen.size <= this.limit) return;
    const oldest = this.seen.keys().next().value as string;
    this.seen.delete(oldest);
    this.mark(oldest, FORGET);
    this.onEvict();
  }

  /** Writes every pending change now (one lmdb transaction: lmdb-js batches the writes of one turn). */
  flush(trigger: 'timer' | 'full' | 'stop' = 'stop'): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const store = this.store;
    if (this.pending.size === 0 || !store) return;
    for (const [agentId, seenAt] of this.pending) {
      void (seenAt === FORGET ? store.removeKnownAgent(agentId) : store.putKnownAgent(agentId, seenAt));
    }
    this.pending.clear();
    if (this.flushes) this.flushes[trigger]++;
  }

  /** Writes what is pending and lets go of the store: ids seen after this stay in memory only. */
  close(): void {
    this.flush('stop');
    this.store = undefined;
  }

  private mark(agentId: string, seenAt: number): void {
    if (!this.store) return;
    // One entry per id: the last change wins (a forget after a put, or the latest seenAt).
    this.pending.set(agentId, seenAt);
    if (this.pending.size >= KNOWN_AGENTS_MAX_PENDING) this.flush('full');
    else if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => this.flush('timer'), KNOWN_AGENTS_FLUSH_MS);
      this.flushTimer.unref();
    }
  }
}
