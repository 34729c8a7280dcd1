/**
 * A router session's bounded event queue, shared by every router: a ring (no allocation per
 * event) drained into the sink in batches. The ring starts small and doubles up to `capacity` only
 * when a subscriber falls behind, so 10,000 idle sessions do not each pay for a full-size queue.
 * An idle subscriber gets each event on the next microtask, a subscriber that is behind gets up to
 * `maxBatch` events per `sink.write`, so batching adds no delay when idle.
 */
import type { OutboundEvent } from './message';

const INITIAL_SLOTS = 16;

export class SubscriberQueue {
  private ring: (OutboundEvent | undefined)[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<OutboundEvent | undefined>(Math.min(INITIAL_SLOTS, capacity)).fill(undefined);
  }

  get length(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  push(event: OutboundEvent): void {
    if (this.count === this.ring.length) this.grow();
    this.ring[(this.head + this.count) % this.ring.length] = event;
    this.count++;
  }

  private grow(): void {
    const size = Math.min(this.capacity, this.ring.length * 2);
    const next = new Array<OutboundEvent | undefined>(size).fill(undefined);
    for (let i = 0; i < this.count; i++) next[i] = this.ring[(this.head + i) % this.ring.length];
    this.ring = next;
    this.head = 0;
  }

  shift(): OutboundEvent | undefined {
    if (this.count === 0) return undefined;
    const event = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
    return event;
  }

  /** Removes up to `max` events from the head into a new batch array. */
  takeBatch(max: number): OutboundEvent[] {
    const size = Math.min(max, this.count);
    const batch = new Array<OutboundEvent>(size);
    for (let i = 0; i < size; i++) batch[i] = this.shift()!;
    return batch;
  }

  clear(): OutboundEvent[] {
    return this.takeBatch(this.count);
  }
}
