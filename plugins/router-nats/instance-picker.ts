/**
 * Picks the instance of a service a service-addressed message goes to, from the registry's
 * cluster-wide view of routable instances: rendezvous hashing on the message key with
 * `strategy: consistent-hash` (every gateway picks the same instance), else round-robin over the
 * instances sorted by id. Bounded: `balancerKeys` cursors, the oldest evicted
 * (`router.balancerKeys`).
 */
import { createHash } from 'node:crypto';
import { gatewayError, type AgentRecord, type MessageEnvelope, type RegistryService } from '../../kernel';
import type { NatsRouterOptions } from './schema';

export class InstancePicker {
  private readonly cursors = new Map<string, number>();

  constructor(
    private readonly registry: RegistryService,
    private readonly options: Pick<NatsRouterOptions, 'strategy' | 'balancerKeys'>,
    private readonly limitReached: (limit: string, policy: string, detail: string) => void,
  ) {}

  /** Round-robin (or rendezvous hashing on `key`) over the cluster's routable instances. */
  pick(message: MessageEnvelope): AgentRecord {
    const { service, versionRange } = message;
    const candidates = this.registry.discover({ service, versionRange: versionRange || undefined, routableOnly: true });
    if (candidates.length === 0) {
      throw gatewayError(
        'GW_NOT_FOUND',
        `service: no routable instance of "${service}"${versionRange ? ` matching "${versionRange}"` : ''}`,
        { field: 'service' },
      );
    }
    if (this.options.strategy === 'consistent-hash' && message.key) {
      let best = candidates[0];
      let bestScore = -1;
      for (const candidate of candidates) {
        const score = createHash('sha1').update(message.key).update('\u0000').update(candidate.agentId).digest().readUInt32BE(0);
        if (score > bestScore) {
          bestScore = score;
          best = candidate;
        }
      }
      return best;
    }
    const cursorKey = `${service}\u0000${versionRange}`;
    const next = this.cursors.get(cursorKey) ?? 0;
    if (!this.cursors.has(cursorKey) && this.cursors.size >= this.options.balancerKeys) {
      this.cursors.delete(this.cursors.keys().next().value!);
      this.limitReached('router.balancerKeys', 'evict-oldest', 'round-robin cursor evicted');
    }
    this.cursors.set(cursorKey, next + 1);
    // Sorted so every gateway walks the instances in one order.
    candidates.sort((a, b) => (a.agentId < b.agentId ? -1 : 1));
    return candidates[next % candidates.length];
  }
}
