/**
 * One hashed timer wheel for every lease, instead of one timer per agent: deadlines are rounded up
 * to a tick and kept in a bucket per tick, so scheduling (every heartbeat) is O(1) and a sweep only
 * touches the entries that are actually due. A deadline fires at most one tick late, never early.
 */

/** Anything with a deadline slot the wheel can track; the wheel owns `slot`. */
export interface WheelEntry {
  slot: number;
}

export const UNSCHEDULED = -1;

export class LeaseWheel<E extends WheelEntry> {
  private readonly buckets = new Map<number, Set<E>>();
  /** Next slot the sweep has not processed yet. */
  private nextSlot: number;

  constructor(
    private readonly tickMs: number,
    now: number,
  ) {
    this.nextSlot = Math.floor(now / tickMs) + 1;
  }

  /** (Re)schedules `entry` to fire at `deadline` (epoch ms). */
  schedule(entry: E, deadline: number): void {
    // Never behind the sweep: a deadline already due fires on the next sweep.
    const slot = Math.max(Math.ceil(deadline / this.tickMs), this.nextSlot);
    if (slot === entry.slot) return;
    this.unlink(entry);
    let bucket = this.buckets.get(slot);
    if (!bucket) {
      bucket = new Set();
      this.buckets.set(slot, bucket);
    }
    bucket.add(entry);
    entry.slot = slot;
  }

  cancel(entry: E): void {
    this.unlink(entry);
    entry.slot = UNSCHEDULED;
  }

  /**
   * Calls `fire` for every entry whose slot is due at `now`. `fire` may schedule or cancel any
   * entry, including ones in the bucket being swept (they are skipped when they moved).
   */
  sweep(now: number, fire: (entry: E) => void): void {
    const lastDue = Math.floor(now / this.tickMs);
    while (this.nextSlot <= lastDue) {
      // Advance first, so whatever `fire` schedules for now lands in a bucket still ahead of us.
      const slot = this.nextSlot++;
      const bucket = this.buckets.get(slot);
      if (!bucket) continue;
      this.buckets.delete(slot);
      for (const entry of bucket) {
        if (entry.slot !== slot) continue;
        entry.slot = UNSCHEDULED;
        fire(entry);
      }
    }
  }

  /** Buckets currently held (for the tests and metrics; bounded by distinct pending deadlines). */
  bucketCount(): number {
    return this.buckets.size;
  }

  private unlink(entry: E): void {
    if (entry.slot === UNSCHEDULED) return;
    const bucket = this.buckets.get(entry.slot);
    if (!bucket) return;
    bucket.delete(entry);
    if (bucket.size === 0) this.buckets.delete(entry.slot);
  }
}
