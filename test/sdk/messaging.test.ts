/**
 * The SDK against a real gateway: registration, topic pub/sub, inbox delivery, request/reply,
 * cancellation, discovery and status, over loopback TCP and the Unix socket.
 */
import { connect, GatewayClientError, type Agent, type AgentDelivery, type Subscription } from '../../sdk';
import { startTestGateway, type TestGateway } from '../helpers/gateway';

async function take<T>(subscription: Subscription<T>, count: number): Promise<T[]> {
  const items: T[] = [];
  for await (const item of subscription) {
    items.push(item);
    if (items.length === count) break;
  }
  return items;
}

describe.each([
  ['loopback TCP', (gw: TestGateway) => gw.address],
  ['Unix socket', (gw: TestGateway) => `unix:${gw.socketPath}`],
])('SDK over %s', (_label, targetOf) => {
  let gw: TestGateway;
  const agents: Agent[] = [];
  const open = (): Agent => {
    const agent = connect(targetOf(gw));
    agents.push(agent);
    return agent;
  };

  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.close()));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('publishes to topic subscribers, wildcards included', async () => {
    const publisher = open();
    const listener = open();
    const exact = await listener.subscribe('orders.created');
    const wildcard = await listener.subscribe(['orders.>']);
    const sent = await publisher.publish('orders.created', 'order 1', { headers: { traceparent: '00-abc' } });
    expect(sent.receivers).toBe(2);
    expect(sent.messageId).not.toBe('');
    const [a] = await take(exact, 1);
    const [b] = await take(wildcard, 1);
    expect(a.text()).toBe('order 1');
    expect(a.topic).toBe('orders.created');
    expect(a.message.headers.traceparent).toBe('00-abc');
    expect(b.text()).toBe('order 1');
  });

  it('publishes batches in order and reports per-message failures in place', async () => {
    const agent = open();
    const subscription = await agent.subscribe('batch.*');
    const results = await agent.publishBatch([
      { topic: 'batch.one', payload: '1' },
      { topic: 'bad topic', payload: 'x' },
      { topic: 'batch.two', payload: '2' },
    ]);
    expect(results.map((r) => r.errorCode)).toEqual([0, 3, 0]);
    expect(results[1].errorMessage).toMatch(/^GW_INVALID_ARGUMENT: messages\[1\]\.topic/);
    const received = await take(subscription, 2);
    expect(received.map((d) => d.text())).toEqual(['1', '2']);
  });

  it('registers, receives requests in its inbox and replies; discovery and status see it', async () => {
    const worker = open();
    const registration = await worker.register({ service: 'echo', version: '1.4.0', tags: { zone: 'a' }, capabilities: ['echo'] });
    expect(registration.agentId).not.toBe('');
    expect(worker.agentId).toBe(registration.agentId);
    const inbox = await worker.subscribe();
    void (async () => {
      for await (const delivery of inbox) {
        if (delivery.isRequest) await delivery.reply(`echo: ${delivery.text()}`);
      }
    })();

    const client = open();
    const found = await client.discover({ service: 'echo', versionRange: '^1.0.0' });
    expect(found.map((agent) => agent.info?.agentId)).toEqual([registration.agentId]);
    expect(await client.discover({ service: 'echo', versionRange: '^2.0.0' })).toEqual([]);

    const reply = await client.request('echo', 'hello', { timeoutMs: 10_000 });
    expect(reply.payload.toString()).toBe('echo: hello');
    const direct = await client.request({ agentId: registration.agentId }, 'direct', { timeoutMs: 10_000 });
    expect(direct.payload.toString()).toBe('echo: direct');

    const status = await worker.status();
    expect(status.gatewayId).toBe(gw.gateway.info.id);
    expect(status.uptimeMs).toBeGreaterThanOrEqual(0);
  });

  it('sends point-to-point to an agent inbox', async () => {
    const worker = open();
    const { agentId } = await worker.register({ service: 'inboxer', version: '1.0.0' });
    const inbox = await worker.subscribe();
    const sender = open();
    await sender.send({ agentId, payload: 'for you' });
    const [delivery] = await take(inbox, 1);
    expect(delivery.text()).toBe('for you');
    expect(delivery.isRequest).toBe(false);
  });

  it('tells the receiver when the requester cancels', async () => {
    const worker = open();
    await worker.register({ service: 'slow', version: '1.0.0' });
    const inbox = await worker.subscribe();
    let received!: () => void;
    const reachedWorker = new Promise<void>((resolve) => (received = resolve));
    const sawCancel = (async () => {
      for await (const delivery of inbox) {
        received();
        await new Promise<void>((resolve) => delivery.cancelled.addEventListener('abort', () => resolve(), { once: true }));
        return delivery;
      }
      return undefined;
    })();
    const client = open();
    const abort = new AbortController();
    const pending = client.request('slow', 'work', { timeoutMs: 20_000, signal: abort.signal });
    await reachedWorker;
    abort.abort();
    await expect(pending).rejects.toMatchObject({ code: 'GW_CANCELLED' });
    const cancelled = (await sawCancel) as AgentDelivery;
    expect(cancelled.cancelled.aborted).toBe(true);
  });

  it('rejects bad input with the gateway code and the field to fix', async () => {
    const agent = open();
    const error = await agent.publish('bad..topic', 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayClientError);
    expect(error).toMatchObject({ code: 'GW_INVALID_ARGUMENT', status: 3, field: 'message.topic' });
    await expect(agent.register({ service: 'Bad Name', version: '1.0.0' })).rejects.toMatchObject({
      code: 'GW_INVALID_ARGUMENT',
      field: 'agent.service',
    });
  });
});
