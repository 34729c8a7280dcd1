/**
 * Capped exponential backoff with jitter. Consecutive failures grow the delay; a process that
 * stayed up for `resetAfterMs` before failing proves the cause is gone, so its next delay starts
 * over from `initialDelayMs`.
 */
export interface BackoffSettings {
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  /** 0..1: the delay is scaled by a random factor in [1 - jitter, 1 + jitter] (then capped). */
  jitter: number;
  resetAfterMs: number;
}

export class RestartBackoff {
  private failures = 0;

  constructor(
    private readonly settings: BackoffSettings,
    private readonly random: () => number = Math.random,
  ) {}

  /** Consecutive failures counted so far (0 after a reset). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Records a failure after `uptimeMs` of running and returns the delay before the next start. */
  nextDelay(uptimeMs: number): number {
    if (uptimeMs >= this.settings.resetAfterMs) this.failures = 0;
    const { initialDelayMs, maxDelayMs, multiplier, jitter } = this.settings;
    const base = Math.min(maxDelayMs, initialDelayMs * multiplier ** this.failures);
    this.failures++;
    const factor = 1 + jitter * (2 * this.random() - 1);
    return Math.max(0, Math.min(maxDelayMs, Math.round(base * factor)));
  }

  reset(): void {
    this.failures = 0;
  }
}
