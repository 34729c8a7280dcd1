/**
 * `subscribe <pattern...>`: a topic subscriber, like `nats sub`. Prints each message as it comes —
 * `[#n] <topic>: <payload>`, or one JSON object per line with --json — until Ctrl-C (exit 0), the
 * `--count` limit, or the stream failing (exit 1, with the reason). "subscribed to ..." goes to
 * stderr once the gateway confirmed the subscription, so stdout carries messages only.
 */
import type { ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { GatewayServiceClient, type Delivery, type Event } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { AdminCallError, addAdminOptions, describeFailure, openChannel, reportAdminFailure, type AdminFlags } from './admin-client';
import { messageJson } from './message-client';

interface SubscribeFlags extends AdminFlags {
  queue?: string;
  count?: string;
}

export function register(program: Command): void {
  addAdminOptions(
    program
      .command('subscribe <patterns...>')
      .description('print the messages published to topic patterns (`*` one token, `>` the rest) until Ctrl-C')
      .option('-q, --queue <group>', 'join a queue group: each message goes to one member of the group')
      .option('-c, --count <n>', 'exit after this many messages'),
  ).action(async (patterns: string[], flags: SubscribeFlags) => {
    try {
      process.exitCode = await subscribe(patterns, flags);
    } catch (error) {
      process.exitCode = reportAdminFailure(error);
    }
  });
}

async function subscribe(patterns: string[], flags: SubscribeFlags): Promise<number> {
  const limit = flags.count === undefined ? Infinity : Number(flags.count);
  if (!(limit >= 1) || (limit !== Infinity && !Number.isInteger(limit))) throw new AdminCallError(`--count: expected a whole number >= 1 (got ${flags.count})`, 3);
  const channel = openChannel(flags);
  const client = new GatewayServiceClient(channel.target, channel.credentials, channel.options);
  // The subscription itself lasts until stopped; --timeout bounds reaching the gateway.
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + channel.timeoutMs, (error) =>
      error ? reject(new AdminCallError(`Subscribe failed: UNAVAILABLE: cannot reach a gateway at ${channel.target} within --timeout; is it running? (--target host:port or unix:/path)`, 14)) : resolve(),
    ),
  ).catch((error) => {
    client.close();
    throw error;
  });
  const stream: ClientReadableStream<Event> = client.subscribe(
    { agentId: '', topics: patterns.map((pattern) => ({ pattern, queueGroup: flags.queue ?? '' })), registryEvents: false, maxBatch: 0 },
    channel.metadata(),
  );
  let received = 0;
  let stopping = false;
  const stop = (): void => {
    stopping = true;
    stream.cancel();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await new Promise<number>((resolve) => {
      stream.on('metadata', () => console.error(`subscribed to ${patterns.join(', ')}${flags.queue ? ` in queue group ${flags.queue}` : ''} (Ctrl-C to stop)`));
      const print = (delivery: Delivery): void => {
        if (!delivery.message || received >= limit) return;
        received++;
        const { message } = delivery;
        if (flags.json) console.log(messageJson(message, { subscription: delivery.subscription }));
        else console.log(`[#${received}] ${message.topic}: ${message.payload.toString('utf8')}`);
        if (received >= limit) stop();
      };
      stream.on('data', (event: Event) => {
        if (event.kind?.$case === 'delivery') print(event.kind.value);
        else if (event.kind?.$case === 'batch') for (const delivery of event.kind.value.deliveries) print(delivery);
      });
      stream.on('error', (error: ServiceError) => {
        if (stopping) return resolve(0);
        console.error(`error: ${describeFailure(error, 'Subscribe', channel.target).message}`);
        resolve(1);
      });
      stream.on('end', () => {
        if (!stopping) console.error('error: the gateway ended the subscription');
        resolve(stopping ? 0 : 1);
      });
    });
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    client.close();
  }
}
