/**
 * The cluster registry: every gateway keeps the whole cluster's agents in memory (reads stay
 * synchronous, as the contract requires) from a JetStream KV watch, and writes only the entries of
 * the agents connected to it. A gateway that stops heartbeating is dead: its agents leave every
 * view at once and its KV entries are deleted `deadGatewayPurgeAfterMs` later (compare-and-delete,
 * so an agent that re-homed meanwhile keeps its new entry).
 */
import type { Logger } from 'pino';
import semver from 'semver';
import { StorageType, type KV, type KvEntry, type NatsConnection, type Subscription } from 'nats';
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
} from '../../kernel';
import { GatewayLiveness } from './gateway-liveness';
import { agentKey, decodeRecord, encodeRecord } from './record-codec';
import type { RegistryMetrics } from './registry-metrics';
import type { NatsRegistryOptions } from './schema';
import { retryJetStream } from '../../support/nats/jetstream-ensure';

const AGENT_HEALTHS: readonly AgentHealth[] = ['unknown', 'healthy', 'degraded', 'unhealthy'];
const MAX_REASON_LENGTH = 256;
const MAX_RANGE_LENGTH = 256;

interface Entry {
  record: AgentRecord;
  /** Owned by this gateway: we hold its lease and session, and write its KV entry. */
  local: boolean;
  /** KV revision of the last write we saw for it (0 before the first). */
  kvRevision: number;
  visible: boolean;
  /** Local only: set when the lease lapsed and the agent waits out the grace period. */
  lapsedAt: number;
  healthBeforeLapse?: AgentHealth;
}

export interface ClusterRegistryContext {
  name: string;
  options: NatsRegistryOptions;
  hooks: GatewayHooks;
  logger: Logger;
  metrics: RegistryMetrics;
  gatewayId: string;
  isDraining(): boolean;
}

export class ClusterRegistry implements RegistryService {
  private readonly entries = new Map<string, Entry>();
  private readonly localEntries = new Set<Entry>();
  /** Visible entries by service, for discovery. */
  private readonly byService = new Map<string, Set<Entry>>();
  private readonly sessions = new Map<string, Set<Entry>>();
  private readonly ranges = new Map<string, semver.Range | null>();
  private readonly liveness: GatewayLiveness;
  private revision = 0;
  private visibleCount = 0;
  private kv?: KV;
  private nc?: NatsConnection;
  private heartbeatTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private heartbeatSub?: Subscription;
  private watching?: Promise<void>;
  private stopWatch?: () => void;
  private stopped = false;
  private readonly heartbeatSubject: string;
  private readonly byeSubject: string;

  constructor(private readonly context: ClusterRegistryContext) {
    const { options } = context;
    this.heartbeatSubject = `${options.prefix}.registry.hb`;
    this.byeSubject = `${options.prefix}.registry.bye`;
    this.liveness = new GatewayLiveness(
      context.gatewayId,
      { deadAfterMs: options.gatewayDeadAfterMs, purgeAfterMs: options.deadGatewayPurgeAfterMs, maxGateways: options.maxGateways },
      {
        died: (id) => this.gatewayDied(id),
        revived: (id) => this.gatewayRevived(id),
        expired: (id) => this.purgeGateway(id),
        full: (id) => this.limitReached('registry.maxGateways', 'ignore', `gateway ${id} not tracked`),
      },
    );
  }

  get bucket(): string {
    return `${this.context.options.prefix}_registry`;
  }

  get aliveGateways(): number {
    return this.liveness.aliveCount;
  }

  get localCount(): number {
    return this.localEntries.size;
  }

