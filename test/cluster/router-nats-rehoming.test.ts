/**
 * router-nats against a real NATS JetStream server: durable messages sent to a service follow the
 * service. When the instance they were stored for leaves the cluster with them unacked, they are
 * moved to another instance (on another gateway) at once, or as soon as one appears; messages sent
 * to the departed agent's own id stay in its inbox.
 */
import { agentInfo, caller, message, RecordingSink } from '../router/helpers';
import { eventually, startMember, type ClusterMember } from './helpers';
import { natsEnv, type NatsEnv } from './nats-env';

describe('router-nats: service messages of a departed instance', () => {
  let env: NatsEnv;
  let a: ClusterMember;
  let b: ClusterMember;
  // A minute: arriving within the test proves nobody waited for the ack timeout.
  const options = { durable: { ackTimeoutMs: 60_000, maxAttempts: 5 } };
  beforeAll(async () => {
    env = await natsEnv();
    a = await startMember(env, options);
    b = await startMember(env, options);
  });
  afterAll(async () => {
    await Promise.all([a?.gw.stop(), b?.gw.stop()]);
    await env.close();
  });

  const agentCaller = (agentId: string) => ({ peer: 'test', agentId });

  it('moves unacked service messages to an instance on another gateway; direct ones stay', async () => {
    await a.registry.register(agentInfo('up-1', 'up'), {});
    const old = new RecordingSink();
    const oldSession = a.router.openSession(old, { agentId: 'up-1', caller: agentCaller('up-1') });
    await eventually(() => b.registry.get('up-1'));
    for (const text of ['s1', 's2', 's3']) await b.router.send(message({ service: 'up', durable: true, text }), caller);
    await b.router.send(message({ agentId: 'up-1', durable: true, text: 'direct' }), caller);
    await eventually(() => old.deliveries.length === 4, 10_000, 'deliveries to up-1');

    await b.registry.register(agentInfo('up-2', 'up'), {});
    const fresh = new RecordingSink();
    const freshSession = b.router.openSession(fresh, { agentId: 'up-2', caller: agentCaller('up-2') });
    await eventually(() => a.registry.get('up-2'));
    // As an agent stopping: it deregisters, then hangs up, never having acked.
    await a.registry.deregister('up-1', 'stopped');
    oldSession.close('stopped');

    await eventually(() => fresh.deliveries.length === 3, 10_000, 'service messages at up-2');
    expect(fresh.texts().sort()).toEqual(['s1', 's2', 's3']);
    expect(fresh.deliveries.every((d) => d.subscription === 'service:up' && d.deliveryTag !== '')).toBe(true);
    for (const delivery of fresh.deliveries)
      expect(b.router.ack([{ deliveryTag: delivery.deliveryTag, kind: 'ack' }], caller)[0].result).toBe('acked');
    // Counted when the pass ends, which may be just after the copies arrived.
    await eventually(
      async () =>
        (await a.gw.gateway.metrics.registry.getSingleMetricAsString('openclaw_router_nats_durable_rehomed_total')).includes(
          'openclaw_router_nats_durable_rehomed_total 3',
        ),
      10_000,
      'the re-homed count',
    );

    // up-1 comes back: only the message sent to its own id waits for it.
    await a.registry.register(agentInfo('up-1', 'up'), {});
    const back = new RecordingSink();
    const backSession = a.router.openSession(back, { agentId: 'up-1', caller: agentCaller('up-1') });
    await eventually(() => back.deliveries.length === 1, 10_000, 'the direct message');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(back.deliveries.map((d) => [Buffer.from(d.message.payload).toString(), d.attempt])).toEqual([['direct', 1]]);
    a.router.ack([{ deliveryTag: back.deliveries[0].deliveryTag, kind: 'ack' }], caller);
    backSession.close('done');
    freshSession.close('done');
  });

  it('keeps them while no instance is routable and moves them when one registers', async () => {
    await a.registry.register(agentInfo('solo-1', 'solo'), {});
    const old = new RecordingSink();
    const oldSession = a.router.openSession(old, { agentId: 'solo-1', caller: agentCaller('solo-1') });
    await a.router.send(message({ service: 'solo', durable: true, text: 'job' }), caller);
    await eventually(() => old.deliveries.length === 1, 10_000, 'delivery to solo-1');
    // This time it hangs up first, then leaves the registry.
    oldSession.close('crashed');
    await a.registry.deregister('solo-1', 'crashed');
    await eventually(() => !b.registry.get('solo-1'));

    // A new instance, with a new id, on the other gateway.
    await b.registry.register(agentInfo('solo-2', 'solo'), {});
    const fresh = new RecordingSink();
    const freshSession = b.router.openSession(fresh, { agentId: 'solo-2', caller: agentCaller('solo-2') });
    await eventually(() => fresh.deliveries.length === 1, 10_000, 'the job at solo-2');
    expect(fresh.texts()).toEqual(['job']);
    expect(b.router.ack([{ deliveryTag: fresh.deliveries[0].deliveryTag, kind: 'ack' }], caller)[0].result).toBe('acked');
    freshSession.close('done');
  });

  it('an instance whose stream dropped keeps its service messages for rehomeAfterMs', async () => {
    // A and B use the default 5 s; this gateway gives a minute.
    const c = await startMember(env, { durable: { ...options.durable, rehomeAfterMs: 60_000 } });
    try {
      await c.registry.register(agentInfo('blip-1', 'blip'), {});
      const first = new RecordingSink();
      const firstSession = c.router.openSession(first, { agentId: 'blip-1', caller: agentCaller('blip-1') });
      await c.router.send(message({ service: 'blip', durable: true, text: 'mine' }), caller);
      await eventually(() => first.deliveries.length === 1, 10_000, 'delivery to blip-1');
      await b.registry.register(agentInfo('blip-2', 'blip'), {});
      const other = new RecordingSink();
      const otherSession = b.router.openSession(other, { agentId: 'blip-2', caller: agentCaller('blip-2') });
      await eventually(() => c.registry.get('blip-2'));

      // What the transport does when a stream drops: the session closes, the registry lets go.
      firstSession.close('stream reset');
      await c.registry.deregister('blip-1', 'session-closed');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(other.deliveries).toHaveLength(0);

      await c.registry.register(agentInfo('blip-1', 'blip'), {});
      const back = new RecordingSink();
      const backSession = c.router.openSession(back, { agentId: 'blip-1', caller: agentCaller('blip-1') });
      await eventually(() => back.deliveries.length === 1, 10_000, 'the message back at blip-1');
      expect(back.texts()).toEqual(['mine']);
      expect(other.deliveries).toHaveLength(0);
      c.router.ack([{ deliveryTag: back.deliveries[0].deliveryTag, kind: 'ack' }], caller);
      backSession.close('done');
      otherSession.close('done');
    } finally {
      await c.gw.stop();
    }
  });

  it("a gateway that stops gracefully: another gateway moves its instances' service messages", async () => {
    const quick = { durable: { ...options.durable, rehomeAfterMs: 300 } };
    const c = await startMember(env, quick);
    const d = await startMember(env, quick);
    try {
      await c.registry.register(agentInfo('gs-1', 'gs'), {});
      const old = new RecordingSink();
      c.router.openSession(old, { agentId: 'gs-1', caller: agentCaller('gs-1') });
      await eventually(() => d.registry.get('gs-1'));
      for (const text of ['g1', 'g2']) await d.router.send(message({ service: 'gs', durable: true, text }), caller);
      await eventually(() => old.deliveries.length === 2, 10_000, 'deliveries to gs-1');
      await d.registry.register(agentInfo('gs-2', 'gs'), {});
      const fresh = new RecordingSink();
      const freshSession = d.router.openSession(fresh, { agentId: 'gs-2', caller: agentCaller('gs-2') });

      // Gateway C stops with gs-1's messages unacked; it starts no pass while shutting down.
      await c.gw.stop();
      await eventually(() => fresh.deliveries.length === 2, 15_000, "gs-1's messages at gs-2");
      expect(fresh.texts().sort()).toEqual(['g1', 'g2']);
      for (const delivery of fresh.deliveries) d.router.ack([{ deliveryTag: delivery.deliveryTag, kind: 'ack' }], caller);
      freshSession.close('done');
    } finally {
      await Promise.all([c.gw.stop(), d.gw.stop()]);
    }
  });

  it('a live session whose inbox consumer is deleted under it recreates it and keeps receiving', async () => {
    await a.registry.register(agentInfo('live-1', 'live'), {});
    const sink = new RecordingSink();
    const session = a.router.openSession(sink, { agentId: 'live-1', caller: agentCaller('live-1') });
    await eventually(() => b.registry.get('live-1'));
    await b.router.send(message({ agentId: 'live-1', durable: true, text: 'before' }), caller);
    await eventually(() => sink.deliveries.length === 1, 10_000, 'first delivery');
    a.router.ack([{ deliveryTag: sink.deliveries[0].deliveryTag, kind: 'ack' }], caller);

    // As an operator, or a re-homing pass on a gateway that took A for lost, would.
    const jsm = await env.nc.jetstreamManager();
    await jsm.consumers.delete(`${env.prefix}_inbox`, `i_${Buffer.from('live-1').toString('base64url')}`);
    await b.router.send(message({ agentId: 'live-1', durable: true, text: 'after' }), caller);
    // Noticed from the pull's 409 at once, or at worst from missed idle heartbeats (30 s pulls).
    await eventually(() => sink.texts().includes('after'), 45_000, 'delivery after the consumer was deleted');
    session.close('done');
  }, 60_000);
});
