'use strict';
/**
 * One subscriber session (one Subscribe stream): its priority lanes and its writes to the
 * transport's EventSink. Events are written on the next microtask in batches of `maxBatch`, highest
 * lane first; when the sink reports full, they wait in the lanes until the sink drains, and that
 * wait is where a high-priority event overtakes queued bulk ones.
 */
const { PriorityLanes } = require('./priority-lanes');

class LaneSession {
  /**
   * @param {import('./priority-router').PriorityRouter} router
   * @param {import('openclaw-gateway').EventSink} sink
   * @param {import('openclaw-gateway').SessionOptions} options
   * @param {string} id
   */
  constructor(router, sink, options, id) {
    this.id = id;
    this.router = router;
    this.sink = sink;
    this.agentId = options.agentId;
    this.caller = options.caller;
    this.lanes = new PriorityLanes(router.options.maxQueuedPerSession);
    /** Reused for every write: the transport encodes the events synchronously and keeps nothing. */
    this.batch = [];
    this.writable = true;
    this.open = true;
    this.flushScheduled = false;
    /** True from a queue overflow until the queue empties: one `limitReached` per episode. */
    this.overflowing = false;
    /** @type {Set<string>} keys of this session's subscriptions in the router */
    this.subscriptionKeys = new Set();
    /** @type {Set<string>} durable deliveries written here and not yet acked */
    this.unacked = new Set();
    this.flushTask = () => this.flush();
    sink.onWritable(() => {
      this.writable = true;
      this.flush();
    });
  }

  /** @param {import('openclaw-gateway').SubscriptionSpec} spec */
  subscribe(spec) {
    this.router.addSubscription(this, spec);
  }

  /** @param {string} pattern @param {string} [queueGroup] */
  unsubscribe(pattern, queueGroup) {
    this.router.removeSubscription(this, pattern, queueGroup);
  }

  /** @param {string} reason */
  close(reason) {
    if (!this.open) return;
    this.open = false;
    this.lanes.clear();
    this.router.sessionClosed(this, reason);
  }

  /**
   * Queues an event in a lane (0 high, 1 normal, 2 low). Returns false when the event was refused
   * because the queue is full of higher-priority events.
   * @param {import('openclaw-gateway').OutboundEvent} event
   * @param {number} lane
   */
  enqueue(event, lane) {
    if (!this.open) return false;
    const dropped = this.lanes.push(event, lane);
    if (dropped !== undefined) this.router.queueOverflow(this, /** @type {any} */ (dropped));
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushTask);
    }
    return dropped !== event;
  }

  flush() {
    this.flushScheduled = false;
    const maxBatch = this.router.options.maxBatch;
    const batch = this.batch;
    while (this.open && this.writable && this.lanes.size > 0) {
      batch.length = 0;
      while (batch.length < maxBatch && this.lanes.size > 0) batch.push(this.lanes.shift());
      const accepted = this.sink.write(batch);
      this.router.written(batch);
      if (!accepted) this.writable = false;
    }
    batch.length = 0;
    if (this.lanes.size === 0) this.overflowing = false;
  }
}

module.exports = { LaneSession };
