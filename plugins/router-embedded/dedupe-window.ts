/**
 * Client-supplied message ids and what became of their message, so a producer that retries with
 * the same id gets its first message's outcome instead of a second copy.
 *
 * An id is remembered only once its message was stored (durable) or handed to a receiver: a
 * message nobody took (`receivers: 0, stored: false`), or that was refused, leaves no trace and
 * its retry is routed like a first attempt. The outcome moves from `stored` to `delivered` when
 * every receiver acked, or to `dead-lettered`. An id stays remembered while its message is pending
 * and `windowMs` after; bounded by `maxEntries` (oldest forgotten, `limitReached`). Mirrored to the
 * durable store: a durable id is written in the same transaction as its message.
 */
import type { OriginalOutcome } from '../../kernel';
import type { DurableStore } from './durable-store';

interface Seen {
  expiresAt: number;
  /** Undefined: remembered by an older gateway, outcome unknown. */
  outcome?: OriginalOutcome;
  /** Stored copies not yet acked or dead-lettered (one per receiver of a durable message). */
  pending: number;
}

export class DedupeWindow {
  /** id → what we know, in insertion (≈ expiry) order, so the oldest is first. */
  private readonly seen = new Map<string, Seen>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries: number,
    private readonly store: () => DurableStore | undefined,
    private readonly onEvict: () => void,
  ) {}

  get size(): number {
    return this.seen.size;
  }

  load(store: DurableStore, now: number): void {
    const live = [...store.loadDedupe()].filter((e) => e.record.expiresAt > now).sort((a, b) => a.record.expiresAt - b.record.expiresAt);
    for (const { id, record } of live.slice(-this.maxEntries))
      this.seen.set(id, { expiresAt: record.expiresAt, outcome: record.outcome, pending: 0 });
  }

  /** A stored message found at start: its id stays remembered (as `stored`) while it is pending. */
  pendingAtStart(id: string, now: number): void {
    const seen = this.seen.get(id);
    if (seen) {
      seen.pending++;
      if (seen.outcome === undefined || seen.outcome === 'delivered') seen.outcome = 'stored';
      return;
    }
    this.insert(id, { expiresAt: now + this.windowMs, outcome: 'stored', pending: 1 }, false);
  }

  /** The outcome of the first message with this id when it is a duplicate, else false. */
  duplicateOf(id: string, now: number): OriginalOutcome | 'unknown' | false {
    const seen = this.seen.get(id);
    if (seen === undefined || (seen.expiresAt <= now && seen.pending === 0)) return false;
    return seen.outcome ?? 'unknown';
  }

  /** Stored for `copies` receivers (written with the message: call before its commit). */
  stored(id: string, copies: number, now: number): void {
    this.insert(id, { expiresAt: now + this.windowMs, outcome: 'stored', pending: copies }, true);
  }

  /** Handed to at least one receiver at-most-once (written without waiting for a sync). */
  delivered(id: string, now: number): void {
    this.insert(id, { expiresAt: now + this.windowMs, outcome: 'delivered', pending: 0 }, true);
  }

  /** One stored copy was acked or dead-lettered. */
  settled(id: string, outcome: 'delivered' | 'dead-lettered', now: number): void {
    const seen = this.seen.get(id);
    if (!seen) return;
    if (seen.pending > 0) seen.pending--;
    if (outcome === 'dead-lettered') seen.outcome = 'dead-lettered';
    else if (seen.pending === 0 && seen.outcome !== 'dead-lettered') seen.outcome = 'delivered';
    else return;
    // Remembered for the window from the moment its fate is known.
    seen.expiresAt = Math.max(seen.expiresAt, now + this.windowMs);
    this.seen.delete(id);
    this.seen.set(id, seen);
    void this.store()?.putDedupe(id, seen);
  }

  sweep(now: number): void {
    const stillPending: Array<[string, Seen]> = [];
    for (const [id, seen] of this.seen) {
      if (seen.expiresAt > now) break;
      this.seen.delete(id);
      // Its message is still waiting: a retry must still find it (kept in memory; a restart
      // finds it again in the index).
      if (seen.pending > 0) {
        seen.expiresAt = now + this.windowMs;
        stillPending.push([id, seen]);
      } else {
        void this.store()?.removeDedupe(id);
      }
    }
    for (const [id, seen] of stillPending) this.seen.set(id, seen);
  }

  private insert(id: string, seen: Seen, persist: boolean): void {
    if (this.seen.has(id)) this.seen.delete(id);
    else if (this.seen.size >= this.maxEntries) {
      const oldest = this.seen.keys().next().value as string;
      this.seen.delete(oldest);
      void this.store()?.removeDedupe(oldest);
      this.onEvict();
    }
    this.seen.set(id, seen);
    if (persist) void this.store()?.putDedupe(id, seen);
  }
}
