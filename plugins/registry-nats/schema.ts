/**
 * Options of the NATS registry. Every limit has a default and a policy (see docs/cluster.md).
 */
import { leaseTtlProperties, registryLimitProperties, type LeaseTtlOptions, type RegistryLimitOptions } from '../../kernel';
import { natsClientSchema, type NatsClientOptions } from '../../support/nats/nats-connection';
import { jetstreamSetupSchema, type JetStreamSetupOptions } from '../../support/nats/jetstream-ensure';

export type { DuplicateIdPolicy } from '../../kernel';

export interface NatsRegistryOptions extends NatsClientOptions, LeaseTtlOptions, RegistryLimitOptions {
  /**
   * Names the KV bucket (`<prefix>_registry`) and heartbeat subject (`<prefix>.registry.hb`).
   * Gateways with one prefix form one cluster; tests use a unique prefix per run.
   */
  prefix: string;
  /** Retry budget for creating streams, buckets and consumers (see docs/cluster.md). */
  jetstreamSetup: JetStreamSetupOptions;
  replicas: number;
  storage: 'file' | 'memory';
  /** How often this gateway tells the others it is alive. */
  heartbeatIntervalMs: number;
  /** A gateway not heard from for this long is dead: its agents leave every view. */
  gatewayDeadAfterMs: number;
  /** A dead gateway's KV entries are deleted this long after it died (unless it comes back). */
  deadGatewayPurgeAfterMs: number;
  /** Gateways tracked (alive or recently dead); heartbeats from more are ignored. */
  maxGateways: number;
  sweepIntervalMs: number;
  /** How often the KV watch is checked against the stream (stall, leader change); see registry-watch.ts. */
  watchCheckIntervalMs: number;
  /**
   * While our NATS link is down the last view is kept (stale) and nobody is judged dead; after this
   * long away the other gateways leave the view as dead, as a partitioned gateway must assume.
   */
  staleViewMaxMs: number;
  // maxInstances counts the whole cluster view (local and remote); more are refused / ignored.
}

export const schema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    ...natsClientSchema,
    ...jetstreamSetupSchema,
    prefix: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'openclaw' },
    replicas: { type: 'integer', minimum: 1, maximum: 5, default: 1 },
    storage: { enum: ['file', 'memory'], default: 'file' },
    heartbeatIntervalMs: { type: 'integer', minimum: 20, maximum: 60_000, default: 200 },
    gatewayDeadAfterMs: { type: 'integer', minimum: 50, maximum: 600_000, default: 750 },
    deadGatewayPurgeAfterMs: { type: 'integer', minimum: 0, default: 30_000 },
    maxGateways: { type: 'integer', minimum: 1, default: 1024 },
    ...leaseTtlProperties,
    sweepIntervalMs: { type: 'integer', minimum: 10, maximum: 60000, default: 50 },
    watchCheckIntervalMs: { type: 'integer', minimum: 100, maximum: 60_000, default: 1000 },
    staleViewMaxMs: { type: 'integer', minimum: 0, maximum: 3_600_000, default: 30_000 },
    ...registryLimitProperties,
  },
} as const;
