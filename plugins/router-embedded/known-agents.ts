/**
 * Agent ids that have registered at some point, persisted with the durable store.
 *
 * A durable message to an agent that is offline (its stream dropped, so the registry removed it,
 * or the gateway restarted and it has not registered yet) must wait in its inbox rather than fail
 * with NOT_FOUND. Accepting durable messages for *any* id would let a typo fill the store, so the
 * router accepts them for ids it has seen register. Bounded: the least recently seen id is
 * forgotten first when `maxKnownAgents` is reached.
 */
export interface KnownAgentsStore {
  putKnownAgent(agentId: string, seenAt: number): Promise<boolean>;
  removeKnownAgent(agentId: string): Promise<boolean>;
  loadKnownAgents(): Iterable<{ agentId: string; seenAt: number }>;
}

export class KnownAgents {
  /** Insertion order is recency order: re-seen ids are deleted and re-inserted. */
  private readonly seen = new Map<string, number>();
  private store?: KnownAgentsStore;

  constructor(
    private readonly limit: number,
    private readonly onEvict: () => void,
  ) {}

  attach(store: KnownAgentsStore): void {
    this.store = store;
    const loaded = [...store.loadKnownAgents()].sort((a, b) => a.seenAt - b.seenAt);
    for (const { agentId, seenAt } of loaded.slice(-this.limit)) this.seen.set(agentId, seenAt);
  }

  has(agentId: string): boolean {
    return this.seen.has(agentId);
  }

  get size(): number {
    return this.seen.size;
  }

  touch(agentId: string, now: number): void {
    this.seen.delete(agentId);
    this.seen.set(agentId, now);
    void this.store?.putKnownAgent(agentId, now);
    if (this.seen.size <= this.limit) return;
    const oldest = this.seen.keys().next().value as string;
    this.seen.delete(oldest);
    void this.store?.removeKnownAgent(oldest);
    this.onEvict();
  }
}
