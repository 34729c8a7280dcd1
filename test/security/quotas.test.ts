/**
 * Issue #17.4: per-identity quotas and the per-peer connection limit, over real gRPC with JWT
 * identities. Each refusal is RESOURCE_EXHAUSTED naming its option, counts in
 * `openclaw_transport_grpc_quota_rejections_total{quota}`, and leaves other identities alone.
 */
import { status, type ClientReadableStream } from '@grpc/grpc-js';
import { MessageBatch, type BatchResult, type Event, type RegistrationResult } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { collect, eventually, runPython, startSecuredGateway, type SecuredGateway } from './harness';

async function rejections(gw: SecuredGateway, quota: string): Promise<number> {
  const text = await gw.gateway.metrics.registry.getSingleMetricAsString('openclaw_transport_grpc_quota_rejections_total');
  const line = text.split('\n').find((row) => row.includes(`quota="${quota}"`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('per-identity quotas', () => {
  let gw: SecuredGateway;
  beforeAll(async () => {
    gw = await startSecuredGateway({
      transport: {
        quotas: {
          agentsPerIdentity: 3,
          streamsPerIdentity: 2,
          subscriptionsPerIdentity: 3,
          publishRate: { messagesPerSecond: 1, burst: 5 },
          connectionsPerPeer: 0,
        },
      },
    });
  }, 30_000);
  afterAll(() => gw?.close());

  test('agentsPerIdentity: concurrent registrations cannot slip past it; deregistering frees a slot; others unaffected', async () => {
    const alice = await gw.client('alice');
    const attempts = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        alice.call<RegistrationResult>('registerAgent', { agentId: `alice-${i}`, service: 'svc', version: '1.0.0' }),
      ),
    );
    const registered = attempts.filter((attempt) => attempt.status === 'fulfilled');
    expect(registered).toHaveLength(3);
    const refused = attempts.find((attempt) => attempt.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(refused.reason.details).toMatch(
      /^GW_RESOURCE_EXHAUSTED: quotas\.agentsPerIdentity: identity "alice" has \d agents registered; quotas\.agentsPerIdentity allows 3/,
    );
    expect(gw.gateway.service('registry')!.size()).toBe(3);
    const mine = registered.map((attempt) => attempt.value.agentId);
    // Re-registering one it holds is not a new agent.
    await alice.call('registerAgent', { agentId: mine[0], service: 'svc', version: '1.0.1' });
    // Bob has his own quota.
    const bob = await gw.client('bob');
    await bob.call('registerAgent', { agentId: 'bob-1', service: 'svc', version: '1.0.0' });
    // A slot comes back when an agent leaves.
    await alice.call('deregisterAgent', { agentId: mine[1], reason: 'done' });
    await alice.call('registerAgent', { agentId: 'alice-new', service: 'svc', version: '1.0.0' });
    expect(await rejections(gw, 'agentsPerIdentity')).toBeGreaterThanOrEqual(7);
  });

  test('streamsPerIdentity and subscriptionsPerIdentity: Subscribe and PublishStream count; closing frees them', async () => {
    const carol = await gw.client('carol');
    const first = collect(carol.subscribe({ topics: [{ pattern: 'a.>' }] }));
    await first.live;
    const publish = carol.raw.publishStream(carol.metadata);
    publish.on('error', () => undefined);
    // Known open once its first batch is answered.
    const answered = new Promise((resolve, reject) => {
      publish.once('data', resolve);
      publish.once('error', reject);
    });
    publish.write(MessageBatch.fromPartial({ messages: [{ topic: 'carol.t', payload: Buffer.from('1') }] }));
    await answered;
    const third = collect(carol.subscribe({ topics: [{ pattern: 'b' }] }));
    await eventually(() => third.ended.done || undefined, 10_000, 'the third stream to be refused');
    expect(third.ended.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(third.ended.details).toMatch(
      /quotas\.streamsPerIdentity: identity "carol" has 2 streams open; quotas\.streamsPerIdentity allows 2/,
    );
    publish.end();
    await eventually(
      async () => {
        const retry = collect(carol.subscribe({ topics: [{ pattern: 'c' }, { pattern: 'd' }] }));
        await retry.live.catch(() => undefined);
        if (retry.ended.done) return undefined;
        return retry;
      },
      10_000,
      'a stream slot after PublishStream ended',
    );
    // a.> + c + d = 3 subscriptions held; one more topic is over subscriptionsPerIdentity.
    first.stream.cancel();
    const dave = await gw.client('dave');
    const tooMany = collect(dave.subscribe({ topics: [{ pattern: 'w' }, { pattern: 'x' }, { pattern: 'y' }, { pattern: 'z' }] }));
    await eventually(() => tooMany.ended.done || undefined, 10_000, 'the oversized subscription to be refused');
    expect(tooMany.ended.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(tooMany.ended.details).toMatch(
      /quotas\.subscriptionsPerIdentity: identity "dave" holds 0 topic subscriptions and asks for 4 more; quotas\.subscriptionsPerIdentity allows 3/,
    );
    expect(await rejections(gw, 'streamsPerIdentity')).toBeGreaterThanOrEqual(1);
    expect(await rejections(gw, 'subscriptionsPerIdentity')).toBeGreaterThanOrEqual(1);
  });

  test('publishRate: a burst of 5 lets 5 messages of a batch through, refuses the rest in place, then SendMessage', async () => {
    const erin = await gw.client('erin');
    const batch = await erin.call<BatchResult>('publishBatch', {
      messages: Array.from({ length: 8 }, (_, i) => ({ topic: 'rate.t', payload: Buffer.from(String(i)) })),
    });
    expect(batch.results.map((result) => result.errorCode)).toEqual([0, 0, 0, 0, 0, ...Array(3).fill(status.RESOURCE_EXHAUSTED)]);
    expect(batch.results[5].errorMessage).toMatch(
      /quotas\.publishRate: identity "erin" publishes faster than quotas\.publishRate allows \(1 messages\/s, burst 5\)/,
    );
    // Refilled at one a second: within a few calls one is refused.
    let refused: { code: number; details: string } | undefined;
    for (let i = 0; i < 5 && !refused; i++) {
      refused = await erin.call('sendMessage', { topic: 'rate.t', payload: Buffer.from('x') }).then(
        () => undefined,
        (error) => error,
      );
    }
    expect(refused?.code).toBe(status.RESOURCE_EXHAUSTED);
    // Another identity's bucket is full.
    const frank = await gw.client('frank');
    const own = await frank.call<BatchResult>('publishBatch', {
      messages: Array.from({ length: 5 }, () => ({ topic: 'rate.t', payload: Buffer.from('f') })),
    });
    expect(own.results.every((result) => result.errorCode === 0)).toBe(true);
    expect(await rejections(gw, 'publishRate')).toBeGreaterThanOrEqual(4);
  });
});

describe('per-peer connection limit', () => {
  let gw: SecuredGateway;
  const held: Array<ClientReadableStream<Event>> = [];
  beforeAll(async () => {
    gw = await startSecuredGateway({ transport: { quotas: { connectionsPerPeer: 2 } } });
  }, 30_000);
  afterAll(async () => {
    for (const stream of held) stream.cancel();
    await gw?.close();
  });

  test('a third connection from one address gets RESOURCE_EXHAUSTED naming the quota (from Python)', async () => {
    // Two connections held open by this process (each client has its own channel).
    const clients = [];
    for (const sub of ['one', 'two']) {
      const client = await gw.client(sub);
      const stream = collect(client.subscribe({ topics: [{ pattern: `hold.${sub}` }] }));
      await stream.live;
      held.push(stream.stream);
      clients.push(client);
    }
    const probe = `
channel = grpc.insecure_channel(ARGS["target"], options=[("grpc.use_local_subchannel_pool", 1)])
stub = pb_grpc.GatewayServiceStub(channel)
try:
    stub.HealthCheck(pb.HealthRequest(), metadata=[("authorization", "Bearer " + ARGS["token"])], timeout=10)
    print(json.dumps({"code": "OK"}))
except grpc.RpcError as error:
    print(json.dumps({"code": error.code().name, "details": error.details()}))
`;
    const args = { target: gw.address, token: await gw.token('three') };
    const result = await runPython(probe, args);
    expect(result.code).toBe('RESOURCE_EXHAUSTED');
    expect(result.details).toMatch(
      /^GW_RESOURCE_EXHAUSTED: quotas\.connectionsPerPeer: ipv4:127\.0\.0\.1 has 3 connections open; quotas\.connectionsPerPeer allows 2/,
    );
    expect(await rejections(gw, 'connectionsPerPeer')).toBe(1);
    // Once a held connection closes, a new one is served.
    held.shift()!.cancel();
    clients[0].close();
    await eventually(async () => ((await runPython(probe, args)).code === 'OK' ? true : undefined), 20_000, 'a connection slot');
  }, 90_000);
});
