/**
 * The publish-rate buckets' bookkeeping: least recently used first out at `maxTrackedIdentities`,
 * whichever identity published last (its bucket is kept beside the map, so consecutive calls of
 * one identity skip the map) and whoever comes next.
 */
import { createHooks, createMetricsFactory, type Identity } from '../../kernel';
import { IdentityQuotas } from '../../plugins/transport-grpc/identity-quotas';

const identity = (id: string): Identity => ({ id, roles: [], method: 'none' }) as unknown as Identity;

function quotas(maxTrackedIdentities: number): IdentityQuotas {
  return new IdentityQuotas(
    {
      agentsPerIdentity: 10,
      subscriptionsPerIdentity: 10,
      streamsPerIdentity: 10,
      publishRate: { messagesPerSecond: 1, burst: 3 },
      connectionsPerPeer: 0,
      maxTrackedIdentities,
    },
    { hooks: createHooks(), metrics: createMetricsFactory({ processMetrics: false }), pluginName: 'transport-grpc' },
  );
}

describe('publish-rate buckets', () => {
  test('the last publisher is the most recently used: eviction takes the one before, in order', () => {
    const rate = quotas(2);
    const [a, b, c] = [identity('a'), identity('b'), identity('c')];
    const now = 1_000_000;
    expect(rate.takePublishTokens(a, 3, now)).toBe(3);
    expect(rate.takePublishTokens(b, 3, now)).toBe(3);
    // a again (from the map), then again (its kept bucket): still empty.
    expect(rate.takePublishTokens(a, 1, now)).toBe(0);
    expect(rate.takePublishTokens(a, 1, now)).toBe(0);
    // c is new and the map is full: b, used least recently, is forgotten, not a.
    expect(rate.takePublishTokens(c, 3, now)).toBe(3);
    expect(rate.takePublishTokens(a, 1, now)).toBe(0);
    // b starts again with a full bucket; that forgets c (a was used after it).
    expect(rate.takePublishTokens(b, 3, now)).toBe(3);
    expect(rate.takePublishTokens(a, 1, now)).toBe(0);
    expect(rate.takePublishTokens(c, 3, now)).toBe(3);
  });

  test('refills by elapsed time for the kept bucket as for the others', () => {
    const rate = quotas(10);
    const a = identity('a');
    expect(rate.takePublishTokens(a, 3, 0)).toBe(3);
    expect(rate.takePublishTokens(a, 3, 1_000)).toBe(1);
    expect(rate.takePublishTokens(a, 3, 3_500)).toBe(2);
    expect(rate.takePublishTokens(a, 3, 60_000)).toBe(3);
  });

  test('one identity forgotten under the limit of one starts full; the newcomer is kept', () => {
    const rate = quotas(1);
    const [a, b] = [identity('a'), identity('b')];
    expect(rate.takePublishTokens(a, 3, 0)).toBe(3);
    expect(rate.takePublishTokens(b, 2, 0)).toBe(2);
    expect(rate.takePublishTokens(b, 3, 0)).toBe(1);
    expect(rate.takePublishTokens(a, 3, 0)).toBe(3);
  });
});
