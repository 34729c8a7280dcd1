/**
 * The cluster registry: every gateway keeps the whole cluster's agents in memory (reads stay
 * synchronous, as the contract requires) from a JetStream KV watch, and writes only the entries of
 * the agents connected to it. A gateway that stops heartbeating is dead: its agents leave every
 * view at once and its KV entries are deleted `deadGatewayPurgeAfterMs` later (compare-and-delete,
 * so an agent that re-homed meanwhile keeps its new entry).
 *
 * NATS failover (docs/cluster.md, "Registry view during NATS failover"): the watch recreates
 * itself after a reconnect, a stream leader change or a stall (registry-watch.ts); while our link
 * is down, or the watch resumes, the last view is kept and marked stale (view-freshness.ts) and
 * the liveness clock stops, so no agent leaves the view because NATS, not its gateway, failed.
 */
import type { Logger } from 'pino';
import { StorageType, type KV, type NatsConnection, type Subscription } from 'nats';
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
  type RegistryViewStatus,
} from '../../kernel';
import { boundedReason, ownedElsewhere, type Entry } from './cluster-entry';
import { discoverVisible } from './discovery-scan';
import { GatewayLiveness } from './gateway-liveness';
import { RegistryEvents } from './registry-events';
import { agentKey, decodeRecord, encodeRecord } from './record-codec';
import type { RegistryMetrics } from './registry-metrics';
import type { NatsRegistryOptions } from './schema';
import { retryJetStream } from '../../support/nats/jetstream-ensure';
import { RegistryWatch, type KvChange } from './registry-watch';
import { SessionBindings } from './session-bindings';
import { ViewFreshness } from './view-freshness';
import { VersionRanges } from './version-ranges';
import { VisibleEntries } from './visible-entries';

