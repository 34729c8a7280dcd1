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
  };
  offlineInbox: { maxMessages: number; maxBytes: number; maxAgeMs: number; policy: InboxOverflowPolicy; maxKnownAgents: number };
  dedupe: { windowMs: number; maxEntries: number };
  deadLetterTopic: string;
  /** How often expired inbox messages and dedupe entries are swept. */
  sweepIntervalMs: number;
  /** lmdb map size; the store cannot grow past it. */
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
