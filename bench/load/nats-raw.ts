/**
 * Raw nats.js on both ends, the cluster scenario's yardstick: what the same NATS carries for a
 * publisher and a subscriber with no gateway in between. The publisher sends "frames" of
 * `batchSize` core-NATS publishes of the same payload the gRPC publisher sends, and a frame counts
 * as answered when a flush (PING/PONG) after it returns, so at most `window` frames are in flight:
 * the same shape as PublishStream's one BatchResult per frame. The subscriber counts messages.
 */
import { connect, type NatsConnection } from 'nats';
import { epochMs, sleep } from '../stats';
import { PAYLOAD_BYTES } from '../wire';

export interface NatsPublisherConfig {
  natsUrl: string;
  subject: string;
  batchSize: number;
  window: number;
  payloadBytes?: number;
}

export interface NatsSubscriberConfig {
  natsUrl: string;
  subject: string;
}

export async function createNatsPublisher(config: NatsPublisherConfig) {
  const nc: NatsConnection = await connect({ servers: config.natsUrl, name: 'bench-raw-publisher' });
  const payload = new Uint8Array(config.payloadBytes ?? PAYLOAD_BYTES).fill(0x61);
  const progress = { framesSent: 0, framesAnswered: 0, messagesAnswered: 0, atEpochMs: 0 };
  let running = false;

  const pump = (): void => {
    while (running && progress.framesSent - progress.framesAnswered < config.window) {
      for (let i = 0; i < config.batchSize; i++) nc.publish(config.subject, payload);
      progress.framesSent++;
      nc.flush().then(
        () => {
          progress.framesAnswered++;
          progress.messagesAnswered += config.batchSize;
          pump();
        },
        () => undefined,
      );
    }
  };

  return {
    start() {
      running = true;
      pump();
      return { ...progress, atEpochMs: epochMs() };
    },
    progress: () => ({ ...progress, atEpochMs: epochMs() }),
    async stop() {
      running = false;
      await nc.close().catch(() => undefined);
      return { ...progress, atEpochMs: epochMs() };
    },
  };
}

export async function createNatsSubscriber(config: NatsSubscriberConfig) {
  const nc: NatsConnection = await connect({ servers: config.natsUrl, name: 'bench-raw-subscriber' });
  let deliveries = 0;
  const counts = () => ({ deliveries, streamsReceiving: deliveries > 0 ? 1 : 0, errors: 0, atEpochMs: epochMs() });
  return {
    async open() {
      nc.subscribe(config.subject, { callback: () => deliveries++ });
      await nc.flush();
      return counts();
    },
    counts,
    async waitReceiving(args: { timeoutMs: number }) {
      const deadline = Date.now() + args.timeoutMs;
      while (deliveries === 0 && Date.now() < deadline) await sleep(20);
      return counts();
    },
    async stop() {
      await nc.close().catch(() => undefined);
      return counts();
    },
  };
}
