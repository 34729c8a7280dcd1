/**
 * Options of the embedded router. Every limit has a default and a policy (see docs/router.md).
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

export type { OverflowPolicy };
export type InboxOverflowPolicy = 'reject' | 'drop-oldest';
export type BalanceStrategy = 'round-robin' | 'least-in-flight' | 'consistent-hash';

export interface RouterOptions {
  /** Load-balancing strategy for service-addressed messages. */
  strategy: BalanceStrategy;
  topics: TopicLimits;
  maxPayloadBytes: number;
  /** Events queued per session before `subscriberQueue.policy` applies. */
  subscriberQueue: { maxEvents: number; policy: OverflowPolicy; maxBatch: number; publisherWaitMs: number };
  maxSessions: number;
  maxSubscriptionsPerSession: number;
  matchCacheSize: number;
  serviceCacheSize: number;
  maxPendingRequests: number;
  /** Default agent-to-agent hop limit when a message carries none. */
  maxHops: number;
  durable: DurableDeliveryOptions & {
    /** Durable messages waiting or in flight across all receivers; beyond it publishers get RESOURCE_EXHAUSTED. */
    maxPending: number;
    /**
     * Bytes the pending messages may take in the store (counted in lmdb pages, see
     * `storedCost`); beyond it durable publishes get RESOURCE_EXHAUSTED. The limit on disk use.
     */
    maxStoreBytes: number;
    /** Ack timeouts in a row after which a queue-group member is paused until it acks again. */
    pauseAfterTimeouts: number;
  };
  offlineInbox: { maxMessages: number; maxBytes: number; maxAgeMs: number; policy: InboxOverflowPolicy; maxKnownAgents: number };
  /** Durable messages waiting for one queue group (its members away or busy). Ages: `offlineInbox.maxAgeMs`. */
  groupBacklog: { maxMessages: number; maxBytes: number; policy: InboxOverflowPolicy; maxKnownGroups: number; forgetAfterMs: number };
  dedupe: { windowMs: number; maxEntries: number };
  deadLetterTopic: string;
  /** How often expired inbox messages and dedupe entries are swept. */
  sweepIntervalMs: number;
  /** Initial lmdb map size (lmdb-js grows it as needed; `durable.maxStoreBytes` is the limit). */
  storeMapSizeBytes: number;
}

export const schema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    strategy: { enum: ['round-robin', 'least-in-flight', 'consistent-hash'], default: 'round-robin' },
    topics: topicLimitsSchema,
    maxPayloadBytes: maxPayloadBytesSchema,
    subscriberQueue: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        ...subscriberQueueProperties,
        // How long a pipelining publisher waits for a subscriber it fed past half of maxEvents (0: never waits).
        publisherWaitMs: integerOption(0, 1000),
      },
    },
    ...sessionLimitProperties,
    matchCacheSize: integerOption(0, 4_096),
    serviceCacheSize: integerOption(1, 1_024),
    maxPendingRequests: maxPendingRequestsSchema,
    maxHops: maxHopsSchema,
    durable: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        ...durableDeliveryProperties(1),
        maxPending: integerOption(1, 100_000),
        maxStoreBytes: integerOption(1024 * 1024, 1024 * 1024 * 1024),
        pauseAfterTimeouts: integerOption(1, 2),
      },
    },
    offlineInbox: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxMessages: inboxMaxMessagesSchema,
        maxBytes: integerOption(1, 64 * 1024 * 1024),
        maxAgeMs: inboxMaxAgeSchema(1),
        policy: { enum: ['reject', 'drop-oldest'], default: 'reject' },
        // Agent ids remembered (persisted) so durable messages for them wait while they are offline.
        maxKnownAgents: integerOption(1, 100_000),
      },
    },
    groupBacklog: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxMessages: integerOption(1, 10_000),
        maxBytes: integerOption(1, 64 * 1024 * 1024),
        policy: { enum: ['reject', 'drop-oldest'], default: 'reject' },
        // Groups remembered (persisted) so durable messages for them wait while their members are away.
        maxKnownGroups: integerOption(1, 10_000),
        // A group with no member and no stored message for this long is forgotten (a retired group).
        forgetAfterMs: integerOption(1, 24 * 60 * 60 * 1000),
      },
    },
    dedupe: dedupeSchema(1),
    deadLetterTopic: deadLetterTopicSchema,
    sweepIntervalMs: integerOption(10, 1_000),
    storeMapSizeBytes: integerOption(1024 * 1024, 1024 * 1024 * 1024),
  },
} as const;
