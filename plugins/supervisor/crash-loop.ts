/**
 * Crash-loop detection: `maxRestarts` restarts within `windowMs` are allowed; a failure that would
 * need one more means restarting does not help. Only the failures inside the window are kept (at
 * most `maxRestarts + 1` timestamps), so the history of a long-lived instance stays bounded.
 */
export class CrashLoopDetector {
  private readonly restarts: number[] = [];

  constructor(private readonly settings: { maxRestarts: number; windowMs: number }) {}

  /** Records a failure at `now`; true when restarting it would exceed `maxRestarts` in the window. */
  record(now: number): boolean {
    const since = now - this.settings.windowMs;
    while (this.restarts.length > 0 && this.restarts[0] <= since) this.restarts.shift();
    this.restarts.push(now);
    if (this.restarts.length > this.settings.maxRestarts + 1) this.restarts.shift();
    return this.restarts.length > this.settings.maxRestarts;
  }

  /** Restarts currently inside the window. */
  get recent(): number {
    return this.restarts.length;
  }

  reset(): void {
    this.restarts.length = 0;
  }
}
