/** `publish <topic> [payload]`: SendMessage to a topic, like `nats pub`. */
import type { Command } from 'commander';
import type { SendResult } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { reportAdminFailure } from './admin-client';
import { addMessageOptions, callGateway, messageFrom, printSendResult, readPayload, type MessageFlags } from './message-client';

export function register(program: Command): void {
  addMessageOptions(
    program
      .command('publish <topic> [payload]')
      .description('publish a message to a topic (payload from the argument, or stdin with - or on a pipe)')
      .option('--durable', 'at-least-once: stored before the call returns, acked by each receiver'),
  ).action(async (topic: string, payloadArgument: string | undefined, flags: MessageFlags) => {
    try {
      const message = messageFrom(flags, { topic }, await readPayload(payloadArgument));
      printSendResult(flags, `published to ${topic}`, await callGateway<SendResult>(flags, 'sendMessage', message));
    } catch (error) {
      process.exitCode = reportAdminFailure(error);
    }
  });
}
