/** `send (--agent <id> | --service <name>) [payload]`: SendMessage to one agent or to a service. */
import type { Command } from 'commander';
import type { SendResult } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { reportAdminFailure } from './admin-client';
import { destinationOf, type DestinationFlags } from './message-destination';
import { addMessageOptions, callGateway, messageFrom, printSendResult, readPayload, type MessageFlags } from './message-client';

export function register(program: Command): void {
  addMessageOptions(
    program
      .command('send [payload]')
      .description("send a message to an agent's inbox (--agent) or to one instance of a service (--service)")
      .option('-a, --agent <agentId>', 'the receiving agent')
      .option('-s, --service <name>', 'the receiving service (one routable instance gets it)')
      .option('--version-range <range>', 'semver range narrowing --service, e.g. ^1.2.0')
      .option('--durable', 'at-least-once: stored before the call returns, acked by the receiver'),
  ).action(async (payloadArgument: string | undefined, flags: MessageFlags & DestinationFlags) => {
    try {
      const destination = destinationOf('send', flags);
      const message = messageFrom(flags, destination, await readPayload(payloadArgument));
      const label = destination.agentId ? `sent to agent ${destination.agentId}` : `sent to service ${destination.service}`;
      printSendResult(flags, label, await callGateway<SendResult>(flags, 'sendMessage', message));
    } catch (error) {
      process.exitCode = reportAdminFailure(error);
    }
  });
}
