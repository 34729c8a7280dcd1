/**
 * Per-identity quotas: what one credential may hold so it cannot fill the gateway for everybody
 * (the global caps — registry size, `maxSubscribeStreams` — still apply on top).
 *
 * - `agentsPerIdentity`: agents registered by one identity (counted from the registry's own
 *   events, so agents it registered through another gateway of a cluster count too, plus its
 *   registrations in flight, so concurrent calls cannot slip past the count).
 * - `streamsPerIdentity`: Subscribe and PublishStream streams open at once.
 * - `subscriptionsPerIdentity`: topic patterns across its live Subscribe streams.
 * - `publishRate`: a token bucket of messages (SendMessage, Request, each message of a batch),
 *   refilled at `messagesPerSecond` up to `burst`.
 *
 * Each refusal is GW_RESOURCE_EXHAUSTED naming the option (`quotas.agentsPerIdentity` …), counts in
 * `openclaw_transport_grpc_quota_rejections_total{quota}` and fires `limitReached`
 * (`transport.grpc.quotas.<name>`, at most once a second per quota). In open mode every caller is
 * the one identity `anonymous`, so these are then gateway-wide limits for all local clients.
 *
 * The maps are keyed by identity, bounded by what the identities hold (an identity with nothing
 * open has no entry); the rate buckets are bounded by `maxTrackedIdentities` (least recently
 * used bucket forgotten: that identity starts again with a full bucket).
 */
import { GatewayError, type AgentRecord, type GatewayHooks, type Identity, type MetricsFactory } from '../../kernel';

export interface QuotaOptions {
  agentsPerIdentity: number;
  subscriptionsPerIdentity: number;
  streamsPerIdentity: number;
  publishRate: { messagesPerSecond: number; burst: number };
  connectionsPerPeer: number;
  maxTrackedIdentities: number;
}

type QuotaName = 'agentsPerIdentity' | 'subscriptionsPerIdentity' | 'streamsPerIdentity' | 'publishRate' | 'connectionsPerPeer';

interface Bucket {
  tokens: number;
  refilledAt: number;
}

/** One hook call per quota per second at most: a flood of refusals must not become a flood of events. */
const LIMIT_EVENT_INTERVAL_MS = 1000;

export class IdentityQuotas {
  private readonly agents = new Map<string, Set<string>>();
  private readonly registering = new Map<string, number>();
  private readonly streams = new Map<string, number>();
  private readonly subscriptions = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  /**
   * The bucket of the last identity that published, kept beside the map: one client publishing in
   * a loop is the common case, and re-inserting its entry per message was the costliest line here.
   * Only ever set right after that key was (re)inserted last, so it is the map's newest entry.
   */
  private lastBucketId?: string;
  private lastBucket?: Bucket;
  private readonly lastLimitEvent = new Map<QuotaName, number>();
  private readonly rejections;

  constructor(
    private readonly options: QuotaOptions,
    private readonly deps: { hooks: GatewayHooks; metrics: MetricsFactory; pluginName: string },
  ) {
    this.rejections = deps.metrics.counter({
      name: 'transport_grpc_quota_rejections_total',
      help: 'Calls or messages refused by a per-identity or per-peer quota, by quota',
      labelNames: ['quota'] as const,
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect() with the gauge as `this`
    const quotas = this;
    deps.metrics.gauge({
      name: 'transport_grpc_quota_identities',
      help: 'Identities currently holding something counted by a quota, by quota',
      labelNames: ['quota'] as const,
      collect() {
        this.set({ quota: 'agentsPerIdentity' }, quotas.agents.size);
        this.set({ quota: 'streamsPerIdentity' }, quotas.streams.size);
        this.set({ quota: 'subscriptionsPerIdentity' }, quotas.subscriptions.size);
        this.set({ quota: 'publishRate' }, quotas.buckets.size);
      },
    });
  }

  /** Keeps the agent counts in step with the registry (local and, in a cluster, remote changes). */
  attach(): void {
    const { hooks, pluginName } = this.deps;
    hooks.agentRegistered.tap(pluginName, (agent) => this.agentAdded(agent));
    hooks.agentDeregistered.tap(pluginName, (agent) => this.agentRemoved(agent));
  }

  /**
   * Admits one RegisterAgent call of `identity` for `agentId` (empty: the registry picks one).
   * Re-registering an agent it already holds is free. Returns the release to call when the
   * registration finished (either way).
   */
  beginRegistration(identity: Identity, agentId: string): () => void {
    const held = this.agents.get(identity.id);
    if (agentId !== '' && held?.has(agentId)) return () => undefined;
    const limit = this.options.agentsPerIdentity;
    const inFlight = this.registering.get(identity.id) ?? 0;
    if ((held?.size ?? 0) + inFlight >= limit) {
      throw this.refuse(
        'agentsPerIdentity',
        `identity "${identity.id}" has ${held?.size ?? 0} agents registered; quotas.agentsPerIdentity allows ${limit}. Deregister some or raise the quota`,
      );
    }
    this.registering.set(identity.id, inFlight + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.registering.get(identity.id) ?? 1) - 1;
      if (left <= 0) this.registering.delete(identity.id);
      else this.registering.set(identity.id, left);
    };
  }

  /** A registration succeeded: counted at once (the registry's event may come later). */
  registered(agent: AgentRecord): void {
    this.agentAdded(agent);
  }

  /**
   * Admits a stream (Subscribe with `topics` patterns, or PublishStream with 0). Returns its
   * release, to call once when the stream ends.
   */
  openStream(identity: Identity, topics: number): () => void {
    const streams = this.streams.get(identity.id) ?? 0;
    if (streams >= this.options.streamsPerIdentity) {
      throw this.refuse(
        'streamsPerIdentity',
        `identity "${identity.id}" has ${streams} streams open; quotas.streamsPerIdentity allows ${this.options.streamsPerIdentity}. Close some or raise the quota`,
      );
    }
    const subscriptions = this.subscriptions.get(identity.id) ?? 0;
    if (topics > 0 && subscriptions + topics > this.options.subscriptionsPerIdentity) {
      throw this.refuse(
        'subscriptionsPerIdentity',
        `identity "${identity.id}" holds ${subscriptions} topic subscriptions and asks for ${topics} more; quotas.subscriptionsPerIdentity allows ${this.options.subscriptionsPerIdentity}`,
      );
    }
    this.streams.set(identity.id, streams + 1);
    if (topics > 0) this.subscriptions.set(identity.id, subscriptions + topics);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      decrement(this.streams, identity.id, 1);
      if (topics > 0) decrement(this.subscriptions, identity.id, topics);
    };
  }

