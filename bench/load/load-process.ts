/**
 * Entry of every load-generator child: argv[2] is `{ role, ...config }`; the role's methods
 * become the commands the harness can send.
 */
import { announceReady, failStartup, serveCommands, type CommandHandlers } from '../ipc';
import { createHolder, type HolderConfig } from './holder';
import { createNatsPublisher, createNatsSubscriber, type NatsPublisherConfig, type NatsSubscriberConfig } from './nats-raw';
import { createPublisher, type PublisherConfig } from './publisher';
import { createSubscriber, type SubscriberConfig } from './subscriber';
import { createUnaryLoad, type UnaryConfig } from './unary';

export type LoadConfig =
  | ({ role: 'publisher' } & PublisherConfig)
  | ({ role: 'subscriber' } & SubscriberConfig)
  | ({ role: 'unary' } & UnaryConfig)
  | ({ role: 'holder' } & HolderConfig)
  | ({ role: 'nats-publisher' } & NatsPublisherConfig)
  | ({ role: 'nats-subscriber' } & NatsSubscriberConfig);

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as LoadConfig;
  let role: Record<string, (args: any) => unknown>;
  switch (config.role) {
    case 'publisher':
      role = await createPublisher(config);
      break;
    case 'subscriber':
      role = await createSubscriber(config);
      break;
    case 'unary':
      role = await createUnaryLoad(config);
      break;
    case 'holder':
      role = await createHolder(config);
      break;
    case 'nats-publisher':
      role = await createNatsPublisher(config);
      break;
    case 'nats-subscriber':
      role = await createNatsSubscriber(config);
      break;
    default:
      throw new Error(`unknown load role ${(config as { role?: string }).role}`);
  }
  const handlers: CommandHandlers = {
    ...role,
    // The generator's own CPU, so reports can show what the load cost next to what the server did.
    cpu: () => {
      const usage = process.cpuUsage();
      return usage.user + usage.system;
    },
  };
  const stop = role.stop;
  handlers.stop = async (args: unknown) => {
    const result = await stop?.(args);
    setTimeout(() => process.exit(0), 50);
    return result;
  };
  serveCommands(handlers);
  announceReady();
}

main().catch(failStartup);
