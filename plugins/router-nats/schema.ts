/**
 * Options of the NATS router. Every limit has a default and a policy (see docs/cluster.md).
 */
import {
  deadLetterTopicSchema,
  dedupeSchema,
  durableDeliveryProperties,
  inboxMaxAgeSchema,
  inboxMaxMessagesSchema,
  integerOption,
  maxHopsSchema,
  maxPayloadBytesSchema,
  maxPendingRequestsSchema,
  sessionLimitProperties,
  subscriberQueueProperties,
  topicLimitsSchema,
  type DurableDeliveryOptions,
  type OverflowPolicy,
  type TopicLimits,
} from '../../kernel';
import { natsClientSchema, type NatsClientOptions } from '../../support/nats/nats-connection';
import { jetstreamSetupSchema, type JetStreamSetupOptions } from '../../support/nats/jetstream-ensure';

export type { OverflowPolicy };
export type BalanceStrategy = 'round-robin' | 'consistent-hash';

export interface NatsRouterOptions extends NatsClientOptions {
  /** Subject prefix and stream name prefix; gateways with one prefix form one cluster. */
  prefix: string;
  /** Retry budget for creating streams, buckets and consumers (see docs/cluster.md). */
  jetstreamSetup: JetStreamSetupOptions;
  strategy: BalanceStrategy;
  topics: TopicLimits;
  maxPayloadBytes: number;
  subscriberQueue: { maxEvents: number; policy: OverflowPolicy; maxBatch: number };
  maxSessions: number;
  maxSubscriptionsPerSession: number;
  maxPendingRequests: number;
  maxHops: number;
  durable: DurableDeliveryOptions & {
    /** Durable messages a gateway holds unacked across its sessions. */
    maxUnacked: number;
    /**
     * The consumer leader sends a heartbeat this often while a pull waits; two missed and the pull
     * is sent again (a pull lost without a leader election; elections re-pull on their advisory).
     */
    pullHeartbeatMs: number;
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
  /**
   * At-most-once messages handed to NATS and not yet confirmed by it: past `maxBytes` publishers
   * wait for NATS (a PublishStream stops routing, a send waits) up to `maxWaitMs`, then are refused
   * with GW_UNAVAILABLE. Metrics `router_nats_publish_buffer_bytes`, `router_nats_publish_waits_total`.
   */
  publishBuffer: { maxBytes: number; maxWaitMs: number };
  /** Interest snapshots (for receiver counts) are re-sent this often and forgotten after 3 periods. */
  interestIntervalMs: number;
  maxRemoteGateways: number;
  /** Round-robin cursors kept (one per service + version range); the oldest is evicted beyond it. */
  balancerKeys: number;
  sweepIntervalMs: number;
}

export const schema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    ...natsClientSchema,
    ...jetstreamSetupSchema,
    prefix: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'openclaw' },
    strategy: { enum: ['round-robin', 'consistent-hash'], default: 'round-robin' },
    topics: topicLimitsSchema,
    maxPayloadBytes: maxPayloadBytesSchema,
    subscriberQueue: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: subscriberQueueProperties,
    },
    ...sessionLimitProperties,
    maxPendingRequests: maxPendingRequestsSchema,
    maxHops: maxHopsSchema,
    durable: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        // A JetStream round trip makes an ack timeout under 100 ms meaningless.
        ...durableDeliveryProperties(100),
        maxUnacked: integerOption(1, 100_000),
        // At most half of a pull's expiry (nats.js: 30 s), which NATS requires of a heartbeat.
        pullHeartbeatMs: { type: 'integer', minimum: 500, maximum: 15_000, default: 2000 },
        replicas: { type: 'integer', minimum: 1, maximum: 5, default: 1 },
        storage: { enum: ['file', 'memory'], default: 'file' },
        maxBytes: integerOption(1024 * 1024, 1024 * 1024 * 1024),
      },
    },
    offlineInbox: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { maxMessages: inboxMaxMessagesSchema, maxAgeMs: inboxMaxAgeSchema(1000) },
    },
    dedupe: dedupeSchema(1000),
    deadLetterTopic: deadLetterTopicSchema,
    durableTopics: { type: 'boolean', default: true },
    publishBuffer: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxBytes: integerOption(64 * 1024, 8 * 1024 * 1024),
        maxWaitMs: integerOption(1, 5000),
      },
    },
    interestIntervalMs: integerOption(50, 1000),
    maxRemoteGateways: integerOption(1, 1024),
    balancerKeys: integerOption(1, 1024),
    sweepIntervalMs: integerOption(10, 1000),
  },
} as const;
