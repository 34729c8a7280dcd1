/**
 * A durable message sent to a service belongs to the service, not to the instance that was picked:
 * when that instance leaves (deregistered, stopped, upgraded away) with the message unacked or still
 * waiting, another instance gets it at once — not after the ack timeout, and not never. An instance
 * that only lost its session gets `durable.rehomeAfterMs` to come back for its own messages.
 */
import type { Delivery } from '../../kernel';
import {
  agentCaller,
  agentInfo,
  caller,
  message,
  RecordingSink,
  startRouterGateway,
  tempDataDir,
  waitFor,
  type RouterGateway,
} from './helpers';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The ack timeout is a minute: a redelivery within the test proves it was not waited for.
const slowAcks = { durable: { ackTimeoutMs: 60_000, maxAttempts: 5, maxInFlightPerReceiver: 2 } };

describe('router-embedded: service messages follow the service', () => {
  let env: RouterGateway;
  afterEach(async () => {
    await env?.gw.stop();
  });

  async function metric(name: string): Promise<string> {
    return env.gw.metrics.registry.getSingleMetricAsString(name);
  }

  /** Acks every delivery the sink has not acked yet; returns the texts received so far. */
  function ackAll(sink: RecordingSink, acked: Set<string>): Set<string> {
    for (const delivery of sink.deliveries) {
      if (acked.has(delivery.deliveryTag)) continue;
      acked.add(delivery.deliveryTag);
      expect(env.router.ack([{ deliveryTag: delivery.deliveryTag, kind: 'ack' }], caller)[0].result).toBe('acked');
    }
    return new Set(sink.texts());
  }

  test('in-flight and waiting messages of an instance that leaves go to another instance at once', async () => {
    env = await startRouterGateway(slowAcks);
    await env.registry.register(agentInfo('w-1'), {});
    await env.registry.register(agentInfo('w-2'), {});
    const first = new RecordingSink();
    const firstSession = env.router.openSession(first, { agentId: 'w-1', caller: agentCaller('w-1') });
    // Only w-1 has an inbox session: all five are admitted to it, two in flight, three waiting.
    await env.router.sendBatch(
      Array.from({ length: 5 }, (_, i) => message({ service: 'svc', durable: true, text: String(i) })),
      caller,
    );
    await waitFor(() => first.deliveries.length === 2, 5_000, 'w-1 in-flight window');

    const second = new RecordingSink();
    env.router.openSession(second, { agentId: 'w-2', caller: agentCaller('w-2') });
    firstSession.close('stopped');
    await env.registry.deregister('w-1', 'stopped');

    const acked = new Set<string>();
    await waitFor(() => ackAll(second, acked).size === 5, 5_000, 'all five at w-2');
    expect([...new Set(second.texts())].sort()).toEqual(['0', '1', '2', '3', '4']);
    const attempts = new Map(second.deliveries.map((d: Delivery) => [Buffer.from(d.message.payload).toString(), d.attempt]));
    expect([attempts.get('0'), attempts.get('1')]).toEqual([2, 2]);
    expect([attempts.get('2'), attempts.get('3'), attempts.get('4')]).toEqual([1, 1, 1]);
    expect(second.deliveries.every((d) => d.subscription === 'service:svc')).toBe(true);
    expect(await metric('openclaw_router_durable_pending')).toContain('openclaw_router_durable_pending 0');
    expect(await metric('openclaw_router_durable_rehomed_total')).toContain('openclaw_router_durable_rehomed_total 5');
  });

  test('a message whose only instance is gone waits, then goes to the next instance that opens an inbox', async () => {
    env = await startRouterGateway(slowAcks);
    await env.registry.register(agentInfo('w-1'), {});
    const first = new RecordingSink();
    const firstSession = env.router.openSession(first, { agentId: 'w-1', caller: agentCaller('w-1') });
    await env.router.send(message({ service: 'svc', durable: true, text: 'job' }), caller);
    await waitFor(() => first.deliveries.length === 1, 5_000, 'delivery to w-1');
    firstSession.close('stopped');
    await env.registry.deregister('w-1', 'stopped');

    // An instance with a new id (as after a rolling upgrade): w-1 never comes back.
    await env.registry.register(agentInfo('w-3'), {});
    const third = new RecordingSink();
    env.router.openSession(third, { agentId: 'w-3', caller: agentCaller('w-3') });
    await waitFor(() => third.deliveries.length === 1, 5_000, 'delivery to w-3');
    expect(third.deliveries[0]).toMatchObject({ attempt: 2, subscription: 'service:svc' });
    expect(third.texts()).toEqual(['job']);
  });

  test('an instance of another service does not take it; a matching version range is kept', async () => {
    env = await startRouterGateway(slowAcks);
    await env.registry.register(agentInfo('w-1', 'svc', '1.0.0'), {});
    const firstSession = env.router.openSession(new RecordingSink(), { agentId: 'w-1', caller: agentCaller('w-1') });
    await env.router.send(message({ service: 'svc', versionRange: '^1.0.0', durable: true, text: 'v1 only' }), caller);
    firstSession.close('stopped');
    await env.registry.deregister('w-1', 'stopped');

    await env.registry.register(agentInfo('other-1', 'other'), {});
    const other = new RecordingSink();
    env.router.openSession(other, { agentId: 'other-1', caller: agentCaller('other-1') });
    await env.registry.register(agentInfo('w-2', 'svc', '2.0.0'), {});
    const wrongVersion = new RecordingSink();
    env.router.openSession(wrongVersion, { agentId: 'w-2', caller: agentCaller('w-2') });
    await env.registry.register(agentInfo('w-3', 'svc', '1.4.0'), {});
    const right = new RecordingSink();
    env.router.openSession(right, { agentId: 'w-3', caller: agentCaller('w-3') });

    await waitFor(() => right.deliveries.length === 1, 5_000, 'delivery to the 1.x instance');
    expect(right.texts()).toEqual(['v1 only']);
    expect(other.deliveries).toHaveLength(0);
    expect(wrongVersion.deliveries).toHaveLength(0);
  });

  test('a dropped session keeps its service messages for rehomeAfterMs: back in time, they are its own', async () => {
    env = await startRouterGateway({ durable: { ...slowAcks.durable, rehomeAfterMs: 60_000 } });
    await env.registry.register(agentInfo('w-1'), {});
    const firstSession = env.router.openSession(new RecordingSink(), { agentId: 'w-1', caller: agentCaller('w-1') });
    await env.router.send(message({ service: 'svc', durable: true, text: 'mine' }), caller);
    await env.registry.register(agentInfo('w-2'), {});
    const other = new RecordingSink();
    env.router.openSession(other, { agentId: 'w-2', caller: agentCaller('w-2') });
    // A network blip: the stream drops, no deregistration.
    firstSession.close('stream reset');
    await sleep(300);
    expect(other.deliveries).toHaveLength(0);

    const back = new RecordingSink();
    env.router.openSession(back, { agentId: 'w-1', caller: agentCaller('w-1') });
    await waitFor(() => back.deliveries.length === 1, 5_000, 'redelivery to w-1');
    expect(back.deliveries[0]).toMatchObject({ attempt: 2, subscription: 'service:svc' });
    expect(other.deliveries).toHaveLength(0);
  });

  test('after a restart, instances get rehomeAfterMs to come back; then what is left goes to those that did', async () => {
    const dataDir = tempDataDir('rehome-restart');
    const options = { durable: { ...slowAcks.durable, rehomeAfterMs: 1_500 }, sweepIntervalMs: 50 };
    env = await startRouterGateway(options, dataDir);
    await env.registry.register(agentInfo('w-1'), {});
    await env.registry.register(agentInfo('w-2'), {});
    // Registered, no inbox sessions: admitted to their offline inboxes, alternately.
    for (let i = 0; i < 6; i++) await env.router.send(message({ service: 'svc', durable: true, text: `m${i}` }), caller);
    await env.gw.stop();

    env = await startRouterGateway(options, dataDir);
    await env.registry.register(agentInfo('w-1'), {});
    const first = new RecordingSink();
    env.router.openSession(first, { agentId: 'w-1', caller: agentCaller('w-1') });
    const acked = new Set<string>();
    await waitFor(() => ackAll(first, acked).size === 3, 5_000, "w-1's own three");
    // Within the grace period the first instance back does not take the other's messages.
    await sleep(300);
    expect(first.deliveries).toHaveLength(3);

    // w-2 never comes back: its three follow once the grace period is over.
    await waitFor(() => ackAll(first, acked).size === 6, 5_000, "w-2's three at w-1");
    expect([...new Set(first.texts())].sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    await env.gw.stop();

    // The moves were stored: after another restart nothing is left for w-1 or w-2.
    env = await startRouterGateway(options, dataDir);
    expect(await metric('openclaw_router_durable_pending')).toContain('openclaw_router_durable_pending 0');
  });

  test('stopping the gateway keeps every unacked message where it was: no attempt used, no dead letter', async () => {
    const dataDir = tempDataDir('rehome-stop');
    const options = { durable: { ...slowAcks.durable, maxAttempts: 1 } };
    env = await startRouterGateway(options, dataDir);
    const deadLetters: string[] = [];
    env.gw.hooks.messageDeadLettered.tap('test', (letter) => void deadLetters.push(letter.reason));
    const sinks: RecordingSink[] = [];
    for (const id of ['w-1', 'w-2', 'w-3']) {
      await env.registry.register(agentInfo(id), {});
      const sink = new RecordingSink();
      env.router.openSession(sink, { agentId: id, caller: agentCaller(id) });
      sinks.push(sink);
    }
    for (let i = 0; i < 6; i++) await env.router.send(message({ service: 'svc', durable: true, text: `m${i}` }), caller);
    await waitFor(() => sinks.reduce((sum, sink) => sum + sink.deliveries.length, 0) === 6, 5_000, 'six deliveries');
    await env.gw.stop();
    // One attempt each: handing them to the next session being closed would have dead-lettered them.
    expect(deadLetters).toEqual([]);

    env = await startRouterGateway(options, dataDir);
    expect(await metric('openclaw_router_durable_pending')).toContain('openclaw_router_durable_pending 6');
  });

  test('a message sent to an agent id stays in that agent’s inbox while it is away', async () => {
    env = await startRouterGateway(slowAcks);
    await env.registry.register(agentInfo('w-1'), {});
    await env.registry.register(agentInfo('w-2'), {});
    const firstSession = env.router.openSession(new RecordingSink(), { agentId: 'w-1', caller: agentCaller('w-1') });
    const second = new RecordingSink();
    env.router.openSession(second, { agentId: 'w-2', caller: agentCaller('w-2') });
    await env.router.send(message({ agentId: 'w-1', durable: true, text: 'for w-1' }), caller);
    firstSession.close('reconnecting');

    const back = new RecordingSink();
    env.router.openSession(back, { agentId: 'w-1', caller: agentCaller('w-1') });
    await waitFor(() => back.deliveries.length === 1, 5_000, 'delivery to w-1 again');
    expect(back.texts()).toEqual(['for w-1']);
    expect(second.deliveries).toHaveLength(0);
  });
});
