/**
 * Options of the NATS router. Every limit has a default and a policy (see docs/cluster.md).
 */
import { natsClientSchema, type NatsClientOptions } from './nats-connection';
import { jetstreamSetupSchema, type JetStreamSetupOptions } from '../../support/nats/jetstream-ensure';

export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'disconnect';
export type BalanceStrategy = 'round-robin' | 'consistent-hash';

export interface NatsRouterOptions extends NatsClientOptions {
  /** Subject prefix and stream name prefix; gateways with one prefix form one cluster. */
  prefix: string;
  /** Retry budget for creating streams, buckets and consumers (see docs/cluster.md). */
  jetstreamSetup: JetStreamSetupOptions;
  strategy: BalanceStrategy;
  topics: { maxLength: number; maxDepth: number };
  maxPayloadBytes: number;
  subscriberQueue: { maxEvents: number; policy: OverflowPolicy; maxBatch: number };
  maxSessions: number;
  maxSubscriptionsPerSession: number;
  maxPendingRequests: number;
  maxHops: number;
  durable: {
    ackTimeoutMs: number;
    maxAttempts: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    maxInFlightPerReceiver: number;
    /**
     * How long an instance that lost its session without leaving (no deregistration) keeps the
     * service messages waiting for it before they go to another instance of the service.
     */
    rehomeAfterMs: number;
    maxExtensions: number;
    /** Durable messages a gateway holds unacked across its sessions. */
    maxUnacked: number;
    /** JetStream stream settings for the durable inbox stream. */
    replicas: number;
    storage: 'file' | 'memory';
    maxBytes: number;
  };
  offlineInbox: { maxMessages: number; maxAgeMs: number };
  dedupe: { windowMs: number; maxEntries: number };
  deadLetterTopic: string;
  /**
   * Every topic subscription gets a JetStream consumer so durable topic messages reach it (one
   * JetStream API call per subscribe). Off: durable topic messages are refused.
   */
  durableTopics: boolean;
  /** Interest snapshots (for receiver counts) are re-sent this often and forgotten after 3 periods. */
  interestIntervalMs: number;
  maxRemoteGateways: number;
  /** Round-robin cursors kept (one per service + version range); the oldest is evicted beyond it. */
  balancerKeys: number;
  sweepIntervalMs: number;
}

const positiveInt = (minimum: number, defaultValue: number) => ({ type: 'integer', minimum, default: defaultValue });

export const schema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    ...natsClientSchema,
    ...jetstreamSetupSchema,
    prefix: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'openclaw' },
    strategy: { enum: ['round-robin', 'consistent-hash'], default: 'round-robin' },
    topics: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { maxLength: positiveInt(1, 256), maxDepth: positiveInt(1, 16) },
    },
    maxPayloadBytes: positiveInt(0, 1024 * 1024),
    subscriberQueue: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxEvents: positiveInt(1, 1024),
        policy: { enum: ['drop-oldest', 'drop-newest', 'disconnect'], default: 'drop-oldest' },
        maxBatch: positiveInt(1, 64),
      },
    },
    maxSessions: positiveInt(1, 10_000),
    maxSubscriptionsPerSession: positiveInt(1, 1_000),
    maxPendingRequests: positiveInt(1, 10_000),
    maxHops: positiveInt(1, 16),
    durable: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        ackTimeoutMs: positiveInt(100, 30_000),
        maxAttempts: positiveInt(1, 5),
        backoffBaseMs: positiveInt(0, 500),
        backoffMaxMs: positiveInt(0, 30_000),
        maxInFlightPerReceiver: positiveInt(1, 100),
        rehomeAfterMs: positiveInt(0, 5_000),
        maxExtensions: positiveInt(0, 1_000),
        maxUnacked: positiveInt(1, 100_000),
        replicas: { type: 'integer', minimum: 1, maximum: 5, default: 1 },
        storage: { enum: ['file', 'memory'], default: 'file' },
        maxBytes: positiveInt(1024 * 1024, 1024 * 1024 * 1024),
      },
    },
    offlineInbox: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { maxMessages: positiveInt(1, 10_000), maxAgeMs: positiveInt(1000, 24 * 60 * 60 * 1000) },
    },
    dedupe: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { windowMs: positiveInt(1000, 10 * 60 * 1000), maxEntries: positiveInt(1, 100_000) },
    },
    deadLetterTopic: { type: 'string', pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$', default: '_DLQ' },
    durableTopics: { type: 'boolean', default: true },
    interestIntervalMs: positiveInt(50, 1000),
    maxRemoteGateways: positiveInt(1, 1024),
    balancerKeys: positiveInt(1, 1024),
    sweepIntervalMs: positiveInt(10, 1000),
  },
} as const;
