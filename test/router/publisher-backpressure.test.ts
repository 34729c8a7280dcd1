/**
 * Publisher backpressure in router-embedded: a publisher that can wait (it passes
 * `caller.feedback`, as PublishStream does) is held while a subscriber it fed is behind, instead
 * of the subscriber's queue dropping; a subscriber that stays stuck costs one bounded wait and
 * then its queue's overflow policy applies, as documented for at-most-once delivery.
 */
import type { CallerContext, PublishFeedback } from '../../kernel';
import { caller, message, RecordingSink, settle, startRouterGateway, type RouterGateway } from './helpers';

describe('router-embedded: publisher backpressure', () => {
  let env: RouterGateway;
  afterEach(async () => {
    await env.gw.stop();
  });

  function batch(from: number, count: number) {
    return Array.from({ length: count }, (_, i) => message({ topic: 'feed', text: String(from + i) }));
  }

  async function publish(from: number, count: number): Promise<PublishFeedback> {
    const feedback: PublishFeedback = {};
    const context: CallerContext = { ...caller, feedback };
    await env.router.sendBatch(batch(from, count), context);
    await settle();
    return feedback;
  }

  async function setup(publisherWaitMs: number) {
    env = await startRouterGateway({ subscriberQueue: { maxEvents: 16, maxBatch: 8, publisherWaitMs } });
    const drops: string[] = [];
    const limits: string[] = [];
    env.gw.hooks.messageDropped.tap('test', (_m, reason) => void drops.push(reason));
    env.gw.hooks.limitReached.tap('test', (e) => void limits.push(`${e.limit}:${e.policy}`));
    const slow = new RecordingSink();
    slow.paused = true;
    env.router.openSession(slow, { caller }).subscribe({ pattern: 'feed' });
    return { slow, drops, limits };
  }

  const waits = () => env.gw.metrics.registry.getSingleMetricAsString('openclaw_router_publisher_waits_total');

  test('a slow subscriber holds the publisher until it drains: nothing is dropped', async () => {
    const { slow, drops } = await setup(60_000);
    // 8 go to the stream, which then reports full; 2 stay queued: not behind yet.
    expect((await publish(0, 10)).ready).toBeUndefined();
    // 12 queued of 16: past the high-water mark (8), so the publisher must wait.
    const second = await publish(10, 10);
    expect(second.routed).toBe(true);
    let released = false;
    void second.ready!.then(() => (released = true));
    await settle();
    expect(released).toBe(false);
    slow.resume();
    await settle();
    expect(released).toBe(true);
    expect(drops).toEqual([]);
    expect(slow.texts()).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect(await waits()).toContain('openclaw_router_publisher_waits_total{outcome="room"} 1');
  });

  test('a stuck subscriber costs one bounded wait, then its drop policy applies until it drains', async () => {
    const { slow, drops, limits } = await setup(50);
    await publish(0, 10);
    const held = await publish(10, 10);
    await held.ready;
    expect(limits).toContain('router.subscriberQueue.publisherWaitMs:drop-oldest');
    expect(await waits()).toContain('openclaw_router_publisher_waits_total{outcome="timeout"} 1');
    // Stalled: no further waits for it; its queue (16) overflows by the documented policy.
    const next = await publish(20, 10);
    expect(next.routed).toBe(true);
    expect(next.ready).toBeUndefined();
    expect(drops).toHaveLength(6);
    expect(new Set(drops)).toEqual(new Set(['subscriber-queue-full:drop-oldest']));
    // Once it drains it is a normal subscriber again: the next time it falls behind, publishers wait.
    slow.resume();
    await settle();
    slow.paused = true;
    await publish(30, 10);
    expect((await publish(40, 10)).ready).toBeDefined();
  });

  test('publishers that cannot wait (no feedback) and publisherWaitMs 0 are never held', async () => {
    const { drops } = await setup(0);
    await publish(0, 10);
    const second = await publish(10, 10);
    expect(second.routed).toBe(true);
    expect(second.ready).toBeUndefined();
    await env.router.sendBatch(batch(20, 10), caller);
    expect(drops.length).toBeGreaterThan(0);
  });
});
