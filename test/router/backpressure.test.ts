import type { GatewayError } from '../../kernel';
import { agentCaller, agentInfo, caller, message, RecordingSink, settle, startRouterGateway, type RouterGateway } from './helpers';

describe('router-embedded: backpressure', () => {
  let env: RouterGateway;
  afterEach(async () => {
    await env.gw.stop();
  });

  async function fanOutWithSlowConsumer(policy: string) {
    env = await startRouterGateway({ subscriberQueue: { maxEvents: 16, policy, maxBatch: 8 } });
    const limits: string[] = [];
    const drops: string[] = [];
    env.gw.hooks.limitReached.tap('test', (e) => void limits.push(`${e.limit}:${e.policy}`));
    env.gw.hooks.messageDropped.tap('test', (_m, reason) => void drops.push(reason));
    const fast = new RecordingSink();
    const slow = new RecordingSink();
    env.router.openSession(fast, { caller }).subscribe({ pattern: 'feed' });
    env.router.openSession(slow, { caller }).subscribe({ pattern: 'feed' });
    // The slow consumer's stream is full from the first write on and never drains.
    slow.paused = true;
    for (let round = 0; round < 50; round++) {
      await env.router.sendBatch(
        Array.from({ length: 20 }, (_, i) => message({ topic: 'feed', text: String(round * 20 + i) })),
        caller,
      );
      await settle();
    }
    return { fast, slow, limits, drops };
  }

  test('drop-oldest: the slow consumer keeps only the newest events, others get everything', async () => {
    const { fast, slow, limits, drops } = await fanOutWithSlowConsumer('drop-oldest');
    expect(fast.deliveries).toHaveLength(1000);
    expect(fast.texts()).toEqual(Array.from({ length: 1000 }, (_, i) => String(i)));
    // One batch went to the stream before it reported full; after that the queue holds at most 16.
    const queued = await env.gw.metrics.registry.getSingleMetricAsString('openclaw_router_queue_depth');
    expect(queued).toContain('openclaw_router_queue_depth 16');
    expect(drops.length).toBe(1000 - 8 - 16);
    expect(new Set(drops)).toEqual(new Set(['subscriber-queue-full:drop-oldest']));
    expect(limits[0]).toBe('router.subscriberQueue:drop-oldest');
    // Once the stream drains, the newest events arrive, in order.
    slow.resume();
    await settle();
    expect(slow.texts()).toEqual([
      ...Array.from({ length: 8 }, (_, i) => String(i)),
      ...Array.from({ length: 16 }, (_, i) => String(984 + i)),
    ]);
  });

  test('drop-newest: the slow consumer keeps the oldest queued events', async () => {
    const { fast, slow } = await fanOutWithSlowConsumer('drop-newest');
    expect(fast.deliveries).toHaveLength(1000);
    slow.resume();
    await settle();
    expect(slow.texts()).toEqual(Array.from({ length: 24 }, (_, i) => String(i)));
  });

  test('disconnect: the slow consumer is closed with GW_RESOURCE_EXHAUSTED and the rest carry on', async () => {
    const { fast, slow, limits } = await fanOutWithSlowConsumer('disconnect');
    expect(fast.deliveries).toHaveLength(1000);
    expect((slow.closedWith as GatewayError).code).toBe('GW_RESOURCE_EXHAUSTED');
    expect(limits).toEqual(['router.subscriberQueue:disconnect']);
    const sessions = await env.gw.metrics.registry.getSingleMetricAsString('openclaw_router_sessions');
    expect(sessions).toContain('openclaw_router_sessions 1');
  });

  test('a publisher to one slow agent gets RESOURCE_EXHAUSTED instead of growing memory', async () => {
    env = await startRouterGateway({ subscriberQueue: { maxEvents: 4, maxBatch: 1 } });
    await env.registry.register(agentInfo('slowpoke'), {});
    const sink = new RecordingSink();
    sink.paused = true;
    env.router.openSession(sink, { agentId: 'slowpoke', caller: agentCaller('slowpoke') });
    const results: string[] = [];
    for (let i = 0; i < 20; i++) {
      results.push(
        await env.router.send(message({ agentId: 'slowpoke' }), caller).then(
          () => 'ok',
          (e: GatewayError) => e.code,
        ),
      );
      await settle();
    }
    // One written to the (then full) stream, four queued, the rest pushed back.
    expect(results.filter((r) => r === 'ok')).toHaveLength(5);
    expect(results.filter((r) => r === 'GW_RESOURCE_EXHAUSTED')).toHaveLength(15);
  });

  test('open sessions are bounded', async () => {
    env = await startRouterGateway({ maxSessions: 2 });
    env.router.openSession(new RecordingSink(), { caller });
    env.router.openSession(new RecordingSink(), { caller });
    expect(() => env.router.openSession(new RecordingSink(), { caller })).toThrow(
      expect.objectContaining({ code: 'GW_RESOURCE_EXHAUSTED' }),
    );
  });
});
