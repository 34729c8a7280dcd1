import type { DeadLetter } from '../../kernel';
import {
  agentCaller,
  agentInfo,
  caller,
  message,
  RecordingSink,
  settle,
  startRouterGateway,
  tempDataDir,
  waitFor,
  type RouterGateway,
} from './helpers';

const fast = { durable: { ackTimeoutMs: 300, maxAttempts: 3, backoffBaseMs: 20, backoffMaxMs: 100 } };

describe('router-embedded: at-least-once delivery', () => {
  let env: RouterGateway;
  let deadLetters: DeadLetter[];
  async function start(options: Record<string, unknown> = fast, dataDir?: string) {
    env = await startRouterGateway(options, dataDir);
    deadLetters = [];
    env.gw.hooks.messageDeadLettered.tap('test', (dl) => void deadLetters.push(dl));
    await env.registry.register(agentInfo('worker'), {});
  }
  afterEach(async () => {
    await env.gw.stop();
  });

  test('a durable message is stored before send resolves, delivered with a tag, and gone once acked', async () => {
    await start();
    const sink = new RecordingSink();
    env.router.openSession(sink, { agentId: 'worker', caller: agentCaller('worker') });
    const outcome = await env.router.send(message({ agentId: 'worker', durable: true, text: 'job' }), caller);
    expect(outcome).toMatchObject({ stored: true, receivers: 1, duplicate: false });
    await waitFor(() => sink.deliveries.length === 1, 5_000, 'delivery');
    const delivery = sink.deliveries[0];
    expect(delivery.attempt).toBe(1);
    expect(delivery.deliveryTag).not.toBe('');
    expect(delivery.ackDeadline).toBeGreaterThan(Date.now());
    expect(env.router.ack([{ deliveryTag: delivery.deliveryTag, kind: 'ack' }], caller)).toEqual([
      { deliveryTag: delivery.deliveryTag, result: 'acked' },
    ]);
    // Well past the ack timeout: nothing comes back.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(sink.deliveries).toHaveLength(1);
    const metrics = await env.gw.metrics.registry.getSingleMetricAsString('openclaw_router_durable_pending');
    expect(metrics).toContain('openclaw_router_durable_pending 0');
  });

  test('an unacked message is redelivered after the ack timeout with a new tag; the stale tag cannot ack it', async () => {
    await start();
    const sink = new RecordingSink();
    env.router.openSession(sink, { agentId: 'worker', caller: agentCaller('worker') });
    await env.router.send(message({ agentId: 'worker', durable: true, text: 'job' }), caller);
    await waitFor(() => sink.deliveries.length === 2, 5_000, 'redelivery');
    const [first, second] = sink.deliveries as [(typeof sink.deliveries)[0], (typeof sink.deliveries)[0]];
    expect(second.attempt).toBe(2);
    expect(second.deliveryTag).not.toBe(first.deliveryTag);
    expect(env.router.ack([{ deliveryTag: first.deliveryTag, kind: 'ack' }], caller)[0].result).toBe('stale');
    expect(env.router.ack([{ deliveryTag: second.deliveryTag, kind: 'ack' }], caller)[0].result).toBe('acked');
    expect(env.router.ack([{ deliveryTag: second.deliveryTag, kind: 'ack' }], caller)[0].result).toBe('unknown');
    const redeliveries = await env.gw.metrics.registry.getSingleMetricAsString('openclaw_router_redeliveries_total');
    expect(redeliveries).toContain('openclaw_router_redeliveries_total 1');
  });

  test('in-progress acks extend the deadline without using up attempts', async () => {
    await start({ durable: { ...fast.durable, ackTimeoutMs: 1_000 } });
    const sink = new RecordingSink();
    env.router.openSession(sink, { agentId: 'worker', caller: agentCaller('worker') });
    await env.router.send(message({ agentId: 'worker', durable: true }), caller);
    await waitFor(() => sink.deliveries.length === 1, 5_000, 'delivery');
    const tag = sink.deliveries[0].deliveryTag;
    // A long task: 5 × 400 ms = 2 s, twice the 1 s ack timeout; each step leaves a loaded
    // machine 600 ms of slack before the extended deadline.
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(env.router.ack([{ deliveryTag: tag, kind: 'in-progress' }], caller)[0].result).toBe('extended');
    }
    expect(sink.deliveries).toHaveLength(1);
    expect(env.router.ack([{ deliveryTag: tag, kind: 'ack' }], caller)[0].result).toBe('acked');
  });

  test('after maxAttempts the message goes to the dead-letter topic with the reason and attempt count', async () => {
    await start();
    const sink = new RecordingSink();
    env.router.openSession(sink, { agentId: 'worker', caller: agentCaller('worker') });
    const dlq = new RecordingSink();
    env.router.openSession(dlq, { caller }).subscribe({ pattern: '_DLQ' });
    await env.router.send(message({ agentId: 'worker', durable: true, text: 'poison' }), caller);
    // Two nacks, then the third attempt times out.
    await waitFor(() => sink.deliveries.length === 1, 5_000, 'attempt 1');
    expect(env.router.ack([{ deliveryTag: sink.deliveries[0].deliveryTag, kind: 'nack', reason: 'cannot parse' }], caller)[0].result).toBe(
      'requeued',
    );
    await waitFor(() => sink.deliveries.length === 2, 5_000, 'attempt 2');
    env.router.ack([{ deliveryTag: sink.deliveries[1].deliveryTag, kind: 'nack', reason: 'cannot parse' }], caller);
    await waitFor(() => sink.deliveries.length === 3, 5_000, 'attempt 3');
    await waitFor(() => deadLetters.length === 1, 5_000, 'dead letter');
    expect(deadLetters[0]).toMatchObject({ reason: 'ack-timeout', attempts: 3 });
    await waitFor(() => dlq.deliveries.length === 1, 5_000, 'dead-letter topic');
    const letter = dlq.deliveries[0].message;
    expect(Buffer.from(letter.payload).toString()).toBe('poison');
    expect(letter.headers).toMatchObject({
      'x-dead-letter-reason': 'ack-timeout',
      'x-dead-letter-attempts': '3',
      'x-original-agent': 'worker',
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(sink.deliveries).toHaveLength(3);
  });

  test('a client message id is deduplicated within the window', async () => {
    await start();
    const sink = new RecordingSink();
    env.router.openSession(sink, { agentId: 'worker', caller: agentCaller('worker') });
    const first = await env.router.send(message({ id: 'order-42', agentId: 'worker', durable: true }), caller);
    const again = await env.router.send(message({ id: 'order-42', agentId: 'worker', durable: true }), caller);
    expect(first).toMatchObject({ messageId: 'order-42', duplicate: false, stored: true });
    expect(again).toMatchObject({ messageId: 'order-42', duplicate: true, stored: false, receivers: 0 });
    await settle();
    expect(sink.deliveries).toHaveLength(1);
  });

  test('when a group member drops with unacked messages they go to another member at once', async () => {
    await start({ durable: { ackTimeoutMs: 60_000, maxAttempts: 5 } });
    const first = new RecordingSink();
    const second = new RecordingSink();
    const firstSession = env.router.openSession(first, { caller });
    firstSession.subscribe({ pattern: 'tasks.>', queueGroup: 'crew' });
    await env.router.send(message({ topic: 'tasks.build', durable: true, text: 'build' }), caller);
    await waitFor(() => first.deliveries.length === 1, 5_000, 'first member delivery');
    env.router.openSession(second, { caller }).subscribe({ pattern: 'tasks.>', queueGroup: 'crew' });
    firstSession.close('stream ended');
    // The ack timeout is a minute: arriving now proves it was not waited for.
    await waitFor(() => second.deliveries.length === 1, 5_000, 'redelivery to the other member');
    expect(second.deliveries[0]).toMatchObject({ attempt: 2, subscription: 'tasks.>' });
    expect(Buffer.from(second.deliveries[0].message.payload).toString()).toBe('build');
  });

  test('durable messages for an offline agent wait in its inbox and flow when its session opens', async () => {
    await start();
    for (let i = 0; i < 5; i++) {
      expect(await env.router.send(message({ agentId: 'worker', durable: true, text: String(i) }), caller)).toMatchObject({ stored: true });
    }
    const sink = new RecordingSink();
    env.router.openSession(sink, { agentId: 'worker', caller: agentCaller('worker') });
    await waitFor(() => sink.deliveries.length === 5, 5_000, 'offline messages');
    expect(sink.texts()).toEqual(['0', '1', '2', '3', '4']);
  });

  test('offline inbox limits: reject gives RESOURCE_EXHAUSTED, drop-oldest dead-letters, age expires', async () => {
    await start({ ...fast, offlineInbox: { maxMessages: 2, policy: 'reject' } });
    const limits: string[] = [];
    env.gw.hooks.limitReached.tap('test', (e) => void limits.push(`${e.limit}:${e.policy}`));
    await env.router.send(message({ agentId: 'worker', durable: true }), caller);
    await env.router.send(message({ agentId: 'worker', durable: true }), caller);
    await expect(env.router.send(message({ agentId: 'worker', durable: true }), caller)).rejects.toMatchObject({
      code: 'GW_RESOURCE_EXHAUSTED',
    });
    expect(limits).toContain('router.offlineInbox.maxMessages:reject');
    await env.gw.stop();

    await start({ ...fast, offlineInbox: { maxMessages: 2, policy: 'drop-oldest', maxAgeMs: 400 }, sweepIntervalMs: 50 });
    for (const text of ['a', 'b', 'c']) await env.router.send(message({ agentId: 'worker', durable: true, text }), caller);
    expect(deadLetters.map((d) => [d.reason, Buffer.from(d.message.payload).toString()])).toEqual([['inbox-full', 'a']]);
    await waitFor(() => deadLetters.length === 3, 5_000, 'age expiry');
    expect(deadLetters.slice(1).map((d) => d.reason)).toEqual(['expired', 'expired']);
  });

  test('pending messages and the dedupe window survive a restart', async () => {
    const dataDir = tempDataDir('restart');
    await start(fast, dataDir);
    await env.router.send(message({ id: 'm-1', agentId: 'worker', durable: true, text: 'kept' }), caller);
    await env.gw.stop();

    await start(fast, dataDir);
    expect(await env.router.send(message({ id: 'm-1', agentId: 'worker', durable: true }), caller)).toMatchObject({ duplicate: true });
    const sink = new RecordingSink();
    env.router.openSession(sink, { agentId: 'worker', caller: agentCaller('worker') });
    await waitFor(() => sink.deliveries.length === 1, 5_000, 'message after restart');
    expect(sink.texts()).toEqual(['kept']);
  });

  test('global durable backlog is bounded: publishers get RESOURCE_EXHAUSTED', async () => {
    await start({ durable: { maxPending: 3 } });
    for (let i = 0; i < 3; i++) await env.router.send(message({ agentId: 'worker', durable: true }), caller);
    await expect(env.router.send(message({ agentId: 'worker', durable: true }), caller)).rejects.toMatchObject({
      code: 'GW_RESOURCE_EXHAUSTED',
    });
  });

  test('in-flight per receiver is bounded; acks let the next messages through', async () => {
    await start({ durable: { maxInFlightPerReceiver: 2, ackTimeoutMs: 60_000 } });
    const sink = new RecordingSink();
    env.router.openSession(sink, { agentId: 'worker', caller: agentCaller('worker') });
    await env.router.sendBatch(
      Array.from({ length: 5 }, (_, i) => message({ agentId: 'worker', durable: true, text: String(i) })),
      caller,
    );
    await waitFor(() => sink.deliveries.length === 2, 5_000, 'first window');
    await settle();
    expect(sink.deliveries).toHaveLength(2);
    env.router.ack(
      sink.deliveries.map((d) => ({ deliveryTag: d.deliveryTag, kind: 'ack' as const })),
      caller,
    );
    await waitFor(() => sink.deliveries.length === 4, 5_000, 'second window');
    expect(sink.texts()).toEqual(['0', '1', '2', '3']);
  });
});
