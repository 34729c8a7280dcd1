/** The registry's metrics, `openclaw_registry_nats_*`, created once per gateway. */
import type { Counter } from 'prom-client';
import type { MetricsFactory } from '../../kernel';

export interface RegistryMetrics {
  registered: Counter<'outcome'>;
  removed: Counter<'reason'>;
  rejected: Counter<'reason'>;
  leaseExpired: Counter<string>;
  gatewaysLost: Counter<string>;
  disconnects: Counter<string>;
  kvErrors: Counter<string>;
  limitHits: Counter<'limit'>;
  watchRestarts: Counter<'reason'>;
  staleViews: Counter<string>;
  watchPolled: Counter<string>;
}

export function createRegistryMetrics(
  factory: MetricsFactory,
  read: { agents: () => number; localAgents: () => number; gateways: () => number; staleSeconds: () => number },
): RegistryMetrics {
  factory.gauge({
    name: 'registry_nats_agents',
    help: 'Agents in the cluster view',
    collect() {
      this.set(read.agents());
    },
  });
  factory.gauge({
    name: 'registry_nats_local_agents',
    help: 'Agents owned by this gateway',
    collect() {
      this.set(read.localAgents());
    },
  });
  factory.gauge({
    name: 'registry_nats_gateways_alive',
    help: 'Gateways heard from recently, this one included',
    collect() {
      this.set(read.gateways());
    },
  });
  factory.gauge({
    name: 'registry_nats_view_stale_seconds',
    help: 'How long the cluster view has been stale (NATS link down, KV watch resuming, JetStream not answering); 0 while current',
    collect() {
      this.set(read.staleSeconds());
    },
  });
  return {
    watchRestarts: factory.counter({
      name: 'registry_nats_watch_restarts_total',
      help: 'KV watches recreated, by reason (reconnect, leader-change, stalled, ended)',
      labelNames: ['reason'],
    }),
    watchPolled: factory.counter({
      name: 'registry_nats_watch_polled_total',
      help: 'Registry changes read directly from a replica while the KV watch was missing or stalled',
    }),
    staleViews: factory.counter({ name: 'registry_nats_view_stale_total', help: 'Times the cluster view went stale' }),
    registered: factory.counter({ name: 'registry_nats_registered_total', help: 'Registrations accepted here', labelNames: ['outcome'] }),
    removed: factory.counter({ name: 'registry_nats_removed_total', help: 'Agents removed, by reason', labelNames: ['reason'] }),
    rejected: factory.counter({ name: 'registry_nats_rejected_total', help: 'Registrations refused, by reason', labelNames: ['reason'] }),
    leaseExpired: factory.counter({ name: 'registry_nats_lease_expired_total', help: 'Leases that lapsed' }),
    gatewaysLost: factory.counter({ name: 'registry_nats_gateways_lost_total', help: 'Gateways declared dead' }),
    disconnects: factory.counter({ name: 'registry_nats_disconnects_total', help: 'Times this gateway lost its NATS connection' }),
    kvErrors: factory.counter({ name: 'registry_nats_kv_errors_total', help: 'KV writes or deletes that failed' }),
    limitHits: factory.counter({ name: 'registry_nats_limit_reached_total', help: 'Limits hit', labelNames: ['limit'] }),
  };
}
