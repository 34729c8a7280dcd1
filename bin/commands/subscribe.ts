/**
 * `subscribe [pattern...] [--registry-events]`: a topic subscriber, like `nats sub`. Prints each
 * message as it comes — `[#n] <topic>: <payload>` — and, with --registry-events, each agent coming,
 * going or changing state/health — `[#n] registry up <agent> ...` — or one JSON object per line with
 * --json, until Ctrl-C (exit 0), the `--count` limit, or the stream failing (exit 1, with the
 * reason; it does not reconnect, so a script sees the gap). "subscribed to ..." goes to stderr once
 * the gateway confirmed the subscription, so stdout carries events only.
 */
import type { ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import type { Command } from 'commander';
import {
  agentHealthToJSON,
  agentStateToJSON,
  GatewayServiceClient,
  registryEvent_KindToJSON,
  SubscribeRequest,
  type Delivery,
  type Event,
  type RegistryEvent,
} from '../../proto/gen/openclaw/gateway/v1/gateway';
import { AdminCallError, addAdminOptions, describeFailure, openChannel, reportAdminFailure, type AdminFlags } from './admin-client';
import { messageJson } from './message-client';

interface SubscribeFlags extends AdminFlags {
  queue?: string;
  count?: string;
  registryEvents?: boolean;
}

export function register(program: Command): void {
  addAdminOptions(
    program
      .command('subscribe [patterns...]')
      .description('print the messages published to topic patterns (`*` one token, `>` the rest) until Ctrl-C')
      .option('-q, --queue <group>', 'join a queue group: each message goes to one member of the group')
      .option('-r, --registry-events', 'also print agents coming, going and changing state or health')
      .option('-c, --count <n>', 'exit after this many events'),
  ).action(async (patterns: string[], flags: SubscribeFlags) => {
    try {
      process.exitCode = await subscribe(patterns, flags);
    } catch (error) {
      process.exitCode = reportAdminFailure(error);
    }
  });
}

async function subscribe(patterns: string[], flags: SubscribeFlags): Promise<number> {
  if (patterns.length === 0 && !flags.registryEvents)
    throw new AdminCallError('subscribe: give at least one topic pattern, or --registry-events', 3);
  const limit = flags.count === undefined ? Infinity : Number(flags.count);
  if (!(limit >= 1) || (limit !== Infinity && !Number.isInteger(limit)))
    throw new AdminCallError(`--count: expected a whole number >= 1 (got ${flags.count})`, 3);
  const channel = openChannel(flags);
  const client = new GatewayServiceClient(channel.target, channel.credentials, channel.options);
  // The subscription itself lasts until stopped; --timeout bounds reaching the gateway.
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + channel.timeoutMs, (error) =>
      error
        ? reject(
            new AdminCallError(
              `Subscribe failed: UNAVAILABLE: cannot reach a gateway at ${channel.target} within --timeout; is it running? (--target host:port or unix:/path)`,
              14,
            ),
          )
        : resolve(),
    ),
  ).catch((error) => {
    client.close();
    throw error;
  });
  const stream: ClientReadableStream<Event> = client.subscribe(
    SubscribeRequest.fromPartial({
      topics: patterns.map((pattern) => ({ pattern, queueGroup: flags.queue ?? '' })),
      registryEvents: flags.registryEvents ?? false,
    }),
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
      const what = [...patterns, ...(flags.registryEvents ? ['registry events'] : [])].join(', ');
      stream.on('metadata', () =>
        console.error(`subscribed to ${what}${flags.queue ? ` in queue group ${flags.queue}` : ''} (Ctrl-C to stop)`),
      );
      const print = (line: (n: number) => string): void => {
        if (received >= limit) return;
        received++;
        console.log(line(received));
        if (received >= limit) stop();
      };
      const printDelivery = (delivery: Delivery): void => {
        const { message } = delivery;
        if (!message) return;
        print((n) =>
          flags.json
            ? messageJson(message, { subscription: delivery.subscription })
            : `[#${n}] ${message.topic}: ${message.payload.toString('utf8')}`,
        );
      };
      stream.on('data', (event: Event) => {
        const kind = event.kind;
        if (kind?.$case === 'delivery') printDelivery(kind.value);
        else if (kind?.$case === 'batch') for (const delivery of kind.value.deliveries) printDelivery(delivery);
        else if (kind?.$case === 'registry')
          print((n) => (flags.json ? JSON.stringify(registryJson(kind.value)) : `[#${n}] ${registryLine(kind.value)}`));
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

/** `KIND_UP` → `up`, `AGENT_STATE_RUNNING` → `running`: the words of `agents`. */
function word(value: string, prefix: string): string {
  return (value.startsWith(prefix) ? value.slice(prefix.length) : value).toLowerCase();
}

function registryJson(event: RegistryEvent): Record<string, unknown> {
  const info = event.agent?.info;
  return {
    registry: word(registryEvent_KindToJSON(event.kind), 'KIND_'),
    agentId: info?.agentId ?? '',
    service: info?.service ?? '',
    version: info?.version ?? '',
    state: event.agent ? word(agentStateToJSON(event.agent.state), 'AGENT_STATE_') : undefined,
    health: event.agent ? word(agentHealthToJSON(event.agent.health), 'AGENT_HEALTH_') : undefined,
    reason: event.reason || undefined,
  };
}

/** `registry up py-1 (py-echo 1.0.0)`, `registry state_changed py-1 running -> draining: reason`. */
function registryLine(event: RegistryEvent): string {
  const row = registryJson(event);
  const from = word(agentStateToJSON(event.fromState), 'AGENT_STATE_');
  const to = word(agentStateToJSON(event.toState), 'AGENT_STATE_');
  const change =
    row.registry === 'state_changed'
      ? ` ${from} -> ${to}`
      : row.registry === 'health_changed'
        ? ` ${String(row.health)}`
        : ` (${String(row.service)} ${String(row.version)})`;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- printing whatever the gateway sent
  return `registry ${String(row.registry)} ${String(row.agentId)}${change}${row.reason ? `: ${String(row.reason)}` : ''}`;
}
