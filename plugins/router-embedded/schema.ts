/**
 * Options of the embedded router. Every limit has a default and a policy (see docs/router.md).
 */
export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'disconnect';
export type InboxOverflowPolicy = 'reject' | 'drop-oldest';
export type BalanceStrategy = 'round-robin' | 'least-in-flight' | 'consistent-hash';

export interface RouterOptions {
  /** Load-balancing strategy for service-addressed messages. */
  strategy: BalanceStrategy;
  topics: { maxLength: number; maxDepth: number };
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
    /** In-progress acks allowed per delivery attempt before it is treated as timed out. */
    maxExtensions: number;
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

const positiveInt = (minimum: number, defaultValue: number) => ({ type: 'integer', minimum, default: defaultValue });

export const schema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    strategy: { enum: ['round-robin', 'least-in-flight', 'consistent-hash'], default: 'round-robin' },
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
        // How long a pipelining publisher waits for a subscriber it fed past half of maxEvents (0: never waits).
        publisherWaitMs: positiveInt(0, 1000),
      },
    },
    maxSessions: positiveInt(1, 10_000),
    maxSubscriptionsPerSession: positiveInt(1, 1_000),
    matchCacheSize: positiveInt(0, 4_096),
    serviceCacheSize: positiveInt(1, 1_024),
    maxPendingRequests: positiveInt(1, 10_000),
    maxHops: positiveInt(1, 16),
    durable: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        ackTimeoutMs: positiveInt(1, 30_000),
        maxAttempts: positiveInt(1, 5),
        backoffBaseMs: positiveInt(0, 500),
        backoffMaxMs: positiveInt(0, 30_000),
        maxInFlightPerReceiver: positiveInt(1, 100),
        rehomeAfterMs: positiveInt(0, 5_000),
        maxExtensions: positiveInt(0, 1_000),
        maxPending: positiveInt(1, 100_000),
        maxStoreBytes: positiveInt(1024 * 1024, 1024 * 1024 * 1024),
        pauseAfterTimeouts: positiveInt(1, 2),
      },
    },
    offlineInbox: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxMessages: positiveInt(1, 10_000),
        maxBytes: positiveInt(1, 64 * 1024 * 1024),
        maxAgeMs: positiveInt(1, 24 * 60 * 60 * 1000),
        policy: { enum: ['reject', 'drop-oldest'], default: 'reject' },
        // Agent ids remembered (persisted) so durable messages for them wait while they are offline.
        maxKnownAgents: positiveInt(1, 100_000),
      },
    },
    groupBacklog: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxMessages: positiveInt(1, 10_000),
        maxBytes: positiveInt(1, 64 * 1024 * 1024),
        policy: { enum: ['reject', 'drop-oldest'], default: 'reject' },
        // Groups remembered (persisted) so durable messages for them wait while their members are away.
        maxKnownGroups: positiveInt(1, 10_000),
        // A group with no member and no stored message for this long is forgotten (a retired group).
        forgetAfterMs: positiveInt(1, 24 * 60 * 60 * 1000),
      },
    },
    dedupe: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { windowMs: positiveInt(1, 10 * 60 * 1000), maxEntries: positiveInt(1, 100_000) },
    },
    deadLetterTopic: { type: 'string', pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$', default: '_DLQ' },
    sweepIntervalMs: positiveInt(10, 1_000),
    storeMapSizeBytes: positiveInt(1024 * 1024, 1024 * 1024 * 1024),
  },
} as const;
