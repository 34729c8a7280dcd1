/**
 * Dedupe that helps a retrying producer, and durable queue groups, over real gRPC:
 * - an id is remembered only once its message was stored or delivered: a durable publish nobody
 *   took (`receivers: 0, stored: false`) can be retried with the same id and is then stored;
 * - a duplicate answer tells what became of the original: stored, delivered (acked), dead-lettered;
 * - after a restart, durable messages to a queue group known from the store are stored and wait
 *   for its members (before: `receivers: 0` until a member resubscribed).
 */
import { rm, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AckKind, Message, OriginalOutcome, type Delivery, type GatewayServiceClient } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { unary } from '../transport/grpc-call';
import { deliveriesOf, grpcClient, sleep } from './gateway-process';
import { waitFor } from './helpers';

const ROUTER = { use: 'router-embedded', options: { durable: { ackTimeoutMs: 300, maxAttempts: 2, backoffBaseMs: 10 } } };

function member(client: GatewayServiceClient, pattern: string, group: string, onDelivery: (delivery: Delivery) => void) {
  const stream = client.subscribe({ agentId: '', topics: [{ pattern, queueGroup: group }], registryEvents: false, maxBatch: 0 });
  stream.on('error', () => undefined);
  stream.on('data', (event) => deliveriesOf(event).forEach(onDelivery));
  return stream;
}

const ack = (client: GatewayServiceClient, delivery: Delivery) =>
  unary(client, 'ack', { agentId: '', acks: [{ deliveryTag: delivery.deliveryTag, kind: AckKind.ACK_KIND_ACK, reason: '' }] });

describe('router-embedded: dedupe outcomes and durable queue groups', () => {
  let dataDir: string;
  let gw: TestGateway | undefined;
  let client: GatewayServiceClient | undefined;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'router-dedupe-'));
  });
  afterEach(async () => {
    client?.close();
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('a retry of a message nobody took is stored; duplicates report stored, delivered and dead-lettered', async () => {
    gw = await startTestGateway({ dataDir, plugins: { router: ROUTER } });
    client = grpcClient(gw.address);
    const send = (id: string, topic: string) =>
      unary(client!, 'sendMessage', Message.fromPartial({ id, topic, durable: true, payload: Buffer.from(id) }));

    // No receiver yet: not stored, and the id is not burned.
    expect(await send('order-1', 'orders.new')).toMatchObject({ stored: false, receivers: 0, duplicate: false });
    const received: Delivery[] = [];
    const stream = member(client, 'orders.*', 'billing', (d) => received.push(d));
    await sleep(300);
    expect(await send('order-1', 'orders.new')).toMatchObject({ stored: true, duplicate: false });
    await waitFor(() => received.length === 1, 10_000, 'the retried message delivered');
    // Not acked yet: the original is stored.
    expect(await send('order-1', 'orders.new')).toMatchObject({ duplicate: true, original: OriginalOutcome.ORIGINAL_OUTCOME_STORED });
    await ack(client, received[0]);
    expect(await send('order-1', 'orders.new')).toMatchObject({ duplicate: true, original: OriginalOutcome.ORIGINAL_OUTCOME_DELIVERED });

    // Never acked: dead-lettered after its attempts; the duplicate says so.
    expect(await send('order-2', 'orders.new')).toMatchObject({ stored: true });
    await waitFor(() => received.filter((d) => d.message!.id === 'order-2').length === 2, 10_000, 'two attempts');
    let answer = await send('order-2', 'orders.new');
    for (let i = 0; i < 50 && answer.original !== OriginalOutcome.ORIGINAL_OUTCOME_DEAD_LETTERED; i++) {
      await sleep(100);
      answer = await send('order-2', 'orders.new');
    }
    expect(answer).toMatchObject({ duplicate: true, original: OriginalOutcome.ORIGINAL_OUTCOME_DEAD_LETTERED });
    stream.cancel();
  }, 60_000);

  test('after a restart, durable messages for a known queue group are stored and wait for its members', async () => {
    gw = await startTestGateway({ dataDir, plugins: { router: ROUTER } });
    client = grpcClient(gw.address);
    const joined = member(client, 'jobs.>', 'workers', () => undefined);
    await sleep(300);
    joined.cancel();
    client.close();
    await gw.stop();

    gw = await startTestGateway({ dataDir, plugins: { router: ROUTER } });
    client = grpcClient(gw.address);
    // No member has resubscribed yet: the group is known from the store, so these wait for it.
    const ids = ['job-1', 'job-2', 'job-3'];
    for (const id of ids) {
      expect(
        await unary(client, 'sendMessage', Message.fromPartial({ id, topic: 'jobs.build', durable: true, payload: Buffer.from(id) })),
      ).toMatchObject({
        stored: true,
        receivers: 1,
      });
    }
    // Still waiting after another restart, then delivered to the member that comes back.
    client.close();
    await gw.stop();
    gw = await startTestGateway({ dataDir, plugins: { router: ROUTER } });
    client = grpcClient(gw.address);
    const got: string[] = [];
    const back = member(client, 'jobs.>', 'workers', (d) => {
      got.push(d.message!.id);
      ack(client!, d).catch(() => undefined);
    });
    await waitFor(() => got.length === 3, 10_000, 'the stored group messages');
    expect(got.sort()).toEqual(ids);
    back.cancel();
  }, 60_000);

  test('a group with no member and no stored message for groupBacklog.forgetAfterMs is forgotten', async () => {
    gw = await startTestGateway({
      dataDir,
      plugins: { router: { use: 'router-embedded', options: { sweepIntervalMs: 50, groupBacklog: { forgetAfterMs: 500 } } } },
    });
    client = grpcClient(gw.address);
    const joined = member(client, 'retired.>', 'old-workers', () => undefined);
    await sleep(300);
    joined.cancel();
    await sleep(1_500);
    expect(
      await unary(client, 'sendMessage', Message.fromPartial({ id: 'late', topic: 'retired.x', durable: true, payload: Buffer.from('x') })),
    ).toMatchObject({
      stored: false,
      receivers: 0,
    });
  }, 30_000);
});
