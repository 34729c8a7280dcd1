/**
 * Holds many idle connections, each with one open Subscribe stream, for the concurrent
 * connections scenario. A stream counts as held once a delivery reached it, which proves the
 * server really has a live session for it, not just an accepted socket.
 */
import { countDeliveries, encodeSubscribe } from '../wire';
import { frame, GrpcH2Connection, type CallHandle } from './h2-grpc';
import { agentIdOf } from './unary';

export interface HolderConfig {
  address: string;
  connections: number;
  topic: string;
  /** Connections opened concurrently while ramping up (a SYN flood helps no one). */
  rampBatch?: number;
  /**
   * When set, connection i also receives the inbox of agent `bench-agent-<firstAgent + i>` (agents
   * registered beforehand): the seed's "registered instances each with an open Subscribe stream".
   */
  firstAgent?: number;
}

export async function createHolder(config: HolderConfig) {
  const connections: GrpcH2Connection[] = [];
  const calls: CallHandle[] = [];
  const received = new Uint8Array(config.connections);
  let held = 0;
  let errors = 0;
  let firstError: string | undefined;
  let stopping = false;
  const topics = [{ pattern: config.topic, queueGroup: '' }];
  const shared = frame(encodeSubscribe({ topics }));
  const requestFor = (index: number) =>
    config.firstAgent === undefined ? shared : frame(encodeSubscribe({ agentId: agentIdOf(config.firstAgent + index), topics }));

  const status = () => ({ opened: calls.length, held, errors, firstError, rssBytes: process.memoryUsage.rss() });

  return {
    async open() {
      const batch = config.rampBatch ?? 200;
      for (let start = 0; start < config.connections; start += batch) {
        const group: GrpcH2Connection[] = [];
        for (let i = start; i < Math.min(config.connections, start + batch); i++) group.push(new GrpcH2Connection(config.address));
        await Promise.all(group.map((c) => c.connected));
        for (const connection of group) {
          const index = connections.length;
          connections.push(connection);
          const onEvent = (event: Buffer) => {
            if (countDeliveries(event) > 0 && received[index] === 0) {
              received[index] = 1;
              held++;
            }
          };
          const onEnd = (error?: Error) => {
            if (stopping) return;
            errors++;
            firstError ??= error?.message ?? 'the server ended the Subscribe stream';
          };
          calls.push(connection.call('Subscribe', onEvent, onEnd, requestFor(index)));
        }
      }
      return status();
    },
    status,
    stop() {
      stopping = true;
      for (const call of calls) call.cancel();
      for (const connection of connections) connection.close();
      return status();
    },
  };
}
