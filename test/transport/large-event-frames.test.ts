/**
 * Subscribe frames stay within the message size gRPC clients accept by default (4 MiB, the
 * transport's `maxMessageBytes`). A subscriber that falls behind gets its queued deliveries in
 * batches, and a batch of large messages must be split into several frames: one frame over the
 * limit is refused by grpc-js on the way out (RESOURCE_EXHAUSTED) or by the client on the way in,
 * and the stream is lost with every delivery in it. The outsider: a grpcio subscriber on default
 * channel settings (/usr/bin/python3, Debian's python3-grpcio), fed six 1 MiB messages at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MessageEnvelope, OutboundEvent } from '../../kernel';
import { EventEncoder } from '../../plugins/transport-grpc/event-encoding';
import { Event } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { repoRoot } from '../examples/package-project';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { PythonProcess } from '../helpers/python-agent';
import { caller, message } from '../router/helpers';

const MIB = 1024 * 1024;
const BIG_SUBSCRIBER = path.join(repoRoot, 'test', 'fixtures', 'python', 'big_subscriber.py');

function big(id: string, topic: string): MessageEnvelope {
  return message({ id, topic, payload: Buffer.alloc(MIB - 1024, id.charCodeAt(id.length - 1)) });
}

describe('Subscribe frames of large messages', () => {
  it('a batch is split into frames of at most maxFrameBytes, order and bytes kept', () => {
    const encoder = new EventEncoder(4 * MIB);
    const events: OutboundEvent[] = Array.from({ length: 9 }, (_, i) => ({
      kind: 'delivery',
      delivery: { message: big(`m${i}`, 'big.files'), deliveryTag: '', attempt: 1, subscription: 'big.>', ackDeadline: 0 },
    }));
    events.splice(4, 0, { kind: 'notice', code: 'probe', message: 'p1' });
    const frames: Buffer[] = [];
    encoder.encode(events, frames);
    for (const frame of frames) expect(frame.byteLength).toBeLessThanOrEqual(4 * MIB);
    const ids: string[] = [];
    for (const frame of frames) {
      const event = Event.decode(frame);
      if (event.kind?.$case === 'delivery') ids.push(event.kind.value.message!.id);
      if (event.kind?.$case === 'batch') ids.push(...event.kind.value.deliveries.map((d) => d.message!.id));
      if (event.kind?.$case === 'notice') ids.push('notice');
    }
    expect(ids).toEqual(['m0', 'm1', 'm2', 'm3', 'notice', 'm4', 'm5', 'm6', 'm7', 'm8']);
    // Small messages still share one frame.
    const small: OutboundEvent[] = Array.from({ length: 100 }, (_, i) => ({
      kind: 'delivery',
      delivery: {
        message: message({ id: `s${i}`, topic: 'small', text: 'x' }),
        deliveryTag: '',
        attempt: 1,
        subscription: 'small',
        ackDeadline: 0,
      },
    }));
    const smallFrames: Buffer[] = [];
    encoder.encode(small, smallFrames);
    expect(smallFrames).toHaveLength(1);
  });

  describe('to a grpcio subscriber with default channel settings', () => {
    let gw: TestGateway;
    let stubs: string;
    let subscriber: PythonProcess | undefined;

    beforeAll(async () => {
      stubs = mkdtempSync(path.join(os.tmpdir(), 'ocgw-py-stubs-'));
      gw = await startTestGateway();
    }, 30_000);
    afterAll(async () => {
      subscriber?.child.kill();
      await gw?.stop();
      rmSync(stubs, { recursive: true, force: true });
    });

    it('receives six 1 MiB messages routed at once, in frames it accepts', async () => {
      subscriber = new PythonProcess(BIG_SUBSCRIBER, ['--target', gw.address, '--stubs', stubs, '--topic', 'big.>']);
      await subscriber.waitFor((line) => line.event === 'subscribed', 'the subscriber is live', 60_000);
      const router = gw.gateway.service('router')!;
      // One sendBatch: all six are queued for the session before its queue is flushed.
      const outcomes = await router.sendBatch(
        Array.from({ length: 6 }, (_, i) => big(`big-${i}`, 'big.files')),
        caller,
      );
      expect(outcomes.map((outcome) => outcome.receivers)).toEqual([1, 1, 1, 1, 1, 1]);
      await subscriber.waitFor((line) => line.event === 'stream_ended' || subscriber!.count('message') === 6, 'six messages', 30_000);
      expect(subscriber.find((line) => line.event === 'stream_ended')).toBeUndefined();
      const received = subscriber.lines.filter((line) => line.event === 'message');
      expect(received.map((line) => line.id)).toEqual(['big-0', 'big-1', 'big-2', 'big-3', 'big-4', 'big-5']);
      expect(received.every((line) => line.bytes === MIB - 1024)).toBe(true);
      expect(Math.max(...received.map((line) => line.frame as number))).toBeLessThanOrEqual(4 * MIB);
    }, 90_000);

    it('honours SubscribeRequest.max_batch: no Event carries more deliveries than the subscriber asked for', async () => {
      const router = gw.gateway.service('router')!;
      const small = (prefix: string, count = 23) =>
        Array.from({ length: count }, (_, i) => message({ id: `${prefix}-${i}`, topic: 'small.items', text: 'x' }));
      const received = async (maxBatch: number, prefix: string, count = 23) => {
        const process = new PythonProcess(BIG_SUBSCRIBER, [
          '--target',
          gw.address,
          '--stubs',
          stubs,
          '--topic',
          'small.>',
          '--max-batch',
          String(maxBatch),
        ]);
        try {
          await process.waitFor((line) => line.event === 'subscribed', 'the subscriber is live', 60_000);
          // One sendBatch: all of them are queued for the session before its queue is flushed.
          const outcomes = await router.sendBatch(small(prefix, count), caller);
          expect(outcomes.every((outcome) => outcome.receivers === 1)).toBe(true);
          await process.waitFor((line) => line.event === 'stream_ended' || process.count('message') === count, `${count} messages`, 30_000);
          expect(process.find((line) => line.event === 'stream_ended')).toBeUndefined();
          return process.lines.filter((line) => line.event === 'message');
        } finally {
          process.child.kill();
        }
      };
      const capped = await received(5, 'capped');
      expect(capped.map((line) => line.id)).toEqual(small('capped').map((m) => m.id));
      expect(Math.max(...capped.map((line) => line.event_size as number))).toBe(5);
      expect(new Set(capped.map((line) => line.in_event)).size).toBe(5);
      // 0 leaves it to the router (128): the same burst is one Event.
      const defaulted = await received(0, 'default');
      expect(defaulted.map((line) => line.event_size)).toEqual(Array(23).fill(23));
      // More than the router allows is held to the router's cap (subscriberQueue.maxBatch, 128).
      const above = await received(100_000, 'above', 200);
      expect(above.map((line) => line.id)).toEqual(small('above', 200).map((m) => m.id));
      expect(Math.max(...above.map((line) => line.event_size as number))).toBe(128);
    }, 120_000);
  });
});
