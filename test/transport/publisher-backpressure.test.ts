/**
 * Publisher backpressure end to end over real gRPC: a Subscribe client that stops reading slows a
 * PublishStream publisher (its results stop coming, HTTP/2 flow control holds its frames) instead
 * of the gateway dropping messages, and everything arrives once the subscriber reads again. A
 * subscriber that never reads holds the publisher for `publisherWaitMs` once, then the queue's
 * drop policy applies and the publisher runs at full speed.
 */
import { credentials, type ClientDuplexStream, type ClientReadableStream } from '@grpc/grpc-js';
import {
  GatewayServiceClient,
  type BatchResult,
  type Event,
  Message,
  type MessageBatch,
} from '../../proto/gen/openclaw/gateway/v1/gateway';
import { startTestGateway, type TestGateway } from '../helpers/gateway';

const FRAMES = 200;
const PER_FRAME = 10;

function message(topic: string, id: string): Message {
  return Message.fromPartial({ id, topic, payload: Buffer.alloc(1024, 7) });
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves once `count()` has not changed for `quietMs` (the publisher is held). */
async function steady(count: () => number, quietMs = 300): Promise<number> {
  let last = -1;
  for (;;) {
    const now = count();
    if (now === last) return now;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, quietMs));
  }
}

function slowSubscriber(client: GatewayServiceClient, pattern: string) {
  const stream: ClientReadableStream<Event> = client.subscribe({
    agentId: '',
    topics: [{ pattern, queueGroup: '' }],
    registryEvents: false,
    maxBatch: 0,
  });
  const ids: string[] = [];
  stream.on('data', (event: Event) => {
    if (event.kind?.$case === 'delivery') ids.push(event.kind.value.message!.id);
    if (event.kind?.$case === 'batch') for (const delivery of event.kind.value.deliveries) ids.push(delivery.message!.id);
  });
  stream.on('error', () => undefined);
  const opened = new Promise((resolve) => stream.once('metadata', resolve));
  return { stream, ids, opened };
}

function publisher(client: GatewayServiceClient, topic: string) {
  const call: ClientDuplexStream<MessageBatch, BatchResult> = client.publishStream();
  const results: BatchResult[] = [];
  call.on('data', (result: BatchResult) => results.push(result));
  const ended = new Promise<void>((resolve, reject) => {
    call.on('end', resolve);
    call.on('error', reject);
  });
  for (let f = 0; f < FRAMES; f++) {
    call.write({ messages: Array.from({ length: PER_FRAME }, (_, i) => message(topic, `m-${f}-${i}`)) });
  }
  call.end();
  return { results, ended };
}

async function counter(gw: TestGateway, name: string, labels: string): Promise<number> {
  const text = await gw.gateway.metrics.registry.getSingleMetricAsString(name);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('transport-grpc: PublishStream feels its subscribers', () => {
  let gw: TestGateway;
  let client: GatewayServiceClient;
  afterEach(async () => {
    client?.close();
    await gw?.stop();
  });

  async function start(publisherWaitMs: number) {
    gw = await startTestGateway({
      plugins: { router: { use: 'router-embedded', options: { subscriberQueue: { maxEvents: 64, maxBatch: 8, publisherWaitMs } } } },
    });
    client = new GatewayServiceClient(gw.address, credentials.createInsecure());
  }

  test('a subscriber that stops reading slows the publisher instead of dropping; all arrive in order after it resumes', async () => {
    await start(60_000);
    const subscriber = slowSubscriber(client, 'bp.slow');
    await subscriber.opened;
    subscriber.stream.pause();
    const published = publisher(client, 'bp.slow');
    const answered = await steady(() => published.results.length);
    // Held well before the end: the subscriber's stream and queue hold only a part of it.
    expect(answered).toBeLessThan(FRAMES);
    expect(await counter(gw, 'openclaw_router_messages_total', 'result="dropped"')).toBe(0);
    subscriber.stream.resume();
    await published.ended;
    await until(() => subscriber.ids.length === FRAMES * PER_FRAME, 'every message at the subscriber');
    expect(subscriber.ids).toEqual(Array.from({ length: FRAMES * PER_FRAME }, (_, n) => `m-${Math.floor(n / PER_FRAME)}-${n % PER_FRAME}`));
    expect(await counter(gw, 'openclaw_router_messages_total', 'result="dropped"')).toBe(0);
    expect(await counter(gw, 'openclaw_router_publisher_waits_total', 'outcome="room"')).toBeGreaterThan(0);
    subscriber.stream.cancel();
  });

  test('a subscriber that never reads holds the publisher once for publisherWaitMs; then its drop policy applies', async () => {
    await start(200);
    const limits: string[] = [];
    gw.gateway.hooks.limitReached.tap('test', (event) => void limits.push(event.limit));
    const stuck = slowSubscriber(client, 'bp.stuck');
    await stuck.opened;
    stuck.stream.pause();
    const published = publisher(client, 'bp.stuck');
    await published.ended;
    expect(published.results).toHaveLength(FRAMES);
    expect(published.results.every((result) => result.results.every((r) => r.errorCode === 0))).toBe(true);
    expect(limits).toContain('router.subscriberQueue.publisherWaitMs');
    expect(await counter(gw, 'openclaw_router_publisher_waits_total', 'outcome="timeout"')).toBeGreaterThan(0);
    expect(await counter(gw, 'openclaw_router_messages_total', 'result="dropped"')).toBeGreaterThan(0);
    stuck.stream.cancel();
  });
});
