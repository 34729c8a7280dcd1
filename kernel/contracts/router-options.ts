/**
 * Option-schema fragments every router shares (router-embedded, router-nats, third-party routers),
 * beside the router contract: the same option means the same thing, with the same default, in
 * every router. A router spreads them into its own schema and adds what only it has; where a
 * router needs a different floor (a NATS round trip makes a 1 ms ack timeout meaningless) the
 * fragment takes it as an argument.
 */

/** What happens when a subscriber's queue is full (see docs/router.md). */
export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'disconnect';

/** An integer option with a floor and a default. */
export const integerOption = (minimum: number, defaultValue: number) => ({ type: 'integer', minimum, default: defaultValue }) as const;

function optionGroup<P extends Record<string, unknown>>(properties: P) {
  return { type: 'object', additionalProperties: false, default: {}, properties } as const;
}

/** `topics`: longest topic and most tokens (see kernel/contracts/topics.ts). */
export const topicLimitsSchema = optionGroup({ maxLength: integerOption(1, 256), maxDepth: integerOption(1, 16) });

export const maxPayloadBytesSchema = integerOption(0, 1024 * 1024);

/** `subscriberQueue`: the bounded per-session queue (a router may add its own properties). */
export const subscriberQueueProperties = {
  maxEvents: integerOption(1, 1024),
  policy: { enum: ['drop-oldest', 'drop-newest', 'disconnect'], default: 'drop-oldest' },
  maxBatch: integerOption(1, 128),
} as const;

/** Per-gateway session limits, in the order routers list them. */
export const sessionLimitProperties = {
  maxSessions: integerOption(1, 10_000),
  maxSubscriptionsPerSession: integerOption(1, 1_000),
} as const;

export const maxPendingRequestsSchema = integerOption(1, 10_000);
/** Default agent-to-agent hop limit when a message carries none. */
export const maxHopsSchema = integerOption(1, 16);

/** The at-least-once delivery options every durable router has. */
export interface DurableDeliveryOptions {
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
}

/** Properties of `durable` matching DurableDeliveryOptions; spread first, then the router's own. */
export function durableDeliveryProperties(minAckTimeoutMs: number) {
  return {
    ackTimeoutMs: integerOption(minAckTimeoutMs, 30_000),
    maxAttempts: integerOption(1, 5),
    backoffBaseMs: integerOption(0, 500),
    backoffMaxMs: integerOption(0, 30_000),
    maxInFlightPerReceiver: integerOption(1, 100),
    rehomeAfterMs: integerOption(0, 5_000),
    maxExtensions: integerOption(0, 1_000),
  } as const;
}

/** `offlineInbox.maxMessages`: durable messages kept per offline agent. */
export const inboxMaxMessagesSchema = integerOption(1, 10_000);
/** `offlineInbox.maxAgeMs`: how long they wait, with the router's floor. */
export const inboxMaxAgeSchema = (minimumMs: number) => integerOption(minimumMs, 24 * 60 * 60 * 1000);

/** `dedupe`: client message ids remembered for a window, bounded. */
export const dedupeSchema = (minWindowMs: number) =>
  optionGroup({ windowMs: integerOption(minWindowMs, 10 * 60 * 1000), maxEntries: integerOption(1, 100_000) });

/** Where dead letters are published. */
export const deadLetterTopicSchema = { type: 'string', pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$', default: '_DLQ' } as const;
