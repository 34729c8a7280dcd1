/**
 * Demo planner: every `DEMO_TASK_INTERVAL_MS` it sends a task as a request to service
 * `demo-worker` (the gateway picks an instance), logs who answered, and publishes the result on
 * `demo.results.<worker>` for anyone listening (the demo logger does).
 */
import { connect } from '../../sdk';
import { demoEnvironment, onShutdown, say } from './demo-env';

async function main(): Promise<void> {
  const { targets, agentId } = demoEnvironment('demo-planner');
  const intervalMs = Number(process.env.DEMO_TASK_INTERVAL_MS ?? 1000);
  const agent = connect(targets);
  let running = true;
  onShutdown(async () => {
    running = false;
    await agent.close();
  });
  const registration = await agent.register({ service: 'demo-planner', version: '1.0.0', agentId });
  say(registration.agentId, `registered; sending a task to demo-worker every ${intervalMs} ms`);
  // The inbox must be drained (and health probes answered) even though nobody writes to the planner.
  void (async () => {
    for await (const delivery of await agent.subscribe()) await delivery.ack();
  })().catch(() => undefined);

  for (let task = 1; running; task++) {
    try {
      const reply = await agent.request('demo-worker', `task-${task}`, { timeoutMs: 5000 });
      const { worker } = JSON.parse(reply.payload.toString()) as { worker: string };
      say(registration.agentId, `task-${task} done by ${worker}`);
      await agent.publish(`demo.results.${worker}`, `task-${task}`, { headers: { 'x-task': String(task) } });
    } catch (error) {
      // No worker yet (they start in parallel) or one restarting: try again on the next tick.
      say(registration.agentId, `task-${task} not done: ${(error as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

main().catch((error: unknown) => {
  console.error(`[demo-planner] ${(error as Error).message}`);
  process.exit(1);
});
