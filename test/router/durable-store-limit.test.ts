/**
 * `durable.maxStoreBytes` is a limit on disk: publishes past it are refused RESOURCE_EXHAUSTED
 * (in place, in a batch), nothing refused is stored or delivered, nothing accepted is lost, the
 * data file stays within the limit across fill/drain cycles, and the limit shows in the metric and
 * the `limitReached` hook. A refused id is not burned: its retry is stored once there is room.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { AckKind, Message, type SendResult } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { unary } from '../transport/grpc-call';
import { deliveriesOf, grpcClient, sleep } from './gateway-process';
import { waitFor } from './helpers';

const LIMIT = 4 * 1024 * 1024;
const PAYLOAD = Buffer.alloc(4096, 7);

describe('router-embedded: the store byte limit', () => {
  let gw: TestGateway;
  const limits: string[] = [];
  beforeAll(async () => {
    gw = await startTestGateway({ plugins: { router: { use: 'router-embedded', options: { durable: { maxStoreBytes: LIMIT } } } } });
    gw.gateway.hooks.limitReached.tap('store-limit-test', (event) => void limits.push(event.limit));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  test('refuses cleanly at the limit, loses nothing, and holds on disk over fill/drain cycles', async () => {
    const client = grpcClient(gw.address);
    const dataFile = path.join(gw.dataDir, 'router-embedded', 'data.mdb');
    try {
      // The group becomes known with one member, then its members are away: messages wait on disk.
      const first = client.subscribe({ agentId: '', topics: [{ pattern: 'fill.*', queueGroup: 'g' }], registryEvents: false, maxBatch: 0 });
      first.on('error', () => undefined);
      first.on('data', () => undefined);
      await sleep(300);
      first.cancel();
      await sleep(100);

      const fill = async (round: number) => {
        const stored: string[] = [];
        const refused: SendResult[] = [];
        for (let batch = 0; refused.length === 0 && batch < 100; batch++) {
          const messages = Array.from({ length: 50 }, (_, i) =>
            Message.fromPartial({ id: `r${round}-${batch}-${i}`, topic: 'fill.x', durable: true, payload: PAYLOAD }),
          );
          const { results } = await unary(client, 'publishBatch', { messages });
          for (const result of results) {
            if (result.stored) stored.push(result.messageId);
            else refused.push(result);
          }
        }
        return { stored, refused };
      };
      const drain = async (expected: readonly string[]) => {
        const got = new Set<string>();
        const stream = client.subscribe({
          agentId: '',
          topics: [{ pattern: 'fill.*', queueGroup: 'g' }],
          registryEvents: false,
          maxBatch: 0,
        });
        stream.on('error', () => undefined);
        stream.on('data', (event) => {
          for (const delivery of deliveriesOf(event)) {
            got.add(delivery.message!.id);
            client.ack(
              { agentId: '', acks: [{ deliveryTag: delivery.deliveryTag, kind: AckKind.ACK_KIND_ACK, reason: '' }] },
              () => undefined,
            );
          }
        });
        await waitFor(() => got.size >= expected.length, 60_000, 'backlog drained');
        await sleep(300);
        stream.cancel();
        return got;
      };

      let firstRefused = '';
      for (let round = 0; round < 3; round++) {
        const { stored, refused } = await fill(round);
        expect(stored.length).toBeGreaterThan(100);
        expect(refused.length).toBeGreaterThan(0);
        for (const result of refused) {
          expect(result.errorCode).toBe(status.RESOURCE_EXHAUSTED);
          expect(result.errorMessage).toMatch(/GW_RESOURCE_EXHAUSTED.*maxStoreBytes/);
        }
        firstRefused ||= refused[0].messageId;
        // A real bound on disk: the data file never outgrows the limit (plus lmdb's own pages).
        expect(statSync(dataFile).size).toBeLessThanOrEqual(LIMIT + 1024 * 1024);
        const got = await drain(stored);
        // Exactly what was accepted: nothing lost, nothing refused slipped through.
        expect([...got].sort()).toEqual([...stored].sort());
      }
      expect(limits).toContain('router.durable.maxStoreBytes');
      const metric = await gw.gateway.metrics.registry.getSingleMetricAsString('openclaw_router_limit_hits_total');
      expect(metric).toMatch(/limit="router\.durable\.maxStoreBytes"\} [1-9]/);

      // The refused id was not remembered: once there is room its retry is stored, not a duplicate.
      const retry = await unary(
        client,
        'sendMessage',
        Message.fromPartial({ id: firstRefused, topic: 'fill.x', durable: true, payload: PAYLOAD }),
      );
      expect(retry).toMatchObject({ stored: true, duplicate: false });
    } finally {
      client.close();
    }
  }, 180_000);
});
