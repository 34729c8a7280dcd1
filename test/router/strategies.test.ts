import { agentCaller, agentInfo, caller, message, RecordingSink, settle, startRouterGateway, type RouterGateway } from './helpers';

async function withInstances(strategy: string, count: number) {
  const env = await startRouterGateway({ strategy });
  const sinks = new Map<string, RecordingSink>();
  for (let i = 1; i <= count; i++) {
    const id = `worker-${i}`;
    await env.registry.register(agentInfo(id, 'summarise', `1.${i}.0`), {});
    const sink = new RecordingSink();
    env.router.openSession(sink, { agentId: id, caller: agentCaller(id) });
    sinks.set(id, sink);
  }
  return { env, sinks };
}

const counts = (sinks: Map<string, RecordingSink>) => [...sinks.values()].map((s) => s.deliveries.length);

describe('router-embedded: service load balancing', () => {
  let env: RouterGateway | undefined;
  afterEach(async () => {
    await env?.gw.stop();
    env = undefined;
  });

  test('round-robin spreads messages evenly over routable instances', async () => {
    const started = await withInstances('round-robin', 3);
    env = started.env;
    for (let i = 0; i < 30; i++) await env.router.send(message({ service: 'summarise', text: String(i) }), caller);
    await settle();
    expect(counts(started.sinks)).toEqual([10, 10, 10]);
    expect(started.sinks.get('worker-1')!.deliveries[0].subscription).toBe('service:summarise');
  });

  test('only healthy running instances receive, and the cache follows registry changes', async () => {
    const started = await withInstances('round-robin', 3);
    env = started.env;
    env.registry.setHealth('worker-2', 'unhealthy', 'test');
    env.registry.setState('worker-3', 'maintenance', 'test');
    for (let i = 0; i < 6; i++) await env.router.send(message({ service: 'summarise' }), caller);
    await settle();
    expect(counts(started.sinks)).toEqual([6, 0, 0]);

    env.registry.setHealth('worker-2', 'healthy', 'recovered');
    for (let i = 0; i < 6; i++) await env.router.send(message({ service: 'summarise' }), caller);
    await settle();
    expect(counts(started.sinks)).toEqual([9, 3, 0]);
  });

  test('a semver range narrows the instances', async () => {
    const started = await withInstances('round-robin', 3); // versions 1.1.0, 1.2.0, 1.3.0
    env = started.env;
    for (let i = 0; i < 4; i++) await env.router.send(message({ service: 'summarise', versionRange: '>=1.2.0' }), caller);
    await settle();
    expect(counts(started.sinks)).toEqual([0, 2, 2]);
    const none = await env.router
      .send(message({ service: 'summarise', versionRange: '^2.0.0' }), caller)
      .catch((e: { code: string; field: string }) => e);
    expect(none).toMatchObject({ code: 'GW_NOT_FOUND', field: 'service' });
  });

  test('least-in-flight prefers the instance with the fewest unfinished messages', async () => {
    const started = await withInstances('least-in-flight', 2);
    env = started.env;
    // worker-1 holds 3 durable messages unacked; worker-2 acks everything at once.
    for (let i = 0; i < 3; i++) await env.router.send(message({ agentId: 'worker-1', durable: true }), caller);
    await settle();
    for (let i = 0; i < 4; i++) {
      await env.router.send(message({ service: 'summarise', durable: true }), caller);
      await settle();
      const tags = started.sinks.get('worker-2')!.deliveries.map((d) => ({ deliveryTag: d.deliveryTag, kind: 'ack' as const }));
      env.router.ack(tags, caller);
    }
    expect(started.sinks.get('worker-1')!.deliveries).toHaveLength(3);
    expect(started.sinks.get('worker-2')!.deliveries).toHaveLength(4);
  });

  test('consistent hashing sends one key to one instance, and only moves the keys of a removed instance', async () => {
    const started = await withInstances('consistent-hash', 4);
    env = started.env;
    const owner = new Map<string, string>();
    for (let k = 0; k < 40; k++) {
      for (let repeat = 0; repeat < 3; repeat++) {
        await env.router.send(message({ service: 'summarise', key: `user-${k}`, text: `user-${k}` }), caller);
      }
    }
    await settle();
    for (const [id, sink] of started.sinks) {
      for (const text of sink.texts()) {
        expect(owner.get(text) ?? id).toBe(id); // every repeat of a key went to the same instance
        owner.set(text, id);
      }
    }
    expect(owner.size).toBe(40);
    expect(new Set(owner.values()).size).toBeGreaterThan(1);

    // Take worker-1 out of routing: only its keys move.
    env.registry.setHealth('worker-1', 'unhealthy', 'test');
    for (const sink of started.sinks.values()) sink.writes.length = 0;
    for (let k = 0; k < 40; k++) await env.router.send(message({ service: 'summarise', key: `user-${k}`, text: `user-${k}` }), caller);
    await settle();
    for (const [id, sink] of started.sinks) {
      for (const text of sink.texts()) {
        if (owner.get(text) !== 'worker-1') expect(id).toBe(owner.get(text));
      }
    }
    expect(started.sinks.get('worker-1')!.deliveries).toHaveLength(0);
  });

  test('a message to an unknown agent or service is GW_NOT_FOUND naming the field', async () => {
    env = await startRouterGateway();
    await expect(env.router.send(message({ agentId: 'nobody' }), caller)).rejects.toMatchObject({ code: 'GW_NOT_FOUND', field: 'agentId' });
    await expect(env.router.send(message({ service: 'nothing' }), caller)).rejects.toMatchObject({
      code: 'GW_NOT_FOUND',
      field: 'service',
    });
  });
});
