/**
 * Sessions and restarts: a dropped Subscribe stream marks the agent down at once; after a gateway
 * restart on the same port the SDK registers again and reopens its subscriptions by itself; a
 * handle given several gateways fails over to a live one.
 */
import { connect, type Agent, type AgentDelivery, type Subscription } from '../../sdk';
import { startTestGateway, type TestGateway } from '../helpers/gateway';

async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function next(subscription: Subscription<AgentDelivery>): Promise<AgentDelivery> {
  const result = await subscription.next();
  if (result.done) throw new Error('subscription ended');
  return result.value;
}

describe('SDK sessions across drops and restarts', () => {
  const agents: Agent[] = [];
  const gateways: TestGateway[] = [];
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.close({ deregister: false })));
    await Promise.all(gateways.splice(0).map((gw) => gw.stop()));
  });

  it('marks the agent down as soon as its session stream drops', async () => {
    const gw = await startTestGateway();
    gateways.push(gw);
    const worker = connect(gw.address);
    const observer = connect(gw.address);
    agents.push(worker, observer);
    const { agentId } = await worker.register({ service: 'dropper', version: '1.0.0', leaseTtlMs: 60_000 });
    expect((await observer.discover({ service: 'dropper', routableOnly: true })).length).toBe(1);

    // Ends the session without deregistering: the lease (60 s) is still valid.
    await worker.close({ deregister: false });
    await eventually(
      async () => ((await observer.discover({ service: 'dropper', routableOnly: true })).length === 0 ? true : undefined),
      5000,
    );
    const record = gw.gateway.service('registry')!.get(agentId);
    expect(record === undefined || record.state !== 'running' || record.health === 'unhealthy').toBe(true);
  });

  it('re-registers and re-subscribes after the gateway restarts on the same port', async () => {
    const first = await startTestGateway();
    const port = first.port;
    const worker = connect(first.address, { backoff: { initialMs: 50, maxMs: 500 } });
    const listener = connect(first.address, { backoff: { initialMs: 50, maxMs: 500 } });
    agents.push(worker, listener);
    const { agentId } = await worker.register({ agentId: 'phoenix-1', service: 'phoenix', version: '1.0.0', leaseTtlMs: 3000 });
    const inbox = await worker.subscribe();
    const topic = await listener.subscribe('news.>');

    await first.stop();
    const second = await startTestGateway({ port });
    gateways.push(second);
    expect(second.gateway.info.id).not.toBe(first.gateway.info.id);

    // The new gateway never saw the agent: it must come back on its own.
    const registry = second.gateway.service('registry')!;
    await eventually(() => registry.get(agentId));
    const probe = connect(second.address);
    agents.push(probe);
    // Topic stream reopened: a publish reaches it.
    await eventually(async () => ((await probe.publish('news.today', 'hello again')).receivers > 0 ? true : undefined));
    expect((await next(topic)).text()).toBe('hello again');
    // Inbox reopened and bound to the session: point-to-point works.
    await eventually(async () => {
      try {
        await probe.send({ agentId, payload: 'welcome back' });
        return true;
      } catch {
        return undefined;
      }
    });
    expect((await next(inbox)).text()).toBe('welcome back');
  });

  it('fails over to the next gateway in the list', async () => {
    const live = await startTestGateway();
    gateways.push(live);
    // Nothing listens on the first target (a socket path that does not exist).
    const agent = connect([`unix:${live.socketPath}.missing`, live.address], { backoff: { initialMs: 20, maxMs: 200 } });
    agents.push(agent);
    const result = await agent.register({ service: 'failover', version: '1.0.0' });
    expect(result.gatewayId).toBe(live.gateway.info.id);
  });
});
