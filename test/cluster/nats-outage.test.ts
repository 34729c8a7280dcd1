/**
 * A NATS outage after start: a gateway on a private nats-server keeps its durable messages across
 * a server restart (file storage), refuses durable sends while NATS is away with GW_UNAVAILABLE,
 * reconnects with backoff by itself and delivers what was stored before and after.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { agentInfo, caller, message, RecordingSink } from '../router/helpers';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { eventually } from './helpers';
import { natsServerBinary, startPrivateServer, type PrivateNatsServer } from './nats-env';

const maybe = natsServerBinary() ? describe : describe.skip;

maybe('router-nats and registry-nats through a NATS restart', () => {
  let server: PrivateNatsServer;
  let gw: TestGateway | undefined;
  beforeAll(async () => {
    server = await startPrivateServer();
  });
  afterAll(async () => {
    await gw?.stop();
    await server.stop();
    await rm(server.dir, { recursive: true, force: true });
  });

  it('reconnects and loses no durable message', async () => {
    const prefix = `o${randomBytes(4).toString('hex')}`;
    const nats = { servers: [server.url], prefix, reconnect: { waitMs: 100, jitterMs: 50 } };
    gw = await startTestGateway({
      plugins: {
        registry: { use: 'registry-nats', options: nats },
        router: { use: 'router-nats', options: { ...nats, durable: { ackTimeoutMs: 2000 } } },
      },
    });
    const registry = gw.gateway.service('registry')!;
    const router = gw.gateway.service('router')!;
    await registry.register(agentInfo('keeper', 'keep', '1.0.0'), {});
    const stored = await router.send(message({ agentId: 'keeper', durable: true, text: 'before' }), caller);
    expect(stored.stored).toBe(true);

    await server.stop();
    // While NATS is away nothing durable can be promised.
    await expect(router.send(message({ agentId: 'keeper', durable: true, text: 'during' }), caller)).rejects.toMatchObject({
      code: 'GW_UNAVAILABLE',
    });

    await server.restart();
    // Reconnected by itself (backoff); the stream came back from the server's file store.
    const after = await eventually(
      async () => router.send(message({ agentId: 'keeper', durable: true, text: 'after' }), caller).catch(() => undefined),
      20_000,
      'a durable send to succeed after the restart',
    );
    expect(after.stored).toBe(true);
    const sink = new RecordingSink();
    router.openSession(sink, { agentId: 'keeper', caller: { peer: 'test', agentId: 'keeper' } });
    await eventually(() => sink.texts().includes('before') && sink.texts().includes('after'), 20_000, 'both stored messages');
    expect(sink.texts().filter((text) => text === 'before')).toHaveLength(1);
    for (const delivery of sink.deliveries) router.ack([{ deliveryTag: delivery.deliveryTag, kind: 'ack' }], caller);
    expect(registry.get('keeper')).toBeDefined();
  }, 90_000);
});