  /**
   * Takes up to `count` publish tokens for `identity`; returns how many it got (the first that
   * many messages may go, the rest are refused with `publishRateError`).
   */
  takePublishTokens(identity: Identity, count: number, now = Date.now()): number {
    const { messagesPerSecond, burst } = this.options.publishRate;
    if (messagesPerSecond <= 0) return count;
    const bucket = this.bucketFor(identity.id, burst, now);
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.refilledAt) * messagesPerSecond) / 1000);
    bucket.refilledAt = now;
    const granted = Math.min(count, Math.floor(bucket.tokens));
    bucket.tokens -= granted;
    return granted;
  }

  /** `id`'s rate bucket, made the most recently used (a new one starts full). */
  private bucketFor(id: string, burst: number, now: number): Bucket {
    // The last bucket taken from is already last in Map order (most recently used): no re-insert.
    if (id === this.lastBucketId && this.lastBucket !== undefined) return this.lastBucket;
    let bucket = this.buckets.get(id);
    if (bucket) {
      // Re-inserted: Map order is the least-recently-used order for eviction.
      this.buckets.delete(id);
    } else {
      if (this.buckets.size >= this.options.maxTrackedIdentities) {
        this.buckets.delete(this.buckets.keys().next().value as string);
        this.limitEvent('publishRate', 'evict-lru', 'rate buckets full (quotas.maxTrackedIdentities)');
      }
      bucket = { tokens: burst, refilledAt: now };
    }
    this.buckets.set(id, bucket);
    this.lastBucketId = id;
    this.lastBucket = bucket;
    return bucket;
  }

  /** The refusal of a message over the publish rate (counted once per refused message). */
  publishRateError(identity: Identity, refused = 1): GatewayError {
    const { messagesPerSecond, burst } = this.options.publishRate;
    const waitMs = Math.ceil(1000 / messagesPerSecond);
    return this.refuse(
      'publishRate',
      `identity "${identity.id}" publishes faster than quotas.publishRate allows (${messagesPerSecond} messages/s, burst ${burst}); retry in ${waitMs} ms`,
      refused,
      { retryAfterMs: waitMs },
    );
  }

  /** A refusal for a quota: counted, announced (rate-limited) and returned to throw. */
  refuse(quota: QuotaName, message: string, count = 1, details?: Record<string, unknown>): GatewayError {
    this.rejections.inc({ quota }, count);
    this.limitEvent(quota, 'reject', message);
    return new GatewayError('GW_RESOURCE_EXHAUSTED', `quotas.${quota}: ${message}`, {
      field: `quotas.${quota}`,
      ...(details ? { details } : {}),
    });
  }

  private limitEvent(quota: QuotaName, policy: string, detail: string): void {
    const now = Date.now();
    if (now - (this.lastLimitEvent.get(quota) ?? 0) < LIMIT_EVENT_INTERVAL_MS) return;
    this.lastLimitEvent.set(quota, now);
    this.deps.hooks.limitReached.call({ limit: `transport.grpc.quotas.${quota}`, policy, plugin: this.deps.pluginName, detail });
  }

  private agentAdded(agent: AgentRecord): void {
    if (agent.identity === undefined) return;
    let held = this.agents.get(agent.identity);
    if (!held) {
      held = new Set();
      this.agents.set(agent.identity, held);
    }
    held.add(agent.agentId);
  }

  private agentRemoved(agent: AgentRecord): void {
    if (agent.identity === undefined) return;
    const held = this.agents.get(agent.identity);
    if (!held) return;
    held.delete(agent.agentId);
    if (held.size === 0) this.agents.delete(agent.identity);
  }
}

function decrement(map: Map<string, number>, key: string, by: number): void {
  const left = (map.get(key) ?? by) - by;
  if (left <= 0) map.delete(key);
  else map.set(key, left);
}
