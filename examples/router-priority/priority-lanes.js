'use strict';
/**
 * Three FIFO lanes (high, normal, low) sharing one bound. Taking always serves the highest
 * non-empty lane, so an urgent event queued behind a backlog of bulk events is written next.
 *
 * When the bound is hit the policy is `evict-lowest`: the oldest event of the lowest lane at or
 * below the incoming event's priority is evicted to make room; when every queued event outranks
 * the incoming one, the incoming event is refused instead. Bulk traffic is shed before urgent traffic.
 */
const LANE_INDEX = { high: 0, normal: 1, low: 2 };
const LANE_NAMES = ['high', 'normal', 'low'];

/** An array queue with a moving head: `shift()` is O(1) and the array is compacted now and then. */
class Fifo {
  constructor() {
    /** @type {unknown[]} */
    this.items = [];
    this.head = 0;
  }
  get length() {
    return this.items.length - this.head;
  }
  /** @param {unknown} item */
  push(item) {
    this.items.push(item);
  }
  shift() {
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  clear() {
    this.items = [];
    this.head = 0;
  }
}

class PriorityLanes {
  /** @param {number} capacity */
  constructor(capacity) {
    this.capacity = capacity;
    this.size = 0;
    this.lanes = [new Fifo(), new Fifo(), new Fifo()];
  }

  /**
   * Queues `item` in `lane` (0 high … 2 low). Returns what had to go to keep the bound:
   * `undefined` (nothing), the evicted item, or `item` itself when it was refused.
   * @param {unknown} item
   * @param {number} lane
   */
  push(item, lane) {
    let dropped;
    if (this.size >= this.capacity) {
      let victimLane = -1;
      for (let l = 2; l >= lane; l--) {
        if (this.lanes[l].length > 0) {
          victimLane = l;
          break;
        }
      }
      if (victimLane === -1) return item;
      dropped = this.lanes[victimLane].shift();
      this.size--;
    }
    this.lanes[lane].push(item);
    this.size++;
    return dropped;
  }

  /** The oldest item of the highest non-empty lane. */
  shift() {
    for (let l = 0; l < 3; l++) {
      if (this.lanes[l].length > 0) {
        this.size--;
        return this.lanes[l].shift();
      }
    }
    return undefined;
  }

  /** @param {number} lane */
  depth(lane) {
    return this.lanes[lane].length;
  }

  clear() {
    for (const lane of this.lanes) lane.clear();
    this.size = 0;
  }
}

module.exports = { PriorityLanes, LANE_INDEX, LANE_NAMES };
