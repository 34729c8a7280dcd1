/**
 * Remembers client-supplied message ids for `windowMs` (bounded by `maxEntries`, oldest evicted) and
 * mirrors them to the durable store so the window survives restarts.
 */
import type { DurableStore } from './durable-store';

export class DedupeWindow {
  /** id → expiry, in insertion (≈ expiry) order, so the oldest is first. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries: number,
    private readonly store: () => DurableStore | undefined,
    private readonly onEvict: () => void,
  ) {}

  get size(): number {
    return this.seen.size;
  }

  load(entries: Iterable<{ id: string; expiresAt: number }>, now: number): void {
    const live = [...entries].filter((e) => e.expiresAt > now).sort((a, b) => a.expiresAt - b.expiresAt);
    for (const { id, expiresAt } of live.slice(-this.maxEntries)) this.seen.set(id, expiresAt);
  }

  isDuplicate(id: string, now: number): boolean {
    const expiresAt = this.seen.get(id);
    return expiresAt !== undefined && expiresAt > now;
  }

  remember(id: string, now: number): void {
    const expiresAt = now + this.windowMs;
    if (this.seen.has(id)) this.seen.delete(id);
    else if (this.seen.size >= this.maxEntries) {
      const oldest = this.seen.keys().next().value as string;
      this.seen.delete(oldest);
      void this.store()?.removeDedupe(oldest);
      this.onEvict();
    }
    this.seen.set(id, expiresAt);
    void this.store()?.putDedupe(id, expiresAt);
  }

  sweep(now: number): void {
    for (const [id, expiresAt] of this.seen) {
      if (expiresAt > now) break;
      this.seen.delete(id);
      void this.store()?.removeDedupe(id);
    }
  }
}
