/**
 * The registry's hook notifications and limit reports. A tap that throws is logged and the
 * registry carries on: one plugin's bug must not leave the cluster view half updated.
 */
import type { Logger } from 'pino';
import type { AgentHealth, AgentRecord, AgentState, GatewayHooks } from '../../kernel';
import type { RegistryMetrics } from './registry-metrics';

export class RegistryEvents {
  constructor(private readonly context: { name: string; hooks: GatewayHooks; logger: Logger; metrics: RegistryMetrics }) {}

  registered(record: AgentRecord): void {
    this.notify('agentRegistered', () => this.context.hooks.agentRegistered.call(record));
  }

  deregistered(record: AgentRecord, reason: string): void {
    this.notify('agentDeregistered', () => this.context.hooks.agentDeregistered.call(record, reason));
  }

  stateChanged(record: AgentRecord, from: AgentState, reason: string): void {
    const hook = this.context.hooks.agentStateChanged;
    if (hook.isUsed())
      this.notify('agentStateChanged', () =>
        hook.call({ agentId: record.agentId, service: record.service, from, to: record.state, reason, at: Date.now() }),
      );
  }

  healthChanged(record: AgentRecord, from: AgentHealth, reason: string): void {
    const hook = this.context.hooks.healthChanged;
    if (hook.isUsed())
      this.notify('healthChanged', () =>
        hook.call({ agentId: record.agentId, service: record.service, from, to: record.health, reason, at: Date.now() }),
      );
  }

  limitReached(limit: string, policy: string, detail: string): void {
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
