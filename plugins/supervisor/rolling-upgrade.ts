/**
 * Rolling upgrade of one spec, one instance at a time, so the service never loses capacity:
 *
 * 1. start a new instance of the new version on a number no instance had when the upgrade began
 *    (`<id>-<k>`, k ≤ 2 × replicas) and wait until it is `running` (registered and ready: routable);
 * 2. move the old instance to `upgrade`: out of routing, no new messages reach it, the process
 *    still finishes and acks what it has;
 * 3. stop it (SIGTERM, SIGKILL after stopTimeoutMs). When its Subscribe stream ends, the router
 *    re-homes the service messages it had not acked (in flight or waiting) to the instances still
 *    routable: none is lost.
 *
 * A new instance that does not become ready is stopped and the upgrade fails with the old instances
 * still serving (those already replaced stay replaced).
 */
import { GatewayError, type SupervisorService } from '../../kernel';
import type { ManagedInstance } from './managed-instance';
import type { AgentSpecOptions } from './schema';

export type UpgradeChange = Parameters<SupervisorService['upgrade']>[1];

export interface UpgradeHost {
  /** Live (not terminated) instances of the spec, in number order. */
  instancesOf(specId: string): ManagedInstance[];
  /** Creates (does not start) an instance `<specId>-<number>` running `spec`; checks maxInstances. */
  createInstance(specId: string, number: number, spec: AgentSpecOptions): ManagedInstance;
  /** Forgets a terminated instance (its number becomes free). */
  removeInstance(instance: ManagedInstance): void;
  usedNumbers(specId: string): Set<number>;
  readyTimeoutMs(spec: AgentSpecOptions): number;
}

export async function rollingUpgrade(host: UpgradeHost, spec: AgentSpecOptions, next: AgentSpecOptions): Promise<void> {
  const limit = 2 * spec.replicas;
  const olds = host.instancesOf(spec.id);
  // New instances never reuse an old one's number within one upgrade, so an id names one version.
  const reserved = new Set(olds.map((old) => old.agentId));
  for (const old of olds) {
    if (old.lifecycle.state === 'terminated') {
      // Stopped by an operator: it stays stopped, and starts as the new version.
      old.spec = next;
      continue;
    }
    const used = host.usedNumbers(spec.id);
    for (const agentId of reserved) used.add(Number(agentId.slice(agentId.lastIndexOf('-') + 1)));
    let number = 1;
    while (used.has(number)) number++;
    if (number > limit) {
      throw new GatewayError(
        'GW_RESOURCE_EXHAUSTED',
        `agent "${spec.id}": no free instance number up to ${limit} for the rolling upgrade`,
        {
          details: { limit: 'supervisor.upgradeSlots', max: limit },
        },
      );
    }
    const fresh = host.createInstance(spec.id, number, next);
    try {
      const running = fresh.waitRunning(host.readyTimeoutMs(next));
      await fresh.launch(`rolling upgrade to ${next.version} (replaces ${old.agentId})`);
      await running;
    } catch (error) {
      await fresh.stop('rolling upgrade failed');
      host.removeInstance(fresh);
      throw new GatewayError(
        'GW_UNAVAILABLE',
        `rolling upgrade of "${spec.id}" to ${next.version}: ${fresh.agentId} did not become ready: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    old.retire(`rolling upgrade: replaced by ${fresh.agentId} (${next.version})`);
    await old.stop(`rolling upgrade: replaced by ${fresh.agentId}`);
    host.removeInstance(old);
  }
}
