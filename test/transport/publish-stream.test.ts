/**
 * PublishStream pipelines its batches: a batch is routed while the one before it awaits its
 * durable sync. Over real gRPC against a real gateway: results come back one per batch in order,
 * routing keeps the order of the frames, a stream with more frames than `maxPublishInFlight` is
 * throttled rather than refused, and a refused frame stops every frame after it.
 */
import { credentials, type ClientDuplexStream, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import {
  GatewayServiceClient,
  type BatchResult,
  type Event,
  Message,
  type MessageBatch,
} from '../../proto/gen/openclaw/gateway/v1/gateway';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { unary } from './grpc-call';

function message(overrides: Partial<Message>): Message {
  return Message.fromPartial(overrides);
}

/** Message ids in the order a Subscribe stream received them. */
function received(stream: ClientReadableStream<Event>): string[] {
  const ids: string[] = [];
  stream.on('data', (event: Event) => {
    if (event.kind?.$case === 'delivery') ids.push(event.kind.value.message!.id);
    if (event.kind?.$case === 'batch') for (const delivery of event.kind.value.deliveries) ids.push(delivery.message!.id);
  });
  stream.on('error', () => undefined);
  return ids;
}

async function opened(stream: ClientReadableStream<Event>): Promise<void> {
  await new Promise((resolve) => stream.once('metadata', resolve));
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Writes every batch at once and collects the results and the stream's end. */
function publishAll(client: GatewayServiceClient, batches: MessageBatch[]) {
  const call: ClientDuplexStream<MessageBatch, BatchResult> = client.publishStream();
  const results: BatchResult[] = [];
  const ended = new Promise<ServiceError | undefined>((resolve) => {
    call.on('data', (result: BatchResult) => results.push(result));
    call.on('error', resolve);
    call.on('end', () => resolve(undefined));
  });
  for (const batch of batches) call.write(batch);
  call.end();
  return { results, ended };
}

describe('transport-grpc: PublishStream pipelining', () => {
  let gw: TestGateway;
  let client: GatewayServiceClient;

  beforeAll(async () => {
    gw = await startTestGateway({ transport: { maxPublishInFlight: 4 } });
    client = new GatewayServiceClient(gw.address, credentials.createInsecure());
  });
  afterAll(async () => {
    client?.close();
    await gw?.stop();
  });

  test('durable batches beyond maxPublishInFlight: one result per batch, in order, every message stored', async () => {
    await unary(client, 'registerAgent', {
      agentId: 'inbox-1',
      service: 'inbox',
      version: '1.0.0',
      tags: {},
      capabilities: [],
      leaseTtlMs: 0,
      profile: undefined,
    });
    const batches = Array.from({ length: 30 }, (_, b) => ({
      messages: Array.from({ length: 50 }, (_, i) =>
        message({ id: `d-${b}-${i}`, agentId: 'inbox-1', durable: true, payload: Buffer.from(`${b}/${i}`) }),
      ),
    }));
    const { results, ended } = publishAll(client, batches);
    expect(await ended).toBeUndefined();
    expect(results).toHaveLength(30);
    results.forEach((result, b) => {
      expect(result.results.map((r) => r.messageId)).toEqual(batches[b].messages.map((m) => m.id));
      expect(result.results.every((r) => r.stored && r.errorCode === 0)).toBe(true);
    });
  });

  test('frames are routed in the order they were written', async () => {
    const subscriber = client.subscribe({
      agentId: '',
      topics: [{ pattern: 'order.>', queueGroup: '' }],
      registryEvents: false,
      maxBatch: 0,
    });
    const ids = received(subscriber);
    await opened(subscriber);
    const batches = Array.from({ length: 40 }, (_, b) => ({
      messages: Array.from({ length: 10 }, (_, i) => message({ id: `o-${b}-${i}`, topic: `order.${i % 3}` })),
    }));
    const { results, ended } = publishAll(client, batches);
    expect(await ended).toBeUndefined();
    expect(results).toHaveLength(40);
    await until(() => ids.length === 400, '400 deliveries');
    expect(ids).toEqual(batches.flatMap((batch) => batch.messages.map((m) => m.id)));
    subscriber.cancel();
  });

  test('a refused frame ends the stream after the results before it; frames after it are not routed', async () => {
    const subscriber = client.subscribe({
      agentId: '',
      topics: [{ pattern: 'cut.>', queueGroup: '' }],
      registryEvents: false,
      maxBatch: 0,
    });
    const ids = received(subscriber);
    await opened(subscriber);
    const { results, ended } = publishAll(client, [
      { messages: [message({ id: 'before', topic: 'cut.a' })] },
      // Empty: refused, and small enough that all three frames arrive in one read.
      { messages: [] },
      ...Array.from({ length: 20 }, (_, i) => ({ messages: [message({ id: `after-${i}`, topic: 'cut.a' })] })),
    ]);
    const error = await ended;
    expect(error?.details).toMatch(/^GW_INVALID_ARGUMENT: messages/);
    expect(results).toHaveLength(1);
    expect(results[0].results[0].messageId).toBe('before');
    // A marker sent after the stream ended arrives after anything the stream routed.
    await unary(client, 'sendMessage', message({ id: 'marker', topic: 'cut.z' }));
    await until(() => ids.includes('marker'), 'the marker');
    expect(ids).toEqual(['before', 'marker']);
    subscriber.cancel();
  });
});
