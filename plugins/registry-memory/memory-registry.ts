/**
 * The in-memory registry: the agents map, the discovery index, sessions and leases, kept
 * consistent with each other. Every mutation is synchronous (the async signatures are the
 * contract's, for distributed registries), so hooks always see a settled registry, and a hook tap
 * that throws is logged without leaving the indexes half-updated.
 */
import type { Logger } from 'pino';
import {
  AGENT_STATES,
  GatewayError,
  generateAgentId,
  invalidArgument,
  isLegalTransition,
  validateAgentInfo,
  type AgentHealth,
  type AgentInfo,
  type AgentRecord,
  type AgentState,
  type DiscoveryQuery,
  type GatewayHooks,
  type RegisterContext,
  type RegisterResult,
  type RegistryService,
  type ValidatedInfo,
} from '../../kernel';
import type { AgentEntry } from './agent-entry';
import { LeaseWheel, UNSCHEDULED } from './lease-wheel';
import { RangeCache } from './range-cache';
import type { RegistryMetrics } from './registry-metrics';
import type { MemoryRegistryOptions } from './schema';
import { ServiceIndex, type CompiledQuery } from './service-index';

const AGENT_HEALTHS: readonly AgentHealth[] = ['unknown', 'healthy', 'degraded', 'unhealthy'];
const EMPTY_KEYS: readonly string[] = [];
const EMPTY_TAGS: Readonly<Record<string, string>> = Object.freeze({});
/** Longer ranges are refused before parsing: a client must not make us parse megabytes. */
const MAX_RANGE_LENGTH = 256;
const MAX_REASON_LENGTH = 256;

export interface MemoryRegistryContext {
  /** Plugin instance name: names hook taps and `limitReached` events. */
  name: string;
  options: MemoryRegistryOptions;
  hooks: GatewayHooks;
  logger: Logger;
  metrics: RegistryMetrics;
  gatewayId: string;
  isDraining(): boolean;
}

export class MemoryRegistry implements RegistryService {
  private readonly agents = new Map<string, AgentEntry>();
  /** sessionId → agents bound to it. Bounded by the agents map: a session without agents is deleted. */
  private readonly sessions = new Map<string, Set<AgentEntry>>();
  private readonly index = new ServiceIndex();
  private readonly ranges: RangeCache;
  private readonly wheel: LeaseWheel<AgentEntry>;
  private revision = 0;
  private timer?: NodeJS.Timeout;
  /** Range-cache evictions are reported through `limitReached` at most once per sweep. */
  private rangeEvictionsUnreported = 0;

  constructor(private readonly context: MemoryRegistryContext) {
    this.wheel = new LeaseWheel(context.options.sweepIntervalMs, Date.now());
    this.ranges = new RangeCache(context.options.rangeCacheSize, () => {
      context.metrics.rangeEvicted();
      this.rangeEvictionsUnreported++;
    });
  }

