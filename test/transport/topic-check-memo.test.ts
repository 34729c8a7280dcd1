/**
 * The topic checks remember the last topic they accepted (a batch repeats one topic, and comparing
 * two strings costs less than scanning one). The memo must never let through what the checks would
 * refuse: an invalid topic after a valid one, or a topic valid under one router's limits sent to a
 * router with tighter ones in the same process. Two real gateways, real gRPC.
 */
import { credentials } from '@grpc/grpc-js';
import { Status } from '../../index';
import { GatewayServiceClient, Message } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { unary } from './grpc-call';

const text = (topic: string) => Message.fromPartial({ topic, payload: Buffer.from('x') });

async function gatewayWith(routerOptions: Record<string, unknown>): Promise<{ gateway: TestGateway; client: GatewayServiceClient }> {
  const gateway = await startTestGateway({ plugins: { router: { use: 'router-embedded', options: routerOptions } } });
  return { gateway, client: new GatewayServiceClient(gateway.address, credentials.createInsecure()) };
}

describe('topic checks with a memo of the last valid topic', () => {
  let roomy: Awaited<ReturnType<typeof gatewayWith>>;
  let tight: Awaited<ReturnType<typeof gatewayWith>>;

  beforeAll(async () => {
    roomy = await gatewayWith({});
    tight = await gatewayWith({ topics: { maxLength: 256, maxDepth: 2 } });
  }, 30_000);
  afterAll(async () => {
    for (const { gateway, client } of [roomy, tight]) {
      client?.close();
      await gateway?.stop();
    }
  });

  it('refuses an invalid topic in place right after the same batch accepted a valid one', async () => {
    const { results } = await unary(roomy.client, 'publishBatch', {
      messages: [text('feed.a.b'), text('feed..b'), text('feed.a.b'), text('feed.a.b '), text('feed.a.b')],
    });
    expect(results.map((result) => result.errorCode)).toEqual([0, Status.INVALID_ARGUMENT, 0, Status.INVALID_ARGUMENT, 0]);
    expect(results[1].errorMessage).toMatch(/messages\[1\]\.topic/);
    expect(results[3].errorMessage).toMatch(/messages\[3\]\.topic/);
  });

  it('holds each router to its own limits: a topic one gateway just accepted is refused by a tighter one', async () => {
    const ok = await unary(roomy.client, 'publishBatch', { messages: [text('feed.a.b'), text('feed.a.b')] });
    expect(ok.results.map((result) => result.errorCode)).toEqual([0, 0]);
    await expect(unary(tight.client, 'publishBatch', { messages: [text('feed.a.b')] })).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
      details: expect.stringMatching(/messages\[0\]\.topic.*3 tokens; the limit is 2/),
    });
    await expect(unary(tight.client, 'sendMessage', text('feed.a.b'))).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT });
    // And back: the roomy gateway still accepts it.
    const again = await unary(roomy.client, 'sendMessage', text('feed.a.b'));
    expect(again.errorCode).toBe(0);
  });
});
