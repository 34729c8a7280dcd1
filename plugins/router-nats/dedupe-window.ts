/**
 * Client message ids seen recently on this gateway, for at-most-once messages (durable ones are
 * deduplicated cluster-wide by JetStream's `Nats-Msg-Id` window). Insertion-ordered map: expiry
 * and eviction pop from the front, so both are O(1) per entry.
 */
export class DedupeWindow {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries: number,
    private readonly onFull: () => void,
  ) {}

  get size(): number {
    return this.seen.size;
  }

  isDuplicate(id: string, now: number): boolean {
    const at = this.seen.get(id);
    return at !== undefined && now - at <= this.windowMs;
  }

  remember(id: string, now: number): void {
    if (this.seen.size >= this.maxEntries) {
      this.seen.delete(this.seen.keys().next().value!);
      this.onFull();
    }
    this.seen.set(id, now);
  }

  sweep(now: number): void {
    for (const [id, at] of this.seen) {
      if (now - at <= this.windowMs) return;
      this.seen.delete(id);
    }
  }
}
