/** Unit level: the backoff's growth, cap, jitter bounds and reset; the crash-loop window. */
import { CrashLoopDetector } from '../../plugins/supervisor/crash-loop';
import { RestartBackoff } from '../../plugins/supervisor/restart-backoff';

const settings = { initialDelayMs: 100, maxDelayMs: 1000, multiplier: 2, jitter: 0, resetAfterMs: 5000 };

describe('RestartBackoff', () => {
  it('grows by the multiplier per consecutive failure up to maxDelayMs', () => {
    const backoff = new RestartBackoff(settings);
    expect([0, 0, 0, 0, 0, 0].map((uptime) => backoff.nextDelay(uptime))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoff.consecutiveFailures).toBe(6);
  });

  it('starts over after a run of resetAfterMs, and keeps growing after shorter runs', () => {
    const backoff = new RestartBackoff(settings);
    backoff.nextDelay(0);
    backoff.nextDelay(4999);
    expect(backoff.nextDelay(100)).toBe(400);
    expect(backoff.nextDelay(5000)).toBe(100);
    expect(backoff.nextDelay(0)).toBe(200);
  });

  it('jitter stays within ±jitter of the delay and never exceeds the cap', () => {
    const low = new RestartBackoff({ ...settings, jitter: 0.5 }, () => 0);
    const high = new RestartBackoff({ ...settings, jitter: 0.5 }, () => 0.999999);
    expect(low.nextDelay(0)).toBe(50);
    expect(high.nextDelay(0)).toBe(150);
    for (let i = 0; i < 10; i++) high.nextDelay(0);
    expect(high.nextDelay(0)).toBe(1000);
  });
});

describe('CrashLoopDetector', () => {
  it('allows maxRestarts failures within the window and trips on the next one', () => {
    const detector = new CrashLoopDetector({ maxRestarts: 3, windowMs: 1000 });
    expect([0, 100, 200].map((at) => detector.record(at))).toEqual([false, false, false]);
    expect(detector.record(300)).toBe(true);
  });

  it('forgets failures older than the window (history bounded by it)', () => {
    const detector = new CrashLoopDetector({ maxRestarts: 2, windowMs: 1000 });
    detector.record(0);
    detector.record(500);
    expect(detector.record(1200)).toBe(false);
    expect(detector.recent).toBe(2);
    for (let at = 2000; at < 2100; at++) detector.record(at);
    expect(detector.recent).toBeLessThanOrEqual(3);
  });
});
