/**
 * Active health probes for one instance, over the agent's own Subscribe session: the supervisor
 * pushes a `probe` notice (router.notify) whose message is a probe id, and the agent answers with
 * `HealthCheck{agent_id, probe_id}` (the SDK and the Python example do it), which the transport
 * reports as `hooks.probeAnswered`.
 *
 * - Readiness: while the instance starts, a probe goes out every `readinessPollMs` (the agent may
 *   not have registered or opened its session yet); the first answer makes it ready.
 * - Liveness: then one probe every `probeIntervalMs`, each expected within `probeTimeoutMs`. A
 *   probe that cannot be delivered (no session) or is not answered in time is a miss; the caller
 *   decides what consecutive misses mean (degrade, then restart at the threshold).
 *
 * Probe ids carry the incarnation, so a late answer from a process that was replaced is ignored.
 * At most one liveness probe is outstanding, so nothing here grows.
 */
import type { HealthOptions } from './schema';

export interface ProbeTarget {
  /** Pushes the probe notice; false when the agent has no open session. */
  send(probeId: string): boolean;
  ready(): void;
  missed(consecutive: number): void;
  /** A probe was answered after one or more misses. */
  recovered(): void;
}

export class HealthProber {
  private incarnation = 0;
  private sequence = 0;
  private phase: 'idle' | 'readiness' | 'liveness' = 'idle';
  private timer?: NodeJS.Timeout;
  private outstanding?: { id: string; timer: NodeJS.Timeout };
  private misses = 0;

  constructor(
    private readonly settings: HealthOptions,
    private readonly target: ProbeTarget,
  ) {}

  get consecutiveMisses(): number {
    return this.misses;
  }

  startReadiness(incarnation: number): void {
    this.stop();
    this.incarnation = incarnation;
    this.phase = 'readiness';
    const poll = () => {
      if (this.phase !== 'readiness') return;
      this.target.send(this.nextId());
      this.timer = setTimeout(poll, this.settings.readinessPollMs);
      this.timer.unref();
    };
    poll();
  }

  startLiveness(): void {
    this.clearTimers();
    this.phase = 'liveness';
    this.misses = 0;
    this.timer = setInterval(() => this.probe(), this.settings.probeIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.clearTimers();
    this.phase = 'idle';
    this.misses = 0;
  }

  /** From `hooks.probeAnswered` for this instance's agent id. */
  answered(probeId: string): void {
    const dot = probeId.indexOf('.');
    if (dot === -1 || probeId.slice(0, dot) !== String(this.incarnation)) return;
    if (this.phase === 'readiness') {
      this.stop();
      this.target.ready();
      return;
    }
    if (this.phase !== 'liveness' || this.outstanding?.id !== probeId) return;
    clearTimeout(this.outstanding.timer);
    this.outstanding = undefined;
    if (this.misses > 0) {
      this.misses = 0;
      this.target.recovered();
    }
  }

  private probe(): void {
    // The previous probe is still out: its own timeout will count it.
    if (this.outstanding) return;
    const id = this.nextId();
    if (!this.target.send(id)) {
      this.miss();
      return;
    }
    const timer = setTimeout(() => {
      if (this.outstanding?.id !== id) return;
      this.outstanding = undefined;
      this.miss();
    }, this.settings.probeTimeoutMs);
    timer.unref();
    this.outstanding = { id, timer };
  }

  private miss(): void {
    this.misses++;
    this.target.missed(this.misses);
  }

  private nextId(): string {
    return `${this.incarnation}.${++this.sequence}`;
  }

  private clearTimers(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.outstanding) {
      clearTimeout(this.outstanding.timer);
      this.outstanding = undefined;
    }
  }
}
