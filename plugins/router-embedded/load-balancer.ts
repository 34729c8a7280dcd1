/**
 * Picks one instance of a service. Candidates come from `registry.discover({routableOnly})` and are
 * cached per (service, range) until a registry hook says that service changed, so the hot path does
 * not re-filter the registry. The cache is bounded (oldest entry evicted).
 */
import type { AgentRecord, RegistryService } from '../../kernel';
import type { BalanceStrategy } from './schema';

interface Candidates {
  readonly agents: readonly AgentRecord[];
  cursor: number;
}

export interface InstanceProbe {
  /** Can this agent take a message now (has an open session here with room)? */
  reachable(agentId: string): boolean;
  /** Messages queued or unacked at the agent (least-in-flight). */
  inFlight(agentId: string): number;
}

export class LoadBalancer {
  /** service → versionRange → candidates. */
  private readonly cache = new Map<string, Map<string, Candidates>>();
  private cachedEntries = 0;

  constructor(
    private readonly registry: RegistryService,
    private readonly strategy: BalanceStrategy,
    private readonly maxEntries: number,
    private readonly onEvict: () => void,
  ) {}

  invalidate(service: string): void {
    const ranges = this.cache.get(service);
    if (!ranges) return;
    this.cachedEntries -= ranges.size;
    this.cache.delete(service);
  }

  entries(): number {
    return this.cachedEntries;
  }

  /** Routable instances, cached. */
  candidates(service: string, versionRange: string): readonly AgentRecord[] {
    return this.lookup(service, versionRange).agents;
  }

  /**
   * Chooses a reachable instance with the configured strategy, or undefined when none is reachable.
   * `key` drives consistent hashing; when absent that strategy falls back to round-robin.
   */
  pick(service: string, versionRange: string, key: string, probe: InstanceProbe): AgentRecord | undefined {
    const entry = this.lookup(service, versionRange);
    const agents = entry.agents;
    const count = agents.length;
    if (count === 0) return undefined;
    if (this.strategy === 'least-in-flight') {
      let best: AgentRecord | undefined;
      let bestLoad = Infinity;
      // Start at the cursor so ties rotate instead of always hitting the first instance.
      const start = entry.cursor++ % count;
      for (let i = 0; i < count; i++) {
        const agent = agents[(start + i) % count];
        if (!probe.reachable(agent.agentId)) continue;
        const load = probe.inFlight(agent.agentId);
        if (load < bestLoad) {
          best = agent;
          bestLoad = load;
        }
      }
      return best;
    }
    if (this.strategy === 'consistent-hash' && key) {
      // Rendezvous hashing: the instance with the highest hash(key, id) wins, so adding or removing
      // one instance only moves the keys that instance wins or owned. No ring to rebuild.
      let best: AgentRecord | undefined;
      let bestScore = -1;
      const keyHash = fnv1a(key, 0x811c9dc5);
      for (let i = 0; i < count; i++) {
        const agent = agents[i];
        if (!probe.reachable(agent.agentId)) continue;
        const score = mix(fnv1a(agent.agentId, keyHash));
        if (score > bestScore) {
          best = agent;
          bestScore = score;
        }
      }
      return best;
    }
    for (let i = 0; i < count; i++) {
      const agent = agents[entry.cursor++ % count];
      if (probe.reachable(agent.agentId)) return agent;
    }
    return undefined;
  }

  private lookup(service: string, versionRange: string): Candidates {
    let ranges = this.cache.get(service);
    const cached = ranges?.get(versionRange);
    if (cached) return cached;
    const agents = this.registry.discover({ service, versionRange: versionRange || undefined, routableOnly: true });
    // Sorted so consistent hashing and round-robin do not depend on registry iteration order.
    agents.sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
    const entry: Candidates = { agents, cursor: 0 };
    if (this.cachedEntries >= this.maxEntries) this.evictOldest();
    if (!ranges) {
      ranges = new Map();
      this.cache.set(service, ranges);
    }
    ranges.set(versionRange, entry);
    this.cachedEntries++;
    return entry;
  }

  private evictOldest(): void {
    const first = this.cache.entries().next();
    if (first.done) return;
    const [service, ranges] = first.value;
    ranges.delete(ranges.keys().next().value as string);
    if (ranges.size === 0) this.cache.delete(service);
    this.cachedEntries--;
    this.onEvict();
  }
}

function fnv1a(text: string, seed: number): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Final avalanche (murmur3 fmix32) so ids differing in one character spread evenly. */
function mix(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