  /** Starts the lease sweep; it stops with `stop()` or when `signal` aborts. */
  start(signal: AbortSignal): void {
    if (this.timer || signal.aborted) return;
    this.timer = setInterval(() => this.sweep(Date.now()), this.context.options.sweepIntervalMs);
    this.timer.unref();
    signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async register(info: AgentInfo, context: RegisterContext = {}): Promise<RegisterResult> {
    return this.registerNow(info, context);
  }

  async deregister(agentId: string, reason: string): Promise<boolean> {
    const entry = this.agents.get(agentId);
    if (!entry) return false;
    return this.remove(entry, boundedReason(reason, 'deregister'));
  }

  async renew(agentId: string): Promise<AgentRecord> {
    const entry = this.require(agentId);
    if (entry.phase === 'lapsed') {
      entry.phase = 'leased';
      const before = entry.healthBeforeLapse;
      entry.healthBeforeLapse = undefined;
      // Back in time: undo what the lapse did, unless someone set the health since.
      if (before !== undefined && entry.record.health === 'unhealthy') this.changeHealth(entry, before, 'lease-renewed');
      if (entry.removed) throw notFound(agentId);
    }
    const leaseExpiresAt = Date.now() + entry.record.leaseTtlMs;
    this.update(entry, { leaseExpiresAt });
    this.wheel.schedule(entry, leaseExpiresAt);
    return entry.record;
  }

  attachSession(agentId: string, sessionId: string): void {
    if (typeof sessionId !== 'string' || sessionId === '') throw invalidArgument('session_id', 'must be a non-empty string');
    const entry = this.require(agentId);
    if (entry.record.sessionId === sessionId) return;
    this.unbindSession(entry);
    this.update(entry, { sessionId });
    this.bindSession(entry, sessionId);
  }

  sessionClosed(sessionId: string): void {
    const bound = this.sessions.get(sessionId);
    if (!bound) return;
    this.sessions.delete(sessionId);
    for (const entry of [...bound]) {
      // A tap may have re-bound the agent elsewhere while we were removing its siblings.
      if (entry.record.sessionId === sessionId) this.remove(entry, 'session-closed');
    }
  }

  setState(agentId: string, state: AgentState, reason: string): AgentRecord {
    if (!AGENT_STATES.includes(state)) throw invalidArgument('state', `"${String(state)}" is not one of ${AGENT_STATES.join(', ')}`);
    const entry = this.require(agentId);
    const from = entry.record.state;
    if (from === state) return entry.record;
    if (!isLegalTransition(from, state)) {
      throw new GatewayError(
        'GW_FAILED_PRECONDITION',
        `agent "${agentId}" cannot go from ${from} to ${state} (illegal transition ${from}→${state})`,
        {
          field: 'state',
          details: { agentId, from, to: state },
        },
      );
    }
    const counts = this.context.metrics.byState;
    counts[from]--;
    counts[state]++;
    this.update(entry, { state });
    const record = entry.record;
    const hook = this.context.hooks.agentStateChanged;
    if (hook.isUsed()) {
      const change = { agentId, service: record.service, from, to: state, reason: boundedReason(reason, 'unspecified'), at: Date.now() };
      this.notify('agentStateChanged', () => hook.call(change));
    }
    return entry.record;
  }

  setHealth(agentId: string, health: AgentHealth, reason: string): AgentRecord {
    if (!AGENT_HEALTHS.includes(health)) throw invalidArgument('health', `"${String(health)}" is not one of ${AGENT_HEALTHS.join(', ')}`);
    const entry = this.require(agentId);
    // An explicit verdict wins over the one the lease lapse made.
    entry.healthBeforeLapse = undefined;
    this.changeHealth(entry, health, boundedReason(reason, 'unspecified'));
    return entry.record;
  }

  get(agentId: string): AgentRecord | undefined {
    return this.agents.get(agentId)?.record;
  }

  discover(query: DiscoveryQuery = {}): AgentRecord[] {
    return this.index.find(this.compile(query ?? {}));
  }

  size(): number {
    return this.agents.size;
  }

  /** Processes every lease deadline due at `now`. Public so tests and the timer share one path. */
  sweep(now: number): void {
    this.wheel.sweep(now, (entry) => this.leaseDue(entry));
    if (this.rangeEvictionsUnreported > 0) {
      const evicted = this.rangeEvictionsUnreported;
      this.rangeEvictionsUnreported = 0;
      this.limitReached('registry.rangeCacheSize', 'evict-lru', `${evicted} parsed version range(s) evicted`);
    }
  }

  private registerNow(raw: AgentInfo, context: RegisterContext): RegisterResult {
    const { options, metrics } = this.context;
    if (this.context.isDraining()) {
      metrics.rejected('draining');
      throw new GatewayError('GW_DRAINING', 'the gateway is draining and accepts no new registrations');
    }
    let validated: ValidatedInfo;
    try {
      validated = validateAgentInfo(raw, options);
    } catch (error) {
      metrics.rejected('invalid');
      throw error;
    }
    const identity = context.identity?.id;
    const chosenId = validated.info.agentId;
    const existing = chosenId === '' ? undefined : this.agents.get(chosenId);
    if (existing) this.checkDuplicate(existing, identity);
    else this.checkCapacity();

    const agentId = chosenId || generateAgentId(validated.info.service, (id) => this.agents.has(id), options.maxNameLength);
    const info: AgentInfo = { ...validated.info, agentId, tags: Object.freeze(validated.info.tags) };
    Object.freeze(info.capabilities);
    const admission = this.context.hooks.admitAgent.call({
      info,
      identity: context.identity,
      state: 'running',
      managed: context.managed ?? false,
      instanceToken: context.instanceToken,
    });
    if (!AGENT_STATES.includes(admission.state)) {
      throw new GatewayError('GW_INTERNAL', `an admitAgent tap returned the unknown state "${String(admission.state)}" for "${agentId}"`);
    }

    // Re-read: an admitAgent tap may have registered or removed agents meanwhile.
    const replacing = this.agents.get(agentId);
    if (replacing !== undefined && replacing !== existing) this.checkDuplicate(replacing, identity);
    if (replacing) this.remove(replacing, 'replaced');
    else if (existing === undefined) this.checkCapacity();

    const now = Date.now();
    const record = createRecord(info, {
      state: admission.state,
      health: 'unknown',
      identity,
      sessionId: context.sessionId || undefined,
      gatewayId: this.context.gatewayId,
      managed: admission.managed === true,
      registeredAt: now,
      leaseExpiresAt: now + info.leaseTtlMs,
      revision: ++this.revision,
    });
    const entry: AgentEntry = {
      record: Object.freeze(record),
      semver: validated.semver,
      capabilities: validated.capabilitySet,
      bucket: undefined,
      position: -1,
      slot: UNSCHEDULED,
      phase: 'leased',
      removed: false,
    };
    this.agents.set(agentId, entry);
    this.index.add(entry);
    if (context.sessionId) this.bindSession(entry, context.sessionId);
    this.wheel.schedule(entry, record.leaseExpiresAt);
    metrics.byState[record.state]++;
    metrics.registered(replacing ? 'replaced' : 'new');
    this.context.logger.debug({ agentId, service: record.service, version: record.version, replaced: !!replacing }, 'agent registered');
    this.notify('agentRegistered', () => this.context.hooks.agentRegistered.call(entry.record));
    return { record: entry.record, replaced: replacing !== undefined };
  }

  private checkDuplicate(existing: AgentEntry, identity: string | undefined): void {
    const policy = this.context.options.duplicateIdPolicy;
    if (policy === 'replace-same-identity' && existing.record.identity === identity) return;
    this.context.metrics.rejected('duplicate-id');
    const why =
      policy === 'reject' ? 'the registry is configured with duplicateIdPolicy "reject"' : 'it was registered by another identity';
    throw new GatewayError(
      'GW_ALREADY_EXISTS',
      `agent_id: "${existing.record.agentId}" is already registered and ${why}; choose another agent_id or leave it empty`,
      {
        field: 'agent_id',
        details: { agentId: existing.record.agentId, policy },
      },
    );
  }

  private checkCapacity(): void {
    const max = this.context.options.maxInstances;
    if (this.agents.size < max) return;
    this.context.metrics.rejected('max-instances');
    this.limitReached('registry.maxInstances', 'reject', `${this.agents.size} agents registered`);
    throw new GatewayError(
      'GW_RESOURCE_EXHAUSTED',
      `the registry holds its maximum of ${max} agents (maxInstances); deregister agents or raise the limit`,
      {
        details: { limit: 'registry.maxInstances', max },
      },
    );
  }

  private leaseDue(entry: AgentEntry): void {
    if (entry.removed) return;
    if (entry.phase === 'lapsed') {
      this.remove(entry, 'lease-expired');
      return;
    }
    this.context.metrics.leaseExpired();
    entry.phase = 'lapsed';
    const { markUnhealthy, removeAfterMs } = this.context.options.leaseExpiry;
    if (removeAfterMs === 0) {
      this.remove(entry, 'lease-expired');
      return;
    }
    if (markUnhealthy && entry.record.health !== 'unhealthy') {
      entry.healthBeforeLapse = entry.record.health;
      this.changeHealth(entry, 'unhealthy', 'lease-expired');
    }
    // A tap may have renewed or removed the agent while hearing about its health.
    if (entry.removed || entry.phase !== 'lapsed') return;
    this.wheel.schedule(entry, entry.record.leaseExpiresAt + removeAfterMs);
  }

  private changeHealth(entry: AgentEntry, health: AgentHealth, reason: string): void {
    const from = entry.record.health;
    if (from === health) return;
    this.update(entry, { health });
    const hook = this.context.hooks.healthChanged;
    if (!hook.isUsed()) return;
    const record = entry.record;
    const change = { agentId: record.agentId, service: record.service, from, to: health, reason, at: Date.now() };
    this.notify('healthChanged', () => hook.call(change));
  }

  private remove(entry: AgentEntry, reason: string): boolean {
    if (entry.removed) return false;
    entry.removed = true;
    this.agents.delete(entry.record.agentId);
    this.index.remove(entry);
    this.wheel.cancel(entry);
    this.unbindSession(entry);
    this.context.metrics.byState[entry.record.state]--;
    this.context.metrics.removed(reason);
    this.context.logger.debug({ agentId: entry.record.agentId, reason }, 'agent removed');
    this.notify('agentDeregistered', () => this.context.hooks.agentDeregistered.call(entry.record, reason));
    return true;
  }

  /** Copy-on-write: records already handed out stay as they were. */
  private update(entry: AgentEntry, change: Partial<AgentRecord>): void {
    const next = createRecord(entry.record, entry.record);
    Object.assign(next, change);
    next.revision = ++this.revision;
    entry.record = Object.freeze(next);
  }

  private bindSession(entry: AgentEntry, sessionId: string): void {
    let bound = this.sessions.get(sessionId);
    if (!bound) {
      bound = new Set();
      this.sessions.set(sessionId, bound);
    }
    bound.add(entry);
  }

  private unbindSession(entry: AgentEntry): void {
    const sessionId = entry.record.sessionId;
    if (sessionId === undefined) return;
    const bound = this.sessions.get(sessionId);
    if (!bound) return;
    bound.delete(entry);
    if (bound.size === 0) this.sessions.delete(sessionId);
  }

  private require(agentId: string): AgentEntry {
    const entry = typeof agentId === 'string' ? this.agents.get(agentId) : undefined;
    if (!entry) throw notFound(agentId);
    return entry;
  }

  private compile(query: DiscoveryQuery): CompiledQuery {
    const { options } = this.context;
    const { service, versionRange, tags, capabilities, limit } = query;
    if (service !== undefined && typeof service !== 'string') throw invalidArgument('service', 'must be a string');
    let range;
    if (versionRange !== undefined && versionRange !== '') {
      if (typeof versionRange !== 'string') throw invalidArgument('version_range', 'must be a string');
      if (versionRange.length > MAX_RANGE_LENGTH) {
        throw invalidArgument('version_range', `is ${versionRange.length} characters long; the limit is ${MAX_RANGE_LENGTH}`);
      }
      range = this.ranges.get(versionRange);
    }
    let tagKeys = EMPTY_KEYS;
    if (tags !== undefined && tags !== null) {
      if (typeof tags !== 'object' || Array.isArray(tags)) throw invalidArgument('tags', 'must be a map of string to string');
      tagKeys = Object.keys(tags);
      if (tagKeys.length > options.maxTags) throw invalidArgument('tags', `has ${tagKeys.length} entries; the limit is ${options.maxTags}`);
      for (const key of tagKeys) if (typeof tags[key] !== 'string') throw invalidArgument(`tags.${key.slice(0, 64)}`, 'must be a string');
    }
    let wanted = EMPTY_KEYS;
    if (capabilities !== undefined && capabilities !== null) {
      if (!Array.isArray(capabilities)) throw invalidArgument('capabilities', 'must be a list of strings');
      if (capabilities.length > options.maxCapabilities) {
        throw invalidArgument('capabilities', `has ${capabilities.length} entries; the limit is ${options.maxCapabilities}`);
      }
      wanted = capabilities;
    }
    let max = options.maxDiscoverResults;
    if (limit !== undefined && limit !== 0) {
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0)
        throw invalidArgument('limit', `must be a non-negative integer, got ${String(limit)}`);
      max = Math.min(limit, max);
    }
    return {
      service: service === '' ? undefined : service,
      range,
      tagKeys,
      tags: tags ?? EMPTY_TAGS,
      capabilities: wanted,
      routableOnly: query.routableOnly === true,
      limit: max,
    };
  }

