/** The ping policy alone (plugins/transport-grpc/ping-policy.ts), on a virtual clock. */
import { PingStrikes } from '../../plugins/transport-grpc/ping-policy';

describe('PingStrikes', () => {
  const policy = () => new PingStrikes({ minIntervalMs: 10_000, maxStrikes: 2 });

  test('idle pings closer than the interval strike out after maxStrikes + 1', () => {
    const strikes = policy();
    expect(strikes.pingReceived(0)).toBe(false); // the first ping is free
    expect(strikes.pingReceived(100)).toBe(false); // strike 1
    expect(strikes.pingReceived(200)).toBe(false); // strike 2
    expect(strikes.pingReceived(300)).toBe(true); // strike 3 > 2
  });

  test('pings at least the interval apart are never strikes', () => {
    const strikes = policy();
    for (let now = 0; now < 200_000; now += 10_000) expect(strikes.pingReceived(now)).toBe(false);
    expect(strikes.strikeCount).toBe(0);
  });

  test('pings while a stream is open are never strikes', () => {
    const strikes = policy();
    strikes.streamOpened();
    for (let now = 0; now < 10_000; now += 10) expect(strikes.pingReceived(now)).toBe(false);
    expect(strikes.strikeCount).toBe(0);
  });

  test('stream activity forgives the strikes and frees the next ping', () => {
    const strikes = policy();
    strikes.pingReceived(0);
    strikes.pingReceived(1);
    strikes.pingReceived(2);
    expect(strikes.strikeCount).toBe(2);
    strikes.streamOpened();
    strikes.streamClosed();
    expect(strikes.strikeCount).toBe(0);
    expect(strikes.pingReceived(3)).toBe(false);
    expect(strikes.strikeCount).toBe(0);
  });

  test('maxStrikes 0 or minIntervalMs 0 turns policing off, as max_ping_strikes 0 does in gRPC core', () => {
    for (const options of [
      { minIntervalMs: 10_000, maxStrikes: 0 },
      { minIntervalMs: 0, maxStrikes: 2 },
    ]) {
      const strikes = new PingStrikes(options);
      for (let now = 0; now < 1000; now++) expect(strikes.pingReceived(now)).toBe(false);
    }
  });
});
