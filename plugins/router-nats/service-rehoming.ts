/**
 * Re-homing for router-nats: a durable service message is stored in the picked instance's inbox,
 * but any instance may take it. When an instance leaves the cluster, the gateway that held it
 * (every survivor, for a lost gateway) moves its waiting service messages to the service's other
 * routable instances: at once when it left on purpose, after `durable.rehomeAfterMs` when its
 * stream dropped or its gateway went silent (time to come back and keep them); with no instance
 * to take them, again when one appears or every REHOME_RETRY_MS. Bounded: MAX_STRANDED departed
 * instances are remembered (the oldest forgotten, `router.rehome.stranded`), MAX_PARALLEL_REHOMES
 * passes run at once.
 */
import type { Logger } from 'pino';
import type { AgentRecord, GatewayHooks, MessageEnvelope, RegistryService } from '../../kernel';
import type { DurableInbox } from './durable-inbox';
import type { RouterMetrics } from './router-metrics';

/** Departed agents whose service messages wait for an instance; beyond it the oldest is forgotten. */
const MAX_STRANDED = 10_000;
/** A pass that left messages behind is repeated after this long, or at once when an instance appears. */
const REHOME_RETRY_MS = 10_000;
/** Passes running at once on this gateway (a lost gateway strands all its agents together). */
const MAX_PARALLEL_REHOMES = 4;
/**
 * Another gateway's agent that deregistered is re-homed here too, later than by its own gateway
 * (which usually has done it: the pass then finds nothing), for when that gateway was stopping.
 */
const REMOTE_REHOME_DELAY_MS = 2_000;

interface StrandedInbox {
  service: string;
  /** End of the grace period a dropped instance gets to come back. */
  movableAt: number;
  /** After a pass that left messages behind. */
  nextTryAt: number;
}

/** What re-homing needs from the router. */
export interface RehomingHost {
  readonly registry: RegistryService;
  readonly inbox: Pick<DurableInbox, 'rehome'>;
  readonly logger: Logger;
  readonly metrics: Pick<RouterMetrics, 'rehomed' | 'natsErrors'>;
  /** True while an inbox session of this agent is open on this gateway. */
  hasInboxSession(agentId: string): boolean;
  connected(): boolean;
  pickInstance(message: MessageEnvelope): AgentRecord;
  limitReached(limit: string, policy: string, detail: string): void;
}

export class ServiceRehoming {
  /** Agents deregistered while their inbox session is open here: re-homed when it closes. */
  private readonly departing = new Map<string, { service: string; left: boolean }>();
  /** Departed agents whose inboxes may still hold service messages, and when to (re)try them. */
  private readonly stranded = new Map<string, StrandedInbox>();
  private readonly rehoming = new Set<string>();
  /** Shutting down: no re-homing passes start (the other gateways do them). */
  private quiesced = false;

  constructor(
    private readonly host: RehomingHost,
    private readonly settings: { gatewayId: string; rehomeAfterMs: number },
  ) {}

  /** Shutting down: start no more passes. */
  quiesce(): void {
    this.quiesced = true;
  }

  /** An inbox session closed: an agent that deregistered while it was open is stranded now. */
  sessionClosed(agentId: string): void {
    const departing = this.departing.get(agentId);
    if (departing !== undefined && !this.host.hasInboxSession(agentId)) {
      this.departing.delete(agentId);
      this.strand(agentId, departing.service, departing.left ? 0 : this.settings.rehomeAfterMs);
    }
  }

  /** The router's housekeeping tick: start the passes that came due. */
  tick(now: number): void {
    if (this.stranded.size > 0) this.rehomeDue(now);
  }

