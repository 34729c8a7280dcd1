/**
 * The lifecycle of one managed instance: the supervisor's own copy of the state, since the
 * registry forgets an agent whose process died (its session closed) while the supervisor still
 * has to restart it. Every transition is checked with `isLegalTransition`, counted, logged, and
 * announced exactly once: through `registry.setState` when the registry holds the agent (it fires
 * `agentStateChanged`, and Subscribe watchers get a registry event), directly on the hook otherwise.
 */
import type { Logger } from 'pino';
import { GatewayError, isLegalTransition, type AgentState, type GatewayHooks, type RegistryService } from '../../kernel';
import type { SupervisorMetrics } from './supervisor-metrics';

export interface LifecycleDeps {
  registry: RegistryService;
  hooks: GatewayHooks;
  metrics: SupervisorMetrics;
  logger: Logger;
}

export class InstanceLifecycle {
  private current: AgentState = 'created';
  private why = 'configured';

  constructor(
    readonly agentId: string,
    private readonly service: () => string,
    private readonly deps: LifecycleDeps,
  ) {}

  get state(): AgentState {
    return this.current;
  }

  get reason(): string {
    return this.why;
  }

  can(to: AgentState): boolean {
    return isLegalTransition(this.current, to);
  }

  /** Moves to `to` or throws GW_FAILED_PRECONDITION (nothing changes then). */
  transition(to: AgentState, reason: string): void {
    const from = this.current;
    if (!isLegalTransition(from, to)) {
      throw new GatewayError(
        'GW_FAILED_PRECONDITION',
        `agent "${this.agentId}" cannot go from ${from} to ${to} (illegal transition ${from}→${to})`,
        {
          field: 'agent_id',
          details: { agentId: this.agentId, from, to },
        },
      );
    }
    this.current = to;
    this.why = reason;
    this.deps.metrics.transition(from, to);
    this.deps.logger.info({ agentId: this.agentId, from, to, reason }, `managed agent ${this.agentId}: ${from} → ${to} (${reason})`);
    if (!this.announceThroughRegistry(to, reason)) {
      this.deps.hooks.agentStateChanged.call({ agentId: this.agentId, service: this.service(), from, to, reason, at: Date.now() });
    }
  }

  /**
   * A new incarnation after `terminated` (an operator start): back to `created` without a
   * transition, since nothing leads out of `terminated`: the old incarnation's story ended there.
   */
  reincarnate(reason: string): void {
    if (this.current !== 'terminated') return;
    this.current = 'created';
    this.why = reason;
    this.deps.logger.info({ agentId: this.agentId, reason }, `managed agent ${this.agentId}: new incarnation (${reason})`);
  }

  private announceThroughRegistry(to: AgentState, reason: string): boolean {
    const { registry, logger } = this.deps;
    const record = registry.get(this.agentId);
    if (!record || !record.managed || record.state === to || !isLegalTransition(record.state, to)) return false;
    try {
      registry.setState(this.agentId, to, reason);
      return true;
    } catch (error) {
      logger.warn({ agentId: this.agentId, err: error }, 'the registry refused a managed agent transition; announcing it directly');
      return false;
    }
  }
}