const AGENT_HEALTHS: readonly AgentHealth[] = ['unknown', 'healthy', 'degraded', 'unhealthy'];
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
  private readonly visible = new VisibleEntries<Entry>();
  private readonly events: RegistryEvents;
  private readonly sessions = new SessionBindings<Entry>();
  private readonly ranges: VersionRanges;
  private readonly liveness: GatewayLiveness;
  private revision = 0;
  private kv?: KV;
  private nc?: NatsConnection;
  private heartbeatTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private heartbeatSub?: Subscription;
  private watch?: RegistryWatch;
  private readonly freshness: ViewFreshness;
  /** Epoch ms our NATS link went down, 0 while up. */
  private disconnectedAt = 0;
  /** The others were declared dead for this outage (it outlasted staleViewMaxMs). */
  private isolated = false;
  private stopped = false;
  private readonly heartbeatSubject: string;
  private readonly byeSubject: string;

  constructor(private readonly context: ClusterRegistryContext) {
    const { options } = context;
    this.events = new RegistryEvents(context);
    this.ranges = new VersionRanges(options.rangeCacheSize, () =>
      this.events.limitReached('registry.rangeCacheSize', 'evict-oldest', 'parsed version range evicted'),
    );
    this.freshness = new ViewFreshness(context.logger, () => context.metrics.staleViews.inc());
    this.heartbeatSubject = `${options.prefix}.registry.hb`;
    this.byeSubject = `${options.prefix}.registry.bye`;
    this.liveness = new GatewayLiveness(
      context.gatewayId,
      { deadAfterMs: options.gatewayDeadAfterMs, purgeAfterMs: options.deadGatewayPurgeAfterMs, maxGateways: options.maxGateways },
      {
        died: (id) => this.gatewayDied(id),
        revived: (id) => this.gatewayRevived(id),
        expired: (id) => this.purgeGateway(id),
        full: (id) => this.events.limitReached('registry.maxGateways', 'ignore', `gateway ${id} not tracked`),
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

  staleSeconds(now: number): number {
    return this.freshness.stale ? (now - this.freshness.since) / 1000 : 0;
  }

  /** Binds (creating if needed) the KV bucket, loads the cluster view, starts heartbeats. */
  async start(nc: NatsConnection): Promise<void> {
    const { options } = this.context;
    this.nc = nc;
    const js = nc.jetstream();
    const setup = {
      nc,
      options: options.jetstreamSetup,
      onRetry: (info: object) => this.context.logger.warn(info, 'JetStream not ready; retrying'),
    };
    // views.kv finds or creates the bucket's stream; concurrent creators all end up bound to it.
    this.kv = await retryJetStream(`open KV bucket "${this.bucket}"`, setup, () =>
      js.views.kv(this.bucket, {
        history: 1,
        replicas: options.replicas,
        storage: options.storage === 'memory' ? StorageType.Memory : StorageType.File,
      }),
    );
    this.heartbeatSub = nc.subscribe(`${options.prefix}.registry.>`, {
      callback: (error, msg) => {
        if (error) return;
        const id = msg.string();
        if (msg.subject === this.heartbeatSubject) this.liveness.heartbeat(id, Date.now());
        else if (msg.subject === this.byeSubject && id !== this.context.gatewayId) this.liveness.left(id, Date.now());
      },
    });
    // The checks must not wait much longer than their own interval on a stream without a leader.
    const requestTimeoutMs = Math.max(1000, options.watchCheckIntervalMs);
    this.watch = new RegistryWatch({
      kv: this.kv,
      nc,
      requestTimeoutMs,
      jsm: await nc.jetstreamManager({ checkAPI: false, timeout: requestTimeoutMs }),
      bucket: this.bucket,
      logger: this.context.logger,
      freshness: this.freshness,
      restarts: this.context.metrics.watchRestarts,
      polled: this.context.metrics.watchPolled,
      checkIntervalMs: options.watchCheckIntervalMs,
      apply: (entry) => this.applyKvEntry(entry),
    });
    // Resolves once the current values were delivered (at once for an empty bucket).
    await this.watch.start();
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
      for (const entry of this.localEntries)
        deletes.push(kv.delete(agentKey(entry.record.agentId), { previousSeq: entry.kvRevision }).catch(() => undefined));
      await Promise.all(deletes);
      this.nc.publish(this.byeSubject, this.context.gatewayId);
      await this.nc.flush().catch(() => undefined);
    }
    this.heartbeatSub?.unsubscribe();
    this.watch?.stop();
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
    const admission = hooks.admitAgent.call({
      info: { ...info, agentId },
      identity: context.identity,
      state: 'running',
      managed: context.managed ?? false,
      instanceToken: context.instanceToken,
    });
    if (!AGENT_STATES.includes(admission.state))
      throw new GatewayError('GW_INTERNAL', `an admitAgent tap returned the unknown state "${String(admission.state)}"`);
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
    this.visible.show(entry);
    if (record.sessionId) this.sessions.bind(record.sessionId, entry);
    try {
      entry.kvRevision = await this.kv.put(agentKey(agentId), encodeRecord(record));
    } catch (error) {
      // Never announced, so nothing to take back.
      this.drop(entry, 'kv-write-failed', false);
      metrics.kvErrors.inc();
      throw new GatewayError('GW_UNAVAILABLE', `the cluster registry could not store agent "${agentId}" in NATS; retry`, { cause: error });
    }
    metrics.registered.inc({ outcome: replacing ? 'replaced' : 'new' });
    this.events.registered(entry.record);
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
    this.sessions.unbind(entry.record.sessionId, entry);
    this.update(entry, { sessionId }, false);
    this.sessions.bind(sessionId, entry);
  }

  sessionClosed(sessionId: string): void {
    const bound = this.sessions.take(sessionId);
    if (!bound) return;
    for (const entry of [...bound]) if (entry.local && entry.record.sessionId === sessionId) this.removeLocal(entry, 'session-closed');
  }

  setState(agentId: string, state: AgentState, reason: string): AgentRecord {
    if (!AGENT_STATES.includes(state)) throw invalidArgument('state', `"${String(state)}" is not one of ${AGENT_STATES.join(', ')}`);
    const entry = this.requireLocal(agentId);
    const from = entry.record.state;
    if (from === state) return entry.record;
    if (!isLegalTransition(from, state)) {
      throw new GatewayError(
        'GW_FAILED_PRECONDITION',
        `agent "${agentId}" cannot go from ${from} to ${state} (illegal transition ${from}→${state})`,
        { field: 'state' },
      );
    }
    this.update(entry, { state }, true);
    this.events.stateChanged(entry.record, from, boundedReason(reason, 'unspecified'));
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
    return discoverVisible(this.visible.byService, query, this.context.options, this.ranges);
  }

  size(): number {
    return this.visible.size;
  }

  /** Whether the view may lack recent changes (NATS failing over); it is served all the same. */
  viewStatus(): RegistryViewStatus {
    return this.freshness.status(Date.now());
  }

  // ---- cluster view ------------------------------------------------------------------------

  /** One KV change from any gateway (our own writes echo back here too). */
  private applyKvEntry(kvEntry: KvChange): void {
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
        this.events.limitReached('registry.maxInstances', 'ignore', `remote agent ${record.agentId} not cached`);
        return;
      }
      const entry: Entry = {
        record: Object.freeze({ ...record, revision: ++this.revision }),
        local: false,
        kvRevision: kvEntry.revision,
        visible: false,
        lapsedAt: 0,
      };
      this.entries.set(record.agentId, entry);
      if (this.liveness.isAlive(record.gatewayId)) {
        this.visible.show(entry);
        this.events.registered(entry.record);
      }
      return;
    }
    const before = current.record;
    current.kvRevision = kvEntry.revision;
    const serviceChanged = before.service !== record.service;
    if (current.visible && serviceChanged) this.visible.hide(current);
    current.record = Object.freeze({ ...record, revision: ++this.revision });
    if (!current.visible && !this.liveness.isAlive(record.gatewayId)) return;
    if (!current.visible) {
      this.visible.show(current);
      this.events.registered(current.record);
      return;
    }
    if (before.registeredAt !== record.registeredAt || before.gatewayId !== record.gatewayId) {
      this.events.registered(current.record);
      return;
    }
    if (before.state !== record.state) this.events.stateChanged(current.record, before.state, 'remote');
    if (before.health !== record.health) this.events.healthChanged(current.record, before.health, 'remote');
  }

  private agentIdOf(kvEntry: KvChange): string | undefined {
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
        this.visible.hide(entry);
        count++;
        this.events.deregistered(entry.record, 'gateway-lost');
      }
    }
    this.context.metrics.gatewaysLost.inc();
    this.context.logger.warn({ gatewayId, agents: count }, 'gateway lost: its agents left the cluster view');
  }

  private gatewayRevived(gatewayId: string): void {
    for (const entry of this.entries.values()) {
      if (!entry.local && !entry.visible && entry.record.gatewayId === gatewayId) {
        this.visible.show(entry);
        this.events.registered(entry.record);
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

  /**
   * Our own link to NATS. While it is down (usually a failover to another node, a second or so)
   * the last view is kept, marked stale, and nobody is judged by silence; only an outage longer
   * than `staleViewMaxMs` makes the other gateways leave the view. Once back: heartbeat at once,
   * rewrite our entries, and recreate the watch (its consumer may have lived on the dead node).
   */
  private async followConnection(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.stopped) return;
      const now = Date.now();
      if (status.type === 'disconnect') {
        if (this.disconnectedAt !== 0) continue;
        this.disconnectedAt = now;
        this.context.metrics.disconnects.inc();
        this.context.logger.warn(
          { server: status.data, staleViewMaxMs: this.context.options.staleViewMaxMs },
          'registry lost NATS; keeping the last cluster view (stale) while the client fails over',
        );
        this.freshness.mark('nats-disconnected', now);
        this.liveness.suspend(now);
      } else if (status.type === 'reconnect') {
        this.context.logger.info(
          { server: status.data, awayMs: this.disconnectedAt === 0 ? 0 : now - this.disconnectedAt },
          'registry reconnected to NATS; rewriting local agents and resuming the watch',
        );
        this.disconnectedAt = 0;
        this.isolated = false;
        this.liveness.resume(now);
        this.freshness.clear('nats-disconnected', now);
        this.publishHeartbeat();
        for (const entry of [...this.localEntries]) void this.rewrite(entry);
        this.watch?.restart('reconnect');
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
      if (entry.local && this.localEntries.has(entry))
        entry.kvRevision = await kv.put(key, encodeRecord(entry.record)).catch(() => entry.kvRevision);
    }
  }

  // ---- local bookkeeping -------------------------------------------------------------------

  sweep(now: number): void {
    if (this.disconnectedAt !== 0 && !this.isolated && now - this.disconnectedAt >= this.context.options.staleViewMaxMs) {
      // Away too long to presume anyone alive: a partitioned gateway must not route on an old view.
      this.isolated = true;
      this.context.logger.warn(
        { awayMs: now - this.disconnectedAt },
        'registry still without NATS after staleViewMaxMs; other gateways leave the view until it is back',
      );
      this.liveness.isolate(now);
    }
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
    this.sessions.unbind(entry.record.sessionId, entry);
    const wasVisible = entry.visible;
    if (wasVisible) this.visible.hide(entry);
    if (wasVisible && announce) {
      this.context.metrics.removed.inc({ reason });
      this.events.deregistered(entry.record, reason);
    }
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
    this.events.healthChanged(entry.record, from, reason);
  }

  private checkDuplicate(existing: Entry, identity: string | undefined): void {
    const policy = this.context.options.duplicateIdPolicy;
    if (policy === 'replace-same-identity' && existing.record.identity === identity) return;
    this.context.metrics.rejected.inc({ reason: 'duplicate-id' });
    const why =
      policy === 'reject' ? 'the registry is configured with duplicateIdPolicy "reject"' : 'it was registered by another identity';
    throw new GatewayError(
      'GW_ALREADY_EXISTS',
      `agent_id: "${existing.record.agentId}" is already registered (on gateway ${existing.record.gatewayId}) and ${why}; choose another agent_id or leave it empty`,
      {
        field: 'agent_id',
      },
    );
  }

  private checkCapacity(): void {
    const max = this.context.options.maxInstances;
    if (this.entries.size < max) return;
    this.context.metrics.rejected.inc({ reason: 'max-instances' });
    this.events.limitReached('registry.maxInstances', 'reject', `${this.entries.size} agents known`);
    throw new GatewayError(
      'GW_RESOURCE_EXHAUSTED',
      `the cluster registry holds its maximum of ${max} agents (maxInstances); deregister agents or raise the limit`,
    );
  }

  private requireLocal(agentId: string): Entry {
    const entry = typeof agentId === 'string' ? this.entries.get(agentId) : undefined;
    if (!entry || !entry.visible)
      throw new GatewayError('GW_NOT_FOUND', `agent_id: no agent "${String(agentId)}" is registered`, { field: 'agent_id' });
    if (!entry.local) throw ownedElsewhere(entry.record);
    return entry;
  }
}
