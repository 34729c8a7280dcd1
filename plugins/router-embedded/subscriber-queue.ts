/**
 * A session's bounded event queue: a fixed-capacity ring (no allocation per event) drained into the
 * sink in batches. An idle subscriber gets each event on the next microtask, a subscriber that is
 * behind gets up to `maxBatch` events per `sink.write`, so batching adds no delay when idle.
 */
import type { OutboundEvent } from '../../kernel';

export class SubscriberQueue {
  private readonly ring: (OutboundEvent | undefined)[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<OutboundEvent | undefined>(capacity).fill(undefined);
  }

  get length(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  push(event: OutboundEvent): void {
    this.ring[(this.head + this.count) % this.capacity] = event;
    this.count++;
  }

  shift(): OutboundEvent | undefined {
    if (this.count === 0) return undefined;
    const event = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
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