  private limitReached(limit: string, policy: string, detail: string): void {
    const hook = this.context.hooks.limitReached;
    if (!hook.isUsed()) return;
    this.notify('limitReached', () => hook.call({ limit, policy, plugin: this.context.name, detail }));
  }

  /** Runs a notification; a throwing tap is logged, never allowed to corrupt registry state. */
  private notify(hook: string, call: () => void): void {
    try {
      call();
    } catch (error) {
      this.context.logger.error({ err: error, hook }, 'a hook tap threw; the registry carried on');
    }
  }
}

type RecordStatus = Omit<AgentRecord, keyof AgentInfo>;

/**
 * Every record is built by this one literal, every field present and in one order, so all records
 * share one hidden class. Spreads and optional fields added later gave records many shapes, and
 * the discovery loop's property reads went megamorphic (several times slower at 10k agents).
 */
function createRecord(info: Readonly<AgentInfo>, status: Readonly<RecordStatus>): AgentRecord {
  return {
    agentId: info.agentId,
    service: info.service,
    version: info.version,
    tags: info.tags,
    capabilities: info.capabilities,
    leaseTtlMs: info.leaseTtlMs,
    profile: info.profile,
    state: status.state,
    health: status.health,
    identity: status.identity,
    sessionId: status.sessionId,
    gatewayId: status.gatewayId,
    managed: status.managed,
    registeredAt: status.registeredAt,
    leaseExpiresAt: status.leaseExpiresAt,
    revision: status.revision,
  };
}

function notFound(agentId: string): GatewayError {
  return new GatewayError('GW_NOT_FOUND', `agent_id: no agent "${String(agentId)}" is registered`, { field: 'agent_id' });
}

function boundedReason(reason: string, fallback: string): string {
  if (typeof reason !== 'string' || reason === '') return fallback;
  return reason.length > MAX_REASON_LENGTH ? reason.slice(0, MAX_REASON_LENGTH) : reason;
}
