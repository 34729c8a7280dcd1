/**
 * `request (--service <name> | --agent <id>) [payload]`: a Request RPC, like `nats req`. Prints the
 * reply's payload (or the whole reply with --json); no reply within --timeout exits 1.
 */
import type { Command } from 'commander';
import type { Message } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { reportAdminFailure } from './admin-client';
import { destinationOf, type DestinationFlags } from './message-destination';
import { addMessageOptions, callGateway, messageFrom, messageJson, readPayload, type MessageFlags } from './message-client';

export function register(program: Command): void {
  addMessageOptions(
    program
      .command('request [payload]')
      .description('send a request to a service (--service) or an agent (--agent) and print the reply')
      .option('-a, --agent <agentId>', 'the agent that answers')
      .option('-s, --service <name>', 'the service that answers (one routable instance gets it)')
      .option('--version-range <range>', 'semver range narrowing --service, e.g. ^1.2.0'),
  ).action(async (payloadArgument: string | undefined, flags: MessageFlags & DestinationFlags) => {
    try {
      const message = messageFrom(flags, destinationOf('request', flags), await readPayload(payloadArgument));
      const reply = await callGateway<Message>(flags, 'request', message);
      if (flags.json) console.log(messageJson(reply));
      else
        process.stdout.write(
          reply.payload.length && !reply.payload.toString('utf8').endsWith('\n')
            ? Buffer.concat([reply.payload, Buffer.from('\n')])
            : reply.payload,
        );
    } catch (error) {
      process.exitCode = reportAdminFailure(error);
    }
  });
}
