/** The router's metrics, `openclaw_router_nats_*`. */
import type { Counter } from 'prom-client';
import type { MetricsFactory } from '../../kernel';

export interface RouterMetrics {
  accepted: Counter<string>;
  delivered: Counter<string>;
  dropped: Counter<'reason'>;
  duplicate: Counter<string>;
  stored: Counter<string>;
  redeliveries: Counter<string>;
  rehomed: Counter<string>;
  deadLettered: Counter<'reason'>;
  replies: Counter<string>;
  natsErrors: Counter<string>;
  limitHits: Counter<'limit'>;
  durableRepulls: Counter<'reason'>;
}

export function createRouterMetrics(
  factory: MetricsFactory,
  read: {
    sessions: () => number;
    pendingRequests: () => number;
    unacked: () => number;
    queued: () => number;
    remoteGateways: () => number;
  },
): RouterMetrics {
  factory.gauge({
    name: 'router_nats_sessions',
    help: 'Open router sessions on this gateway',
    collect() {
      this.set(read.sessions());
    },
  });
  factory.gauge({
    name: 'router_nats_pending_requests',
    help: 'Requests waiting for replies here',
    collect() {
      this.set(read.pendingRequests());
    },
  });
  factory.gauge({
    name: 'router_nats_unacked',
    help: 'Durable deliveries held unacked here',
    collect() {
      this.set(read.unacked());
    },
  });
  factory.gauge({
    name: 'router_nats_queue_depth',
    help: 'Events queued in sessions here',
    collect() {
      this.set(read.queued());
    },
  });
  factory.gauge({
    name: 'router_nats_remote_gateways',
    help: 'Gateways whose interest snapshot is known',
    collect() {
      this.set(read.remoteGateways());
    },
  });
  return {
    accepted: factory.counter({ name: 'router_nats_accepted_total', help: 'Messages accepted' }),
    delivered: factory.counter({ name: 'router_nats_delivered_total', help: 'Deliveries written to local sessions' }),
    dropped: factory.counter({ name: 'router_nats_dropped_total', help: 'Messages dropped, by reason', labelNames: ['reason'] }),
    duplicate: factory.counter({ name: 'router_nats_duplicate_total', help: 'Messages refused as duplicates' }),
    stored: factory.counter({ name: 'router_nats_stored_total', help: 'Durable messages stored in JetStream' }),
    redeliveries: factory.counter({ name: 'router_nats_redeliveries_total', help: 'Durable redeliveries received here' }),
    rehomed: factory.counter({
      name: 'router_nats_durable_rehomed_total',
      help: 'Durable service messages moved from a departed instance to another instance of the service',
    }),
    deadLettered: factory.counter({
      name: 'router_nats_dead_lettered_total',
      help: 'Messages dead-lettered, by reason',
      labelNames: ['reason'],
    }),
    replies: factory.counter({ name: 'router_nats_replies_total', help: 'Replies matched to requests waiting here' }),
    natsErrors: factory.counter({ name: 'router_nats_nats_errors_total', help: 'NATS or JetStream calls that failed' }),
    limitHits: factory.counter({ name: 'router_nats_limit_reached_total', help: 'Limits hit', labelNames: ['limit'] }),
    durableRepulls: factory.counter({
      name: 'router_nats_durable_repulls_total',
      help: 'Durable inbox pulls sent again after a JetStream consumer leader change or missed heartbeats, by reason',
      labelNames: ['reason'],
    }),
  };
}
