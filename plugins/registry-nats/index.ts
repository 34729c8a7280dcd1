/**
 * # registry-nats
 *
 * The cluster registry: several gateways share one view of every agent through a NATS JetStream
 * KV bucket (`<prefix>_registry`). Pick it together with `router-nats` to scale out.
 *
 * - **Ownership**: each gateway writes only the entries of agents registered with it; every
 *   gateway watches the bucket and serves reads (`get`, `discover`) from memory, so routing never
 *   waits on NATS. An agent that registers at another gateway (failover) moves there.
 * - **Dead gateways**: gateways heartbeat on `<prefix>.registry.hb` every `heartbeatIntervalMs`;
 *   one not heard from for `gatewayDeadAfterMs` (default 750 ms) is dead and its agents leave the
 *   view at once (`agentDeregistered`, reason `gateway-lost`); its KV entries are deleted
 *   `deadGatewayPurgeAfterMs` later. A gateway that comes back makes its agents visible again.
 * - **Leases** are held by the owning gateway (renewals are not written to KV). A lapse marks the
 *   agent `unhealthy` and removes it `leaseExpiry.removeAfterMs` later. Only the owner judges a
 *   lease: other gateways' copies keep the registration-time expiry.
 * - **NATS failover**: the KV watch is checked every `watchCheckIntervalMs` and recreated after a
 *   reconnect, leader change or stall; while our link is down (up to `staleViewMaxMs`) or the watch
 *   resumes, the last view is kept and marked stale and nobody is judged dead by silence.
 * - **NATS**: `servers`, `credentials` (user/pass, token, `.creds` file), `tls`. Unreachable at
 *   start → the plugin fails with GW_UNAVAILABLE naming the servers; afterwards the client
 *   reconnects with backoff and rewrites this gateway's entries.
 * - **Limits**: `maxInstances` (cluster view), `maxGateways`, `maxTags`, `maxCapabilities`,
 *   `maxDiscoverResults`, `rangeCacheSize`; `limitReached` fires and `openclaw_registry_nats_*`
 *   metrics count. Only the owning gateway may change an agent's state or health.
 *
 * ```ts
 * plugins: [{ use: 'registry-nats', options: { servers: ['nats://10.0.0.5:4222'], prefix: 'prod' } }, { use: 'router-nats', options: { prefix: 'prod' } }, ...]
 * ```
 * Operator guide: `docs/cluster.md`.
 */
import { definePlugin, GatewayError, type RegistryService } from '../../kernel';
import { ClusterRegistry } from './cluster-registry';
import { openNatsConnection } from '../../support/nats/nats-connection';
import { createRegistryMetrics } from './registry-metrics';
import { schema, type NatsRegistryOptions } from './schema';
import type { NatsConnection } from 'nats';
import { isJetStreamSetupError } from '../../support/nats/jetstream-ensure';

export default definePlugin<NatsRegistryOptions, RegistryService>({
  name: 'registry-nats',
  kind: 'registry',
  version: '0.1.0',
  description: 'Cluster registry on a NATS JetStream KV bucket with gateway liveness.',
  schema,
  setup(ctx) {
    const { options } = ctx;
    if (
      options.minLeaseTtlMs > options.maxLeaseTtlMs ||
      options.defaultLeaseTtlMs < options.minLeaseTtlMs ||
      options.defaultLeaseTtlMs > options.maxLeaseTtlMs
    ) {
      throw new GatewayError(
        'GW_PLUGIN_OPTIONS_INVALID',
        `defaultLeaseTtlMs (${options.defaultLeaseTtlMs}) must lie within minLeaseTtlMs and maxLeaseTtlMs`,
        { field: 'defaultLeaseTtlMs' },
      );
    }
    if (options.gatewayDeadAfterMs <= options.heartbeatIntervalMs) {
      throw new GatewayError(
        'GW_PLUGIN_OPTIONS_INVALID',
        `gatewayDeadAfterMs (${options.gatewayDeadAfterMs}) must be longer than heartbeatIntervalMs (${options.heartbeatIntervalMs})`,
        {
          field: 'gatewayDeadAfterMs',
        },
      );
    }
    let registry!: ClusterRegistry;
    const metrics = createRegistryMetrics(ctx.metrics, {
      agents: () => registry.size(),
      localAgents: () => registry.localCount,
      gateways: () => registry.aliveGateways,
      staleSeconds: () => registry.staleSeconds(Date.now()),
    });
    registry = new ClusterRegistry({
      name: ctx.name,
      options,
      hooks: ctx.hooks,
      logger: ctx.logger,
      metrics,
      gatewayId: ctx.gateway.id,
      isDraining: () => ctx.gateway.isDraining(),
    });
    let nc: NatsConnection | undefined;
    return {
      service: registry,
      async start() {
        nc = await openNatsConnection(options, `openclaw-registry:${ctx.gateway.id}`, ctx.gateway.configDir);
        try {
          await registry.start(nc);
        } catch (error) {
          await nc.close().catch(() => undefined);
          const why = isJetStreamSetupError(error)
            ? error.message
            : `JetStream KV "${registry.bucket}" could not be opened (${(error as Error).message})`;
          throw new GatewayError('GW_UNAVAILABLE', `servers: NATS at ${options.servers.join(', ')} is reachable but ${why}`, {
            field: 'servers',
            cause: error,
          });
        }
        ctx.logger.info({ bucket: registry.bucket, agents: registry.size() }, 'cluster registry ready');
      },
      async stop() {
        await registry.stop();
        await nc?.drain().catch(() => undefined);
      },
    };
  },
});
