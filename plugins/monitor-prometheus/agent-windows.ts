/**
 * Per-agent sliding windows for the anomaly rules, capped at `maxAgents`. Touching an agent only
 * stamps a number (no reordering per message); the least recently active agent is found by a scan
 * only when a new agent arrives at the cap, which is rare compared with message traffic.
 */
import { SampleRing } from './sample-ring';

/** Signals recorded only occasionally (leases, restarts, RSS) need few samples. */
const SPARSE_CAPACITY = 32;

export class AgentWindow {
  lastSeen = 0;
  /** 1 for a failed message to the agent, 0 for a delivered one. */
  readonly outcomes: SampleRing;
  /** Request→reply latency in seconds, attributed to the replying agent. */
  readonly latencies: SampleRing;
  readonly leaseMisses = new SampleRing(SPARSE_CAPACITY);
  readonly restarts = new SampleRing(SPARSE_CAPACITY);
  readonly rss = new SampleRing(SPARSE_CAPACITY);
  /** Lease expiry already counted as missed, and how many renewal periods of it. */
  countedLeaseExpiry = 0;
  countedLeaseMisses = 0;
  /** Epoch ms each rule last fired for this agent (cooldown). */
  readonly lastFired: Float64Array;

  constructor(samples: number, rules: number) {
    this.outcomes = new SampleRing(samples);
    this.latencies = new SampleRing(samples);
    this.lastFired = new Float64Array(rules);
  }
}

export class AgentWindows {
  private readonly windows = new Map<string, AgentWindow>();

  constructor(
    private readonly maxAgents: number,
    private readonly samples: number,
    private readonly rules: number,
    /** Told which agent was forgotten to make room (the limit policy). */
    private readonly onEvict: (agentId: string) => void,
  ) {}

  get size(): number {
    return this.windows.size;
  }

  /** The agent's window, created (evicting the least recently active one at the cap) when new. */
  touch(agentId: string, now: number): AgentWindow {
    let window = this.windows.get(agentId);
    if (window === undefined) {
      if (this.windows.size >= this.maxAgents) this.evictLeastRecent();
      window = new AgentWindow(this.samples, this.rules);
      this.windows.set(agentId, window);
    }
    window.lastSeen = now;
    return window;
  }

  find(agentId: string): AgentWindow | undefined {
    return this.windows.get(agentId);
  }

  entries(): IterableIterator<[string, AgentWindow]> {
    return this.windows.entries();
  }

  /** Forgets agents with no activity since `before` (their windows would be empty anyway). */
  forgetIdle(before: number): void {
    for (const [agentId, window] of this.windows) if (window.lastSeen < before) this.windows.delete(agentId);
  }

  private evictLeastRecent(): void {
    let oldestId: string | undefined;
    let oldestSeen = Infinity;
    for (const [agentId, window] of this.windows) {
      if (window.lastSeen < oldestSeen) {
        oldestSeen = window.lastSeen;
        oldestId = agentId;
      }
    }
    if (oldestId === undefined) return;
    this.windows.delete(oldestId);
    this.onEvict(oldestId);
  }
}
