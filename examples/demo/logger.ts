/**
 * Demo logger: subscribes to every topic (`>`) through the SDK, and to registry events (agents up,
 * down, state and health changes) over the raw generated gRPC client, and prints each one — what
 * an audit or debugging agent would do.
 */
import { connect, type Agent } from '../../sdk';
import { agentStateToJSON, RegistryEvent_Kind, registryEvent_KindToJSON, type Event } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { demoEnvironment, onShutdown, say } from './demo-env';

/**
 * The SDK subscribes with `registryEvents: true` but does not surface those events, so this opens
 * its own Subscribe stream with the SDK's channel and reopens it (after a pause) when it ends.
 */
function followRegistry(agent: Agent, agentId: string, stopped: () => boolean): void {
  const open = async (): Promise<void> => {
    if (stopped()) return;
    const call = agent.connection
      .current()
      .subscribe({ agentId: '', topics: [], registryEvents: true, maxBatch: 0 }, await agent.connection.metadata());
    call.on('data', (event: Event) => {
      if (event.kind?.$case !== 'registry') return;
      const { kind, agent: record, reason, toState } = event.kind.value;
      const what = registryEvent_KindToJSON(kind).replace('KIND_', '').toLowerCase();
      const state =
        kind === RegistryEvent_Kind.KIND_STATE_CHANGED ? ` → ${agentStateToJSON(toState).replace('AGENT_STATE_', '').toLowerCase()}` : '';
      say(agentId, `registry: ${record?.info?.agentId} (${record?.info?.service}) ${what}${state}: ${reason}`);
    });
    call.on('error', () => undefined);
    call.on('close', () => setTimeout(() => void open().catch(() => undefined), 1000).unref());
  };
  void open().catch(() => undefined);
}

async function main(): Promise<void> {
  const { targets, agentId } = demoEnvironment('demo-logger');
  const agent = connect(targets);
  let stopping = false;
  onShutdown(async () => {
    stopping = true;
    await agent.close();
  });
  const registration = await agent.register({ service: 'demo-logger', version: '1.0.0', agentId });
  void (async () => {
    for await (const delivery of await agent.subscribe()) await delivery.ack();
  })().catch(() => undefined);

  followRegistry(agent, registration.agentId, () => stopping);
  const everything = await agent.subscribe({ topics: ['>'] });
  say(registration.agentId, 'listening to every topic and to registry events');
  for await (const delivery of everything) {
    say(registration.agentId, `${delivery.topic}: ${delivery.text()}`);
  }
}

main().catch((error: unknown) => {
  console.error(`[demo-logger] ${(error as Error).message}`);
  process.exit(1);
});