  /** Follows the registry: departures strand an instance's messages, arrivals let passes run. */
  tap(hooks: GatewayHooks, name: string): void {
    hooks.draining.tap({ name, stage: -100 }, () => {
      this.quiesced = true;
    });
    hooks.agentDeregistered.tap(name, (record, reason) => {
      if (this.host.hasInboxSession(record.agentId)) {
        // Its session still pulls the inbox (an agent deregisters before it hangs up).
        const left = reason !== 'session-closed';
        if (this.departing.size < MAX_STRANDED || this.departing.has(record.agentId))
          this.departing.set(record.agentId, { service: record.service, left });
        return;
      }
      const grace = this.settings.rehomeAfterMs;
      if (record.gatewayId === this.settings.gatewayId)
        this.strand(record.agentId, record.service, reason === 'session-closed' ? grace : 0);
      else if (reason === 'gateway-lost') this.strand(record.agentId, record.service, grace);
      // Remote removals all read 'deregistered' (the registry entry is simply gone).
      else this.strand(record.agentId, record.service, grace + REMOTE_REHOME_DELAY_MS);
    });
    const instanceAppeared = (service: string) => {
      if (this.stranded.size === 0) return;
      for (const stranded of this.stranded.values()) if (stranded.service === service) stranded.nextTryAt = 0;
      this.rehomeDue(Date.now());
    };
    hooks.agentRegistered.tap(name, (record) => {
      // Back: its own (new) consumer takes its messages.
      this.departing.delete(record.agentId);
      this.stranded.delete(record.agentId);
      instanceAppeared(record.service);
    });
    hooks.agentStateChanged.tap(name, (change) => change.to === 'running' && instanceAppeared(change.service));
    hooks.healthChanged.tap(name, (change) => instanceAppeared(change.service));
  }

  private strand(agentId: string, service: string, afterMs: number): void {
    if (this.quiesced) return;
    const now = Date.now();
    if (!this.stranded.has(agentId) && this.stranded.size >= MAX_STRANDED) {
      this.stranded.delete(this.stranded.keys().next().value!);
      this.host.limitReached('router.rehome.stranded', 'forget-oldest', `${MAX_STRANDED} departed instances with service messages waiting`);
    }
    const movableAt = now + afterMs;
    const known = this.stranded.get(agentId);
    // Already known (from its own gateway's news and a remote one): the earlier time wins.
    if (known) known.movableAt = Math.min(known.movableAt, movableAt);
    else this.stranded.set(agentId, { service, movableAt, nextTryAt: 0 });
    this.rehomeDue(now);
  }

  private rehomeDue(now: number): void {
    if (this.quiesced) return;
    for (const [agentId, stranded] of this.stranded) {
      if (this.rehoming.size >= MAX_PARALLEL_REHOMES) return;
      if (stranded.movableAt <= now && stranded.nextTryAt <= now && !this.rehoming.has(agentId)) void this.rehome(agentId, stranded);
    }
  }

  private async rehome(agentId: string, stranded: StrandedInbox): Promise<void> {
    const gone = () => !this.host.registry.get(agentId);
    const forget = () => {
      // Only this entry: the agent may have come back and left again while the pass ran.
      if (this.stranded.get(agentId) === stranded) this.stranded.delete(agentId);
    };
    if (!this.host.connected() || !gone()) {
      forget();
      return;
    }
    this.rehoming.add(agentId);
    stranded.nextTryAt = Date.now() + REHOME_RETRY_MS;
    try {
      const { moved, left } = await this.host.inbox.rehome(
        agentId,
        (message) => {
          const candidates = this.host.registry.discover({
            service: message.service,
            versionRange: message.versionRange || undefined,
            routableOnly: true,
          });
          return candidates.length === 0 ? undefined : this.host.pickInstance(message).agentId;
        },
        gone,
      );
      if (moved > 0) {
        this.host.metrics.rehomed.inc(moved);
        this.host.logger.info({ from: agentId, count: moved }, 'service messages re-homed from a departed instance');
      }
      if (left === 0 || !gone()) forget();
    } catch (error) {
      this.host.metrics.natsErrors.inc();
      this.host.logger.warn({ err: error, agentId }, 'could not re-home the service messages of a departed instance; retrying later');
    } finally {
      this.rehoming.delete(agentId);
      if (this.stranded.size > 0) this.rehomeDue(Date.now());
    }
  }
}
