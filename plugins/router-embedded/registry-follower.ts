/**
 * What the embedded router learns from the registry: agents coming back (their offline messages
 * flow, known ids stay fresh), leaving (service messages move on at once when it was on purpose),
 * and any change that can make a stranded service message deliverable again. The balancer's
 * candidate cache is dropped for the service on every change.
 */
import type { GatewayHooks } from '../../kernel';
import type { DurableDelivery } from './durable-delivery';
import type { KnownAgents } from './known-agents';
import type { LoadBalancer } from './load-balancer';

export interface RegistryFollowerDeps {
  knownAgents: Pick<KnownAgents, 'touch'>;
  balancer: Pick<LoadBalancer, 'invalidate'>;
  durable: Pick<DurableDelivery, 'quiesce' | 'reachable' | 'returned' | 'departed'>;
  /** Coalesced retry of stranded service messages (registry events come in bursts). */
  retryStrandedSoon(): void;
}

export function followRegistry(hooks: GatewayHooks, name: string, deps: RegistryFollowerDeps): void {
  // Before the supervisor stops managed agents (same hook, later stage): their messages stay put
  // instead of being handed from one stopping agent to the next.
  hooks.draining.tap({ name, stage: -100 }, () => deps.durable.quiesce());
  hooks.agentRegistered.tap(name, (agent) => {
    deps.knownAgents.touch(agent.agentId, Date.now());
    deps.balancer.invalidate(agent.service);
    deps.durable.reachable(`a:${agent.agentId}`);
    deps.durable.returned(agent.agentId, Date.now());
    deps.retryStrandedSoon();
  });
  hooks.agentDeregistered.tap(name, (agent, reason) => {
    deps.balancer.invalidate(agent.service);
    // Left on purpose (not a dropped stream): its service messages need not wait for it.
    if (reason !== 'session-closed' && reason !== 'gateway-lost') deps.durable.departed(agent.agentId, Date.now());
  });
  hooks.agentStateChanged.tap(name, (change) => {
    deps.balancer.invalidate(change.service);
    // A managed instance stopped for good (its process may not have said goodbye itself).
    if (change.to === 'terminated') deps.durable.departed(change.agentId, Date.now());
    deps.retryStrandedSoon();
  });
  hooks.healthChanged.tap(name, (change) => {
    deps.balancer.invalidate(change.service);
    deps.retryStrandedSoon();
  });
}
