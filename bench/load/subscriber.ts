/**
 * Opens `streams` Subscribe streams spread over `connections` connections and counts the
 * deliveries they receive, from the raw bytes (never decoded).
 */
import { countDeliveries, encodeAgentInfo, encodeSubscribe } from '../wire';
import { epochMs, sleep } from '../stats';
import { frame, GrpcH2Connection, type CallHandle } from './h2-grpc';

export interface SubscriberConfig {
  address: string;
  streams: number;
  connections: number;
  topics: string[];
  /** Subscribe as this agent's inbox (registering it first). */
  agentId?: string;
  service?: string;
  maxBatch?: number;
}

export async function createSubscriber(config: SubscriberConfig) {
  const connections: GrpcH2Connection[] = [];
  for (let i = 0; i < Math.max(1, config.connections); i++) connections.push(new GrpcH2Connection(config.address));
  await Promise.all(connections.map((c) => c.connected));

  const request = frame(
    encodeSubscribe({
      agentId: config.agentId ?? '',
      topics: config.topics.map((pattern) => ({ pattern, queueGroup: '' })),
      maxBatch: config.maxBatch ?? 0,
    }),
  );
  const calls: CallHandle[] = [];
  const receiving = new Uint8Array(config.streams);
  let deliveries = 0;
  let streamsReceiving = 0;
  let firstDeliveryEpochMs = 0;
  let subscribedAtEpochMs = 0;
  let errors = 0;
  let firstError: string | undefined;
  let stopping = false;

  const open = () => {
    subscribedAtEpochMs = epochMs();
    for (let i = 0; i < config.streams; i++) {
      const onEvent = (event: Buffer) => {
        const count = countDeliveries(event);
        if (count === 0) return;
        if (deliveries === 0) firstDeliveryEpochMs = epochMs();
        deliveries += count;
        if (receiving[i] === 0) {
          receiving[i] = 1;
          streamsReceiving++;
        }
      };
      const onEnd = (error?: Error) => {
        if (stopping) return;
        errors++;
        firstError ??= error?.message ?? 'the server ended the Subscribe stream';
      };
      calls.push(connections[i % connections.length].call('Subscribe', onEvent, onEnd, request));
    }
  };

  const counts = () => ({
    deliveries,
    streamsReceiving,
    errors,
    firstError,
    firstDeliveryEpochMs,
    subscribedAtEpochMs,
    atEpochMs: epochMs(),
  });

  return {
    async open() {
      if (config.agentId) {
        await connections[0].unaryAsync(
          'RegisterAgent',
          frame(encodeAgentInfo({ agentId: config.agentId, service: config.service ?? 'bench-inbox', version: '1.0.0' })),
        );
      }
      open();
      return counts();
    },
    counts,
    /** Resolves once every stream has received a delivery, a stream failed, or at timeout. */
    async waitReceiving(args: { timeoutMs: number }) {
      const deadline = Date.now() + args.timeoutMs;
      while (streamsReceiving < config.streams && Date.now() < deadline && errors === 0) await sleep(20);
      return counts();
    },
    stop() {
      stopping = true;
      for (const call of calls) call.cancel();
      for (const connection of connections) connection.close();
      return counts();
    },
  };
}