  /** Binds (creating if needed) the KV bucket, loads the cluster view, starts heartbeats. */
  async start(nc: NatsConnection): Promise<void> {
    const { options } = this.context;
    this.nc = nc;
    const js = nc.jetstream();
    const setup = { nc, options: options.jetstreamSetup, onRetry: (info: object) => this.context.logger.warn(info, 'JetStream not ready; retrying') };
    // views.kv finds or creates the bucket's stream; concurrent creators all end up bound to it.
    this.kv = await retryJetStream(`open KV bucket "${this.bucket}"`, setup, () =>
      js.views.kv(this.bucket, { history: 1, replicas: options.replicas, storage: options.storage === 'memory' ? StorageType.Memory : StorageType.File }),
    );
    this.heartbeatSub = nc.subscribe(`${options.prefix}.registry.>`, {
      callback: (error, msg) => {
        if (error) return;
        const id = msg.string();
        if (msg.subject === this.heartbeatSubject) this.liveness.heartbeat(id, Date.now());
        else if (msg.subject === this.byeSubject && id !== this.context.gatewayId) this.liveness.left(id, Date.now());
      },
    });
    let initialized!: () => void;
    const loaded = new Promise<void>((resolve) => (initialized = resolve));
    // initializedFn fires once the current values were delivered (at once for an empty bucket).
    const watcher = await this.kv.watch({ key: 'a.>', initializedFn: () => initialized() });
    this.watching = (async () => {
      for await (const entry of watcher) this.applyKvEntry(entry);
    })().catch((error: unknown) => {
      if (!this.stopped) this.context.logger.error({ err: error }, 'registry KV watch ended');
    });
    this.stopWatch = () => watcher.stop();
    await loaded;
    this.publishHeartbeat();
    this.heartbeatTimer = setInterval(() => this.publishHeartbeat(), options.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), options.sweepIntervalMs);
    this.sweepTimer.unref();
    void this.followConnection(nc);
  }

  /** Removes this gateway's agents from the cluster and tells the others it left. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.heartbeatTimer);
    clearInterval(this.sweepTimer);
    const kv = this.kv;
    if (kv && this.nc && !this.nc.isClosed()) {
      const deletes: Promise<unknown>[] = [];
      for (const entry of this.localEntries) deletes.push(kv.delete(agentKey(entry.record.agentId), { previousSeq: entry.kvRevision }).catch(() => undefined));
      await Promise.all(deletes);
      this.nc.publish(this.byeSubject, this.context.gatewayId);
      await this.nc.flush().catch(() => undefined);
    }
    this.heartbeatSub?.unsubscribe();
    this.stopWatch?.();
    await this.watching;
  }

  // ---- RegistryService ---------------------------------------------------------------------

  async register(raw: AgentInfo, context: RegisterContext = {}): Promise<RegisterResult> {
    const { options, metrics, hooks } = this.context;
    if (this.context.isDraining()) throw new GatewayError('GW_DRAINING', 'the gateway is draining and accepts no new registrations');
    if (!this.kv) throw new GatewayError('GW_UNAVAILABLE', 'the cluster registry is not connected to NATS yet');
    const { info } = validateAgentInfo(raw, options);
    const identity = context.identity?.id;
    const existing = info.agentId === '' ? undefined : this.entries.get(info.agentId);
    if (existing?.visible) this.checkDuplicate(existing, identity);
    else if (!existing) this.checkCapacity();
    const agentId = info.agentId || generateAgentId(info.service, (id) => this.entries.has(id), options.maxNameLength);
    const admission = hooks.admitAgent.call({ info: { ...info, agentId }, identity: context.identity, state: 'running', managed: context.managed ?? false, instanceToken: context.instanceToken });
    if (!AGENT_STATES.includes(admission.state)) throw new GatewayError('GW_INTERNAL', `an admitAgent tap returned the unknown state "${String(admission.state)}"`);
    const now = Date.now();
    const record: AgentRecord = {
      agentId,
      service: info.service,
      version: info.version,
      tags: info.tags,
      capabilities: info.capabilities,
      leaseTtlMs: info.leaseTtlMs,
      profile: info.profile,
      state: admission.state,
      health: 'unknown',
      identity,
      sessionId: context.sessionId || undefined,
      gatewayId: this.context.gatewayId,
      managed: admission.managed === true,
      registeredAt: now,
      leaseExpiresAt: now + info.leaseTtlMs,
      revision: ++this.revision,
    };
    const replacing = this.entries.get(agentId);
    if (replacing) this.drop(replacing, 'replaced', false);
    const entry: Entry = { record: Object.freeze(record), local: true, kvRevision: 0, visible: false, lapsedAt: 0 };
    this.entries.set(agentId, entry);
    this.localEntries.add(entry);
    this.show(entry);
    if (record.sessionId) this.bindSession(entry, record.sessionId);
    try {
      entry.kvRevision = await this.kv.put(agentKey(agentId), encodeRecord(record));
    } catch (error) {
      // Never announced, so nothing to take back.
      this.drop(entry, 'kv-write-failed', false);
      metrics.kvErrors.inc();
      throw new GatewayError('GW_UNAVAILABLE', `the cluster registry could not store agent "${agentId}" in NATS; retry`, { cause: error });
    }
    metrics.registered.inc({ outcome: replacing ? 'replaced' : 'new' });
    this.notify('agentRegistered', () => hooks.agentRegistered.call(entry.record));
    return { record: entry.record, replaced: replacing !== undefined };
  }

  async deregister(agentId: string, reason: string): Promise<boolean> {
    const entry = this.entries.get(agentId);
    if (!entry || !entry.visible) return false;
    if (!entry.local) throw ownedElsewhere(entry.record);
    this.removeLocal(entry, boundedReason(reason, 'deregister'));
    return true;
  }

  async renew(agentId: string): Promise<AgentRecord> {
    const entry = this.requireLocal(agentId);
    if (entry.lapsedAt !== 0) {
      entry.lapsedAt = 0;
      const before = entry.healthBeforeLapse;
      entry.healthBeforeLapse = undefined;
      if (before !== undefined && entry.record.health === 'unhealthy') this.changeHealth(entry, before, 'lease-renewed');
    }
    // Renewals stay local: a KV write per heartbeat per agent would cost the cluster more than it tells it.
    this.update(entry, { leaseExpiresAt: Date.now() + entry.record.leaseTtlMs }, false);
    return entry.record;
  }

  attachSession(agentId: string, sessionId: string): void {
    if (typeof sessionId !== 'string' || sessionId === '') throw invalidArgument('session_id', 'must be a non-empty string');
    const entry = this.requireLocal(agentId);
    if (entry.record.sessionId === sessionId) return;
    this.unbindSession(entry);
    this.update(entry, { sessionId }, false);
    this.bindSession(entry, sessionId);
  }

  sessionClosed(sessionId: string): void {
    const bound = this.sessions.get(sessionId);
    if (!bound) return;
    this.sessions.delete(sessionId);
    for (const entry of [...bound]) if (entry.local && entry.record.sessionId === sessionId) this.removeLocal(entry, 'session-closed');
  }

  setState(agentId: string, state: AgentState, reason: string): AgentRecord {
    if (!AGENT_STATES.includes(state)) throw invalidArgument('state', `"${String(state)}" is not one of ${AGENT_STATES.join(', ')}`);
    const entry = this.requireLocal(agentId);
    const from = entry.record.state;
    if (from === state) return entry.record;
    if (!isLegalTransition(from, state)) {
      throw new GatewayError('GW_FAILED_PRECONDITION', `agent "${agentId}" cannot go from ${from} to ${state} (illegal transition ${from}→${state})`, { field: 'state' });
    }
    this.update(entry, { state }, true);
    this.stateChanged(entry.record, from, boundedReason(reason, 'unspecified'));
    return entry.record;
  }

  setHealth(agentId: string, health: AgentHealth, reason: string): AgentRecord {
    if (!AGENT_HEALTHS.includes(health)) throw invalidArgument('health', `"${String(health)}" is not one of ${AGENT_HEALTHS.join(', ')}`);
    const entry = this.requireLocal(agentId);
    entry.healthBeforeLapse = undefined;
    this.changeHealth(entry, health, boundedReason(reason, 'unspecified'));
    return entry.record;
  }

  get(agentId: string): AgentRecord | undefined {
    const entry = this.entries.get(agentId);
    return entry?.visible ? entry.record : undefined;
  }

  discover(query: DiscoveryQuery = {}): AgentRecord[] {
    const { service, versionRange, tags, capabilities, routableOnly } = query ?? {};
    const range = this.range(versionRange);
    let limit = this.context.options.maxDiscoverResults;
    if (query?.limit !== undefined && query.limit !== 0) {
      if (!Number.isInteger(query.limit) || query.limit < 0) throw invalidArgument('limit', `must be a non-negative integer, got ${String(query.limit)}`);
      limit = Math.min(limit, query.limit);
    }
    const tagKeys = tags ? Object.keys(tags) : [];
    if (tagKeys.length > this.context.options.maxTags) throw invalidArgument('tags', `has ${tagKeys.length} entries; the limit is ${this.context.options.maxTags}`);
    const out: AgentRecord[] = [];
    const scan = (entry: Entry): boolean => {
      const record = entry.record;
      if (routableOnly && (record.state !== 'running' || record.health === 'degraded' || record.health === 'unhealthy')) return true;
      if (range && !range.test(record.version)) return true;
      for (const key of tagKeys) if (record.tags[key] !== tags![key]) return true;
      if (capabilities) for (const capability of capabilities) if (!record.capabilities.includes(capability)) return true;
      out.push(record);
      return out.length < limit;
    };
    if (service) {
      const set = this.byService.get(service);
      if (set) for (const entry of set) if (!scan(entry)) break;
    } else {
      outer: for (const set of this.byService.values()) for (const entry of set) if (!scan(entry)) break outer;
    }
    return out;
  }

  size(): number {
    return this.visibleCount;
  }

  // ---- cluster view ------------------------------------------------------------------------

  /** One KV change from any gateway (our own writes echo back here too). */
  private applyKvEntry(kvEntry: KvEntry): void {
    const agentId = this.agentIdOf(kvEntry);
    if (kvEntry.operation !== 'PUT') {
      const entry = agentId === undefined ? undefined : this.entries.get(agentId);
      // A delete older than our newest write is the echo of a write we already superseded.
      if (entry && !entry.local && kvEntry.revision > entry.kvRevision) this.drop(entry, 'deregistered', true);
      return;
    }
    let record: AgentRecord;
    try {
      record = decodeRecord(kvEntry.value);
    } catch (error) {
      this.context.logger.warn({ err: error, key: kvEntry.key }, 'ignoring an unreadable registry KV entry');
      return;
    }
    const existing = this.entries.get(record.agentId);
    if (record.gatewayId === this.context.gatewayId) {
      if (existing?.local) {
        if (kvEntry.revision > existing.kvRevision) existing.kvRevision = kvEntry.revision;
      } else if (!existing) {
        // Left over from an earlier life of this gateway id: those agents will register again.
        void this.kv?.delete(kvEntry.key, { previousSeq: kvEntry.revision }).catch(() => undefined);
      }
      return;
    }
    if (existing && kvEntry.revision <= existing.kvRevision) return;
    if (existing?.local) {
      // The agent registered at another gateway: it is theirs now.
      this.context.logger.info({ agentId: record.agentId, gatewayId: record.gatewayId }, 'agent moved to another gateway');
      this.drop(existing, 'moved', false);
    }
    if (!this.liveness.seen(record.gatewayId, Date.now())) return;
    const current = this.entries.get(record.agentId);
    if (!current) {
      if (this.entries.size >= this.context.options.maxInstances) {
        this.limitReached('registry.maxInstances', 'ignore', `remote agent ${record.agentId} not cached`);
        return;
      }
      const entry: Entry = { record: Object.freeze({ ...record, revision: ++this.revision }), local: false, kvRevision: kvEntry.revision, visible: false, lapsedAt: 0 };
      this.entries.set(record.agentId, entry);
      if (this.liveness.isAlive(record.gatewayId)) {
        this.show(entry);
        this.notify('agentRegistered', () => this.context.hooks.agentRegistered.call(entry.record));
      }
      return;
    }
    const before = current.record;
    current.kvRevision = kvEntry.revision;
    const serviceChanged = before.service !== record.service;
    if (current.visible && serviceChanged) this.hide(current);
    current.record = Object.freeze({ ...record, revision: ++this.revision });
    if (!current.visible && !this.liveness.isAlive(record.gatewayId)) return;
    if (!current.visible) {
      this.show(current);
      this.notify('agentRegistered', () => this.context.hooks.agentRegistered.call(current.record));
      return;
    }
    if (before.registeredAt !== record.registeredAt || before.gatewayId !== record.gatewayId) {
      this.notify('agentRegistered', () => this.context.hooks.agentRegistered.call(current.record));
      return;
    }
    if (before.state !== record.state) this.stateChanged(current.record, before.state, 'remote');
    if (before.health !== record.health) this.healthChanged(current.record, before.health, 'remote');
  }

  private agentIdOf(kvEntry: KvEntry): string | undefined {
    try {
      return Buffer.from(kvEntry.key.slice(2), 'base64url').toString('utf8');
    } catch {
      return undefined;
    }
  }

  private gatewayDied(gatewayId: string): void {
    let count = 0;
    for (const entry of this.entries.values()) {
      if (!entry.local && entry.visible && entry.record.gatewayId === gatewayId) {
        this.hide(entry);
        count++;
        this.notify('agentDeregistered', () => this.context.hooks.agentDeregistered.call(entry.record, 'gateway-lost'));
      }
    }
    this.context.metrics.gatewaysLost.inc();
    this.context.logger.warn({ gatewayId, agents: count }, 'gateway lost: its agents left the cluster view');
  }

  private gatewayRevived(gatewayId: string): void {
    for (const entry of this.entries.values()) {
      if (!entry.local && !entry.visible && entry.record.gatewayId === gatewayId) {
        this.show(entry);
        this.notify('agentRegistered', () => this.context.hooks.agentRegistered.call(entry.record));
      }
    }
    this.context.logger.info({ gatewayId }, 'gateway back: its agents rejoined the cluster view');
  }

  /** The gateway stayed dead: delete its entries from KV, unless someone rewrote them since. */
  private purgeGateway(gatewayId: string): void {
    for (const entry of [...this.entries.values()]) {
      if (entry.local || entry.record.gatewayId !== gatewayId) continue;
      this.entries.delete(entry.record.agentId);
      void this.kv?.delete(agentKey(entry.record.agentId), { previousSeq: entry.kvRevision }).catch(() => undefined);
    }
  }

  private publishHeartbeat(): void {
    const nc = this.nc;
    if (!nc || nc.isClosed() || this.stopped) return;
    nc.publish(this.heartbeatSubject, this.context.gatewayId);
  }

  /** Our own link to NATS: isolated while it is down; our entries are rewritten once it is back. */
  private async followConnection(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.stopped) return;
      if (status.type === 'disconnect') {
        this.context.metrics.disconnects.inc();
        this.context.logger.warn({ server: status.data }, 'registry lost NATS; other gateways leave the view until it is back');
        this.liveness.isolate(Date.now());
      } else if (status.type === 'reconnect') {
        this.context.logger.info({ server: status.data }, 'registry reconnected to NATS; rewriting local agents');
        this.publishHeartbeat();
        for (const entry of [...this.localEntries]) void this.rewrite(entry);
      }
    }
  }

  private async rewrite(entry: Entry): Promise<void> {
    const kv = this.kv!;
    const key = agentKey(entry.record.agentId);
    try {
      entry.kvRevision = await kv.update(key, encodeRecord(entry.record), entry.kvRevision);
    } catch {
      const current = await kv.get(key).catch(() => null);
      if (current && current.operation === 'PUT' && current.revision > entry.kvRevision) {
        this.applyKvEntry(current);
        return;
      }
      if (entry.local && this.localEntries.has(entry)) entry.kvRevision = await kv.put(key, encodeRecord(entry.record)).catch(() => entry.kvRevision);
    }
  }

  // ---- local bookkeeping -------------------------------------------------------------------

  sweep(now: number): void {
    this.liveness.sweep(now);
    const { markUnhealthy, removeAfterMs } = this.context.options.leaseExpiry;
    for (const entry of [...this.localEntries]) {
      if (entry.lapsedAt === 0) {
        if (now <= entry.record.leaseExpiresAt) continue;
        this.context.metrics.leaseExpired.inc();
        entry.lapsedAt = now;
        if (removeAfterMs === 0) {
          this.removeLocal(entry, 'lease-expired');
          continue;
        }
        if (markUnhealthy && entry.record.health !== 'unhealthy') {
          entry.healthBeforeLapse = entry.record.health;
          this.changeHealth(entry, 'unhealthy', 'lease-expired');
        }
      } else if (now - entry.record.leaseExpiresAt >= removeAfterMs) {
        this.removeLocal(entry, 'lease-expired');
      }
    }
  }

  private removeLocal(entry: Entry, reason: string): void {
    if (!this.localEntries.has(entry)) return;
    this.drop(entry, reason, true);
    void this.kv?.delete(agentKey(entry.record.agentId), { previousSeq: entry.kvRevision }).catch((error: unknown) => {
      this.context.metrics.kvErrors.inc();
      this.context.logger.warn({ err: error, agentId: entry.record.agentId }, 'could not delete a registry KV entry');
    });
  }

  /** Forgets an entry here (not in KV); `announce` fires agentDeregistered when it was visible. */
  private drop(entry: Entry, reason: string, announce: boolean): void {
    if (this.entries.get(entry.record.agentId) === entry) this.entries.delete(entry.record.agentId);
    this.localEntries.delete(entry);
    this.unbindSession(entry);
    const wasVisible = entry.visible;
    if (wasVisible) this.hide(entry);
    if (wasVisible && announce) {
      this.context.metrics.removed.inc({ reason });
      this.notify('agentDeregistered', () => this.context.hooks.agentDeregistered.call(entry.record, reason));
    }
  }

  private show(entry: Entry): void {
    if (entry.visible) return;
    entry.visible = true;
    this.visibleCount++;
    let set = this.byService.get(entry.record.service);
    if (!set) this.byService.set(entry.record.service, (set = new Set()));
    set.add(entry);
  }

  private hide(entry: Entry): void {
    if (!entry.visible) return;
    entry.visible = false;
    this.visibleCount--;
    const set = this.byService.get(entry.record.service);
    if (!set) return;
    set.delete(entry);
    if (set.size === 0) this.byService.delete(entry.record.service);
  }

  private update(entry: Entry, change: Partial<AgentRecord>, publish: boolean): void {
    entry.record = Object.freeze({ ...entry.record, ...change, revision: ++this.revision });
    if (!publish || !this.kv) return;
    const record = entry.record;
    this.kv.put(agentKey(record.agentId), encodeRecord(record)).then(
      (revision) => {
        if (revision > entry.kvRevision) entry.kvRevision = revision;
      },
      (error: unknown) => {
        this.context.metrics.kvErrors.inc();
        this.context.logger.warn({ err: error, agentId: record.agentId }, 'could not write a registry KV entry');
      },
    );
  }

  private changeHealth(entry: Entry, health: AgentHealth, reason: string): void {
    const from = entry.record.health;
    if (from === health) return;
    this.update(entry, { health }, true);
    this.healthChanged(entry.record, from, reason);
  }

  private stateChanged(record: AgentRecord, from: AgentState, reason: string): void {
    const hook = this.context.hooks.agentStateChanged;
    if (hook.isUsed()) this.notify('agentStateChanged', () => hook.call({ agentId: record.agentId, service: record.service, from, to: record.state, reason, at: Date.now() }));
  }

  private healthChanged(record: AgentRecord, from: AgentHealth, reason: string): void {
    const hook = this.context.hooks.healthChanged;
    if (hook.isUsed()) this.notify('healthChanged', () => hook.call({ agentId: record.agentId, service: record.service, from, to: record.health, reason, at: Date.now() }));
  }

  private checkDuplicate(existing: Entry, identity: string | undefined): void {
    const policy = this.context.options.duplicateIdPolicy;
    if (policy === 'replace-same-identity' && existing.record.identity === identity) return;
    this.context.metrics.rejected.inc({ reason: 'duplicate-id' });
    const why = policy === 'reject' ? 'the registry is configured with duplicateIdPolicy "reject"' : 'it was registered by another identity';
    throw new GatewayError('GW_ALREADY_EXISTS', `agent_id: "${existing.record.agentId}" is already registered (on gateway ${existing.record.gatewayId}) and ${why}; choose another agent_id or leave it empty`, {
      field: 'agent_id',
    });
  }

  private checkCapacity(): void {
    const max = this.context.options.maxInstances;
    if (this.entries.size < max) return;
    this.context.metrics.rejected.inc({ reason: 'max-instances' });
    this.limitReached('registry.maxInstances', 'reject', `${this.entries.size} agents known`);
    throw new GatewayError('GW_RESOURCE_EXHAUSTED', `the cluster registry holds its maximum of ${max} agents (maxInstances); deregister agents or raise the limit`);
  }

  private requireLocal(agentId: string): Entry {
    const entry = typeof agentId === 'string' ? this.entries.get(agentId) : undefined;
    if (!entry || !entry.visible) throw new GatewayError('GW_NOT_FOUND', `agent_id: no agent "${String(agentId)}" is registered`, { field: 'agent_id' });
    if (!entry.local) throw ownedElsewhere(entry.record);
    return entry;
  }

  private bindSession(entry: Entry, sessionId: string): void {
    let bound = this.sessions.get(sessionId);
    if (!bound) this.sessions.set(sessionId, (bound = new Set()));
    bound.add(entry);
  }

  private unbindSession(entry: Entry): void {
    const sessionId = entry.record.sessionId;
    if (sessionId === undefined) return;
    const bound = this.sessions.get(sessionId);
    if (!bound) return;
    bound.delete(entry);
    if (bound.size === 0) this.sessions.delete(sessionId);
  }

  private range(versionRange: string | undefined): semver.Range | undefined {
    if (versionRange === undefined || versionRange === '') return undefined;
    if (typeof versionRange !== 'string') throw invalidArgument('version_range', 'must be a string');
    if (versionRange.length > MAX_RANGE_LENGTH) throw invalidArgument('version_range', `is ${versionRange.length} characters long; the limit is ${MAX_RANGE_LENGTH}`);
    let parsed = this.ranges.get(versionRange);
    if (parsed === undefined) {
      try {
        parsed = new semver.Range(versionRange);
      } catch {
        parsed = null;
      }
      if (this.ranges.size >= this.context.options.rangeCacheSize) {
        this.ranges.delete(this.ranges.keys().next().value!);
        this.limitReached('registry.rangeCacheSize', 'evict-oldest', 'parsed version range evicted');
      }
      this.ranges.set(versionRange, parsed);
    }
    if (parsed === null) throw invalidArgument('version_range', `"${versionRange.slice(0, 64)}" is not a semver range`);
    return parsed;
  }

  private limitReached(limit: string, policy: string, detail: string): void {
    this.context.metrics.limitHits.inc({ limit });
    const hook = this.context.hooks.limitReached;
    if (hook.isUsed()) this.notify('limitReached', () => hook.call({ limit, policy, plugin: this.context.name, detail }));
  }

  private notify(hook: string, call: () => void): void {
    try {
      call();
    } catch (error) {
      this.context.logger.error({ err: error, hook }, 'a hook tap threw; the registry carried on');
    }
  }
}

function ownedElsewhere(record: AgentRecord): GatewayError {
  return new GatewayError('GW_NOT_FOUND', `agent_id: agent "${record.agentId}" is connected to gateway ${record.gatewayId}, not this one; register here to move it`, {
    field: 'agent_id',
  });
}

function boundedReason(reason: string, fallback: string): string {
  if (typeof reason !== 'string' || reason === '') return fallback;
  return reason.length > MAX_REASON_LENGTH ? reason.slice(0, MAX_REASON_LENGTH) : reason;
}
