/**
 * Which gateways of the cluster are alive, from their heartbeats. A gateway is presumed alive on
 * first sight (a record or a heartbeat names it) and must then be heard from every
 * `deadAfterMs`; one that goes quiet is declared dead once, and alive again if it speaks again
 * (a partition healed). The map is bounded: beyond `maxGateways` unknown gateways are ignored.
 *
 * While our own NATS link is down we hear nobody, which says nothing about the others: the clock
 * is suspended (no one dies, no one is purged) and on resume every deadline moves by the time we
 * were away, so a failover of our connection never counts against the other gateways.
 */
export interface LivenessListener {
  died(gatewayId: string): void;
  revived(gatewayId: string): void;
  /** Called once per dead gateway after `purgeAfterMs`, then it is forgotten. */
  expired(gatewayId: string): void;
  full(gatewayId: string): void;
}

interface GatewayState {
  lastSeen: number;
  alive: boolean;
  diedAt: number;
}

export class GatewayLiveness {
  private readonly gateways = new Map<string, GatewayState>();
  /** Epoch ms our link went down, 0 while up. */
  private suspendedAt = 0;

  constructor(
    private readonly selfId: string,
    private readonly settings: { deadAfterMs: number; purgeAfterMs: number; maxGateways: number },
    private readonly listener: LivenessListener,
  ) {}

  get aliveCount(): number {
    let count = 1;
    for (const state of this.gateways.values()) if (state.alive) count++;
    return count;
  }

  isAlive(gatewayId: string): boolean {
    if (gatewayId === this.selfId) return true;
    return this.gateways.get(gatewayId)?.alive ?? false;
  }

  /** A gateway named by a record: tracked (presumed alive) if new. Returns false when untracked. */
  seen(gatewayId: string, now: number): boolean {
    if (gatewayId === this.selfId) return true;
    if (this.gateways.has(gatewayId)) return true;
    return this.track(gatewayId, now);
  }

  heartbeat(gatewayId: string, now: number): void {
    if (gatewayId === this.selfId) return;
    const state = this.gateways.get(gatewayId);
    if (!state) {
      this.track(gatewayId, now);
      return;
    }
    state.lastSeen = now;
    if (!state.alive) {
      state.alive = true;
      this.listener.revived(gatewayId);
    }
  }

  /** A gateway said goodbye (graceful stop): dead at once. */
  left(gatewayId: string, now: number): void {
    const state = this.gateways.get(gatewayId);
    if (state?.alive) this.kill(gatewayId, state, now);
  }

  /** Everyone else is unreachable (our own NATS link is down): all are dead to us. */
  isolate(now: number): void {
    for (const [id, state] of this.gateways) if (state.alive) this.kill(id, state, now);
  }

  get suspended(): boolean {
    return this.suspendedAt !== 0;
  }

  /** Our link to NATS is down: stop judging others by their silence. */
  suspend(now: number): void {
    if (this.suspendedAt === 0) this.suspendedAt = now;
  }

  /** Our link is back: the time away does not count against anyone. */
  resume(now: number): void {
    if (this.suspendedAt === 0) return;
    const since = this.suspendedAt;
    this.suspendedAt = 0;
    for (const state of this.gateways.values()) {
      state.lastSeen += now - since;
      if (!state.alive) state.diedAt += now - Math.max(since, state.diedAt);
    }
  }

  sweep(now: number): void {
    if (this.suspendedAt !== 0) return;
    const { deadAfterMs, purgeAfterMs } = this.settings;
    for (const [id, state] of this.gateways) {
      if (state.alive && now - state.lastSeen > deadAfterMs) this.kill(id, state, now);
      else if (!state.alive && now - state.diedAt >= purgeAfterMs) {
        this.gateways.delete(id);
        this.listener.expired(id);
      }
    }
  }

  private track(gatewayId: string, now: number): boolean {
    if (this.gateways.size >= this.settings.maxGateways) {
      this.listener.full(gatewayId);
      return false;
    }
    this.gateways.set(gatewayId, { lastSeen: now, alive: true, diedAt: 0 });
    return true;
  }

  private kill(gatewayId: string, state: GatewayState, now: number): void {
    state.alive = false;
    state.diedAt = now;
    this.listener.died(gatewayId);
  }
}
