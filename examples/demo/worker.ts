/**
 * Demo worker: an instance of service `demo-worker`. The gateway balances the planner's requests
 * over every running instance; each answers with its own id so the balance is visible.
 */
import { connect } from '../../sdk';
import { demoEnvironment, onShutdown, say } from './demo-env';

export const WORKER_SERVICE = 'demo-worker';

async function main(): Promise<void> {
  const { targets, agentId } = demoEnvironment(WORKER_SERVICE);
  const agent = connect(targets, { onReconnect: (error) => say(agentId, `reconnecting: ${error.message}`) });
  onShutdown(() => agent.close());
  const registration = await agent.register({ service: WORKER_SERVICE, version: '1.0.0', agentId, capabilities: ['demo-task'] });
  say(registration.agentId, `registered as ${WORKER_SERVICE} on ${registration.gatewayId}`);
  const inbox = await agent.subscribe();
  let handled = 0;
  for await (const delivery of inbox) {
    if (!delivery.isRequest) {
      await delivery.ack();
      continue;
    }
    handled++;
    // A little work, so the planner's log shows replies trickling in rather than instantly.
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.floor(Math.random() * 80)));
    await delivery.reply(JSON.stringify({ worker: registration.agentId, task: delivery.text(), handled }), {
      contentType: 'application/json',
    });
  }
}

main().catch((error: unknown) => {
  console.error(`[demo-worker] ${(error as Error).message}`);
  process.exit(1);
});
