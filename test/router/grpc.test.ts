/**
 * The embedded router behind the real gRPC transport: topic validation errors reach clients as
 * INVALID_ARGUMENT naming the field, and a published message reaches a Subscribe stream.
 */
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { GatewayServiceClient, Message, type Event } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { unary } from '../transport/grpc-call';
import { waitFor } from './helpers';

describe('router-embedded over gRPC', () => {
  let gw: TestGateway;
  let client: GatewayServiceClient;
  beforeAll(async () => {
    gw = await startTestGateway({ plugins: { router: 'router-embedded' } });
    client = new GatewayServiceClient(gw.address, credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await gw?.stop();
  });

  test.each(['orders..created', 'orders.*', 'orders.>', '.orders'])(
    'SendMessage to topic "%s" fails with INVALID_ARGUMENT',
    async (topic) => {
      const error = (await unary(client, 'sendMessage', Message.fromPartial({ topic, payload: Buffer.from('x') })).catch(
        (e: unknown) => e,
      )) as ServiceError;
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(error.details).toMatch(/topic/);
    },
  );

  test('a Subscribe stream with a bad pattern fails with INVALID_ARGUMENT', async () => {
    const stream = client.subscribe({ agentId: '', topics: [{ pattern: 'a.>.b', queueGroup: '' }], registryEvents: false, maxBatch: 0 });
    const error = await new Promise<ServiceError>((resolve) => {
      stream.on('error', resolve);
      stream.on('data', () => undefined);
    });
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toMatch(/pattern/);
  });

  test('a published message reaches a wildcard subscriber', async () => {
    const stream = client.subscribe({ agentId: '', topics: [{ pattern: 'orders.*', queueGroup: '' }], registryEvents: false, maxBatch: 0 });
    const received: string[] = [];
    stream.on('data', (event: Event) => {
      const deliveries =
        event.kind?.$case === 'delivery' ? [event.kind.value] : event.kind?.$case === 'batch' ? event.kind.value.deliveries : [];
      for (const delivery of deliveries) received.push(Buffer.from(delivery.message!.payload).toString());
    });
    stream.on('error', () => undefined);
    // Stream setup is asynchronous: publish until the subscription is live (at-most-once).
    for (let tries = 0; received.length === 0 && tries < 100; tries++) {
      await unary(client, 'sendMessage', Message.fromPartial({ topic: 'orders.new', payload: Buffer.from('hello') }));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await waitFor(() => received.length > 0, 10_000, 'delivery over gRPC');
    expect(received[0]).toBe('hello');
    stream.cancel();
  });
});
