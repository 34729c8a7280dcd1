/**
 * The router's metrics. Per-message counters are resolved to label children once, so counting a
 * message is one increment, not a label lookup. Gauges are computed at scrape time.
 */
import type { MetricsFactory } from '../../kernel';

export interface RouterGauges {
  queueDepth(): number;
  durablePending(): number;
  storeBytes(): number;
  storeFileBytes(): number;
  storeLimitBytes(): number;
  pausedMembers(): number;
  sessions(): number;
  pendingRequests(): number;
}

export function createRouterMetrics(metrics: MetricsFactory, gauges: RouterGauges) {
  // Per-message counts are plain numbers published at scrape time: no label hashing on the hot path.
  const messages = metrics.fastCounter({
    name: 'router_messages_total',
    help: 'Messages handled by the router, by result',
    labelNames: ['result'],
    series: resultSeries(['accepted', 'delivered', 'dropped', 'duplicate', 'unroutable', 'dead_lettered', 'stored', 'reply'] as const),
  });
  const publisherWaits = metrics.fastCounter({
    name: 'router_publisher_waits_total',
    help: 'Times a publish stream waited for a subscriber over its high-water mark, by how the wait ended (room, timeout)',
    labelNames: ['outcome'],
    series: { room: { outcome: 'room' }, timeout: { outcome: 'timeout' } },
  });
  const deadLetters = metrics.counter({
    name: 'router_dead_letters_total',
    help: 'Messages moved to the dead-letter topic, by reason',
    labelNames: ['reason'] as const,
  });
  const limits = metrics.counter({
    name: 'router_limit_hits_total',
    help: 'Times a router limit was hit, by limit',
    labelNames: ['limit'] as const,
  });
  const redeliveries = metrics.counter({
    name: 'router_redeliveries_total',
    help: 'Durable messages delivered again after a timeout, nack or receiver loss',
  });
  const rehomed = metrics.counter({
    name: 'router_durable_rehomed_total',
    help: 'Durable service messages moved from an instance without a session to another instance of the service',
  });
  metrics.gauge({
    name: 'router_queue_depth',
    help: 'Events queued in subscriber sessions',
    collect() {
      this.set(gauges.queueDepth());
    },
  });
  metrics.gauge({
    name: 'router_durable_pending',
    help: 'Durable messages stored and not yet acked',
    collect() {
      this.set(gauges.durablePending());
    },
  });
  metrics.gauge({
    name: 'router_store_bytes',
    help: 'Bytes the pending durable messages take in the store (lmdb pages), counted against durable.maxStoreBytes',
    collect() {
      this.set(gauges.storeBytes());
    },
  });
  metrics.gauge({
    name: 'router_store_limit_bytes',
    help: 'durable.maxStoreBytes: durable publishes are refused past it',
    collect() {
      this.set(gauges.storeLimitBytes());
    },
  });
  metrics.gauge({
    name: 'router_store_file_bytes',
    help: 'Size of the durable store data file on disk',
    collect() {
      this.set(gauges.storeFileBytes());
    },
  });
  metrics.gauge({
    name: 'router_paused_members',
    help: 'Queue-group members paused for timing out (until they ack again)',
    collect() {
      this.set(gauges.pausedMembers());
    },
  });
  metrics.gauge({
    name: 'router_sessions',
    help: 'Open subscriber sessions',
    collect() {
      this.set(gauges.sessions());
    },
  });
  metrics.gauge({
    name: 'router_pending_requests',
    help: 'Requests waiting for a reply',
    collect() {
      this.set(gauges.pendingRequests());
    },
  });
  return {
    messages,
    publisherWaits,
    redeliveries,
    rehomed,
    deadLetter: (reason: string) => deadLetters.labels(reason).inc(),
    limit: (limit: string) => limits.labels(limit).inc(),
  };
}

function resultSeries<R extends string>(results: readonly R[]): Record<R, { result: R }> {
  return Object.fromEntries(results.map((result) => [result, { result }])) as Record<R, { result: R }>;
}

export type RouterMetrics = ReturnType<typeof createRouterMetrics>;
