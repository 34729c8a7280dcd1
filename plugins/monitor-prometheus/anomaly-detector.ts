/**
 * Passive anomaly detection: watches what already flows through the hooks (message outcomes,
 * request/reply latency, leases, restarts) plus agents' RSS, evaluates the configured rules on a
 * timer, and raises `hooks.anomaly` events. It never acts itself: the supervisor decides what a
 * `degrade` or `restart` means for an agent, so detection stays swappable and side-effect free.
 *
 * Signals, per agent:
 * - error-rate: failed (dropped or dead-lettered) / all outcomes of messages addressed to the agent.
 * - p99-latency: request→reply time, attributed to the agent that sent the reply.
 * - missed-renewals: lease renewal periods that passed without a renewal (seen in the registry, or
 *   an `agentDeregistered` whose reason mentions the lease). Only for agents this gateway owns
 *   (`record.gatewayId`): a lease is renewed at the gateway the agent is connected to, and a
 *   cluster registry does not share renewals, so another gateway's copy of the record keeps its
 *   registration-time expiry and would look lapsed for a healthy agent (docs/cluster.md,
 *   "Liveness of remote agents"). The owner's monitor judges it.
 * - rss-growth: newest RSS minus the lowest in the window, for agents whose `pidTag` tag names a
 *   local process.
 * - restart-rate: transitions back to `initializing` within the window.
 */
import { REPLY_TOPIC_PREFIX, type AnomalyEvent, type GatewayHooks, type RegistryService } from '../../kernel';
import type { Logger } from 'pino';
import { AgentWindows, type AgentWindow } from './agent-windows';
import { isRestart } from './gateway-metrics';
import { parsePid, readProcessRss } from './process-rss';
import { quantile } from './sample-ring';
import type { AnomalyRuleOptions, MonitorOptions } from './schema';

const LEASE_REASON = /lease/i;
/** Pending requests older than this are forgotten (the caller gave up long ago). */
const MIN_PENDING_AGE_MS = 60_000;

export interface AnomalyDetectorContext {
  name: string;
  hooks: GatewayHooks;
  logger: Logger;
  registry: RegistryService | undefined;
  /** This gateway: lease signals are taken only for agents it owns. */
  gatewayId: string;
  options: MonitorOptions['anomaly'];
}

export class AnomalyDetector {
  private readonly rules: readonly Required<AnomalyRuleOptions>[];
  private readonly windows: AgentWindows;
  /** correlationId → epoch ms the request was accepted. Insertion order is age order. */
  private readonly pending = new Map<string, number>();
  private readonly maxPendingAgeMs: number;
  private readonly maxWindowMs: number;
  private readonly scratch: Float64Array;
  private readonly countSum = { count: 0, sum: 0 };
  private pendingOverflowReported = false;
  private evictionReported = false;
  private timer?: NodeJS.Timeout;

  constructor(private readonly context: AnomalyDetectorContext) {
    const { options } = context;
    this.rules = options.rules.map((rule) => ({ ...rule, name: rule.name ?? rule.type }));
    this.maxWindowMs = Math.max(MIN_PENDING_AGE_MS, ...this.rules.map((rule) => rule.windowMs));
    this.maxPendingAgeMs = Math.max(
      MIN_PENDING_AGE_MS,
      ...this.rules.filter((rule) => rule.type === 'p99-latency').map((rule) => rule.windowMs),
    );
    this.scratch = new Float64Array(options.samplesPerAgent);
    this.windows = new AgentWindows(options.maxTrackedAgents, options.samplesPerAgent, this.rules.length, (agentId) => {
      if (this.evictionReported) return;
      this.evictionReported = true;
      context.hooks.limitReached.call({
        limit: 'monitor.anomaly.maxTrackedAgents',
        policy: 'evict-least-recently-active',
        plugin: context.name,
        detail: `more than ${options.maxTrackedAgents} agents tracked; forgot ${agentId}`,
      });
    });
  }

  get trackedAgents(): number {
    return this.windows.size;
  }

  get pendingRequests(): number {
    return this.pending.size;
  }

  /** Taps the hooks that feed the windows. */
  attach(): void {
    const { hooks, name } = this.context;
    hooks.messageAccepted.tap(name, (message) => {
      if (!message.correlationId) return;
      if (message.topic.startsWith(REPLY_TOPIC_PREFIX)) this.replySeen(message.correlationId, message.senderId);
      else if (message.replyTo) this.requestSeen(message.correlationId);
    });
    hooks.messageDelivered.tap(name, (message) => {
      if (message.agentId) this.windows.touch(message.agentId, Date.now()).outcomes.push(Date.now(), 0);
    });
    hooks.messageDropped.tap(name, (message) => {
      if (message.agentId) this.failure(message.agentId);
    });
    hooks.messageDeadLettered.tap(name, (deadLetter) => {
      if (deadLetter.message.agentId) this.failure(deadLetter.message.agentId);
    });
    hooks.agentStateChanged.tap(name, (change) => {
      if (!isRestart(change.from, change.to)) return;
      const now = Date.now();
      this.windows.touch(change.agentId, now).restarts.push(now, 1);
    });
    hooks.agentDeregistered.tap(name, (agent, reason) => {
      if (!LEASE_REASON.test(reason) || agent.gatewayId !== this.context.gatewayId) return;
      const window = this.windows.touch(agent.agentId, Date.now());
      // The registry saw the lapse: count it unless the periodic scan already did.
      if (window.countedLeaseExpiry !== agent.leaseExpiresAt) {
        window.countedLeaseExpiry = agent.leaseExpiresAt;
        window.countedLeaseMisses = 1;
        window.leaseMisses.push(Date.now(), 1);
      }
    });
  }

  start(): void {
    if (!this.context.options.enabled) return;
    this.timer = setInterval(() => this.evaluate(Date.now()), this.context.options.evaluateIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One evaluation round: sample the registry, then check every rule for every tracked agent. */
  evaluate(now: number): AnomalyEvent[] {
    this.pendingOverflowReported = false;
    this.evictionReported = false;
    this.sampleRegistry(now);
    this.expirePending(now);
    this.windows.forgetIdle(now - this.maxWindowMs);
    const fired: AnomalyEvent[] = [];
    for (const [agentId, window] of this.windows.entries()) {
      for (let index = 0; index < this.rules.length; index += 1) {
        const rule = this.rules[index];
        const value = this.measure(rule, window, now);
        if (value === undefined || value < rule.threshold) continue;
        const lastFired = window.lastFired[index];
        if (lastFired !== 0 && now - lastFired < this.context.options.cooldownMs) continue;
        window.lastFired[index] = now;
        fired.push({ rule: rule.name, agentId, value, threshold: rule.threshold, action: rule.action, at: now });
      }
    }
    for (const event of fired) {
      this.context.logger.warn({ anomaly: event, agentId: event.agentId }, `anomaly ${event.rule} for agent ${event.agentId}`);
      this.context.hooks.anomaly.call(event);
    }
    return fired;
  }

  private measure(rule: Required<AnomalyRuleOptions>, window: AgentWindow, now: number): number | undefined {
    const since = now - rule.windowMs;
    switch (rule.type) {
      case 'error-rate': {
        window.outcomes.countAndSumSince(since, this.countSum);
        if (this.countSum.count < rule.minSamples) return undefined;
        return this.countSum.sum / this.countSum.count;
      }
      case 'p99-latency': {
        const length = window.latencies.valuesSince(since, this.scratch);
        if (length < rule.minSamples) return undefined;
        return quantile(this.scratch, length, 0.99);
      }
      case 'missed-renewals': {
        window.leaseMisses.countAndSumSince(since, this.countSum);
        return this.countSum.sum;
      }
      case 'restart-rate': {
        window.restarts.countAndSumSince(since, this.countSum);
        return this.countSum.sum;
      }
      case 'rss-growth': {
        const { growth, samples } = window.rss.growthSince(since);
        return samples < Math.max(2, rule.minSamples) ? undefined : growth;
      }
    }
  }

  private failure(agentId: string): void {
    const now = Date.now();
    this.windows.touch(agentId, now).outcomes.push(now, 1);
  }

  private requestSeen(correlationId: string): void {
    if (this.pending.size >= this.context.options.maxPendingRequests) {
      // Oldest first: it is the least likely to still get a reply.
      const oldest = this.pending.keys().next().value;
      if (oldest !== undefined) this.pending.delete(oldest);
      if (!this.pendingOverflowReported) {
        this.pendingOverflowReported = true;
        this.context.hooks.limitReached.call({
          limit: 'monitor.anomaly.maxPendingRequests',
          policy: 'forget-oldest',
          plugin: this.context.name,
          detail: `more than ${this.context.options.maxPendingRequests} requests awaiting a reply`,
        });
      }
    }
    this.pending.set(correlationId, Date.now());
  }

  private replySeen(correlationId: string, replierId: string): void {
    const startedAt = this.pending.get(correlationId);
    if (startedAt === undefined) return;
    this.pending.delete(correlationId);
    if (!replierId) return;
    const now = Date.now();
    const window = this.windows.touch(replierId, now);
    window.latencies.push(now, (now - startedAt) / 1000);
    window.outcomes.push(now, 0);
  }

  private expirePending(now: number): void {
    const cutoff = now - this.maxPendingAgeMs;
    for (const [correlationId, startedAt] of this.pending) {
      if (startedAt >= cutoff) break;
      this.pending.delete(correlationId);
    }
  }

  /** Lease overdue checks and RSS samples need the registry's view of every agent. */
  private sampleRegistry(now: number): void {
    const registry = this.context.registry;
    if (!registry) return;
    const { maxTrackedAgents, pidTag } = this.context.options;
    for (const agent of registry.discover({ limit: maxTrackedAgents })) {
      if (agent.state === 'terminated') continue;
      const owned = agent.gatewayId === this.context.gatewayId;
      if (owned && agent.leaseTtlMs > 0 && agent.leaseExpiresAt > 0 && now > agent.leaseExpiresAt) {
        const missed = Math.floor((now - agent.leaseExpiresAt) / agent.leaseTtlMs) + 1;
        const window = this.windows.touch(agent.agentId, now);
        const counted = window.countedLeaseExpiry === agent.leaseExpiresAt ? window.countedLeaseMisses : 0;
        if (missed > counted) {
          window.leaseMisses.push(now, missed - counted);
          window.countedLeaseExpiry = agent.leaseExpiresAt;
          window.countedLeaseMisses = missed;
        }
      }
      const pid = parsePid(agent.tags[pidTag]);
      if (pid !== undefined) {
        const rss = readProcessRss(pid);
        if (rss !== undefined) this.windows.touch(agent.agentId, now).rss.push(now, rss);
      }
    }
  }
}
