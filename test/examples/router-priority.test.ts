/**
 * Routing is swappable: the example third-party package `@openclaw-examples/router-priority` is
 * installed into a temp project, referenced BY PACKAGE NAME from its gateway.config.json, and
 * exercised over real gRPC through the transport and the TypeScript SDK.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startGateway, type Gateway, type LimitEvent } from '../../index';
import { connect, GatewayClientError, type Agent, type AgentDelivery, type Subscription } from '../../sdk';
import { eventually, nextItem, projectWithPackage, type PackageProject } from './package-project';

const PACKAGE = '@openclaw-examples/router-priority';

function routerEntry(options: Record<string, unknown>) {
  return { use: PACKAGE, options };
}

describe('third-party router plugin loaded by package name', () => {
  let project: PackageProject;
  let gateway: Gateway;
  let address: string;
  const agents: Agent[] = [];
  const limits: LimitEvent[] = [];

  const open = (options: Parameters<typeof connect>[1] = {}): Agent => {
    const agent = connect(address, options);
    agents.push(agent);
    return agent;
  };

  beforeAll(async () => {
    project = projectWithPackage(PACKAGE, 'router-priority');
    writeFileSync(
      path.join(project.dir, 'gateway.config.json'),
      JSON.stringify({
        gateway: { dataDir: './data', processMetrics: false, drainTimeoutMs: 2000 },
        plugins: [
          'registry-memory',
          'auth-standard',
          { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }] } },
          routerEntry({
            lanes: [
              { pattern: 'feed.alert', priority: 'high' },
              { pattern: 'feed.>', priority: 'low' },
            ],
            maxQueuedPerSession: 64,
            durable: { ackTimeoutMs: 400, maxAttempts: 3 },
          }),
        ],
      }),
    );
    gateway = await startGateway({ cwd: project.dir, logLevel: 'silent' });
    gateway.hooks.limitReached.tap('test', (event) => void limits.push(event));
    address = gateway
      .transports()[0]
      .addresses()
      .find((a) => !a.startsWith('unix:'))!;
  });

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.close()));
  });

  afterAll(async () => {
    await gateway?.stop();
    project?.remove();
  });

  test('the package is resolved from the project by name and provides the router service', () => {
    const summary = gateway.plugins().find((plugin) => plugin.kind === 'router')!;
    expect(summary).toMatchObject({ name: 'router-priority', version: '1.0.0', source: `npm:${PACKAGE}` });
    expect(typeof gateway.service('router')!.openSession).toBe('function');
  });

  test('topics with wildcards reach every subscriber; a queue group shares its messages', async () => {
    const publisher = open();
    const listener = open();
    const memberA = open();
    const memberB = open();
    const wildcard = await listener.subscribe('orders.>');
    const groupA = await memberA.subscribe({ topics: ['work.*'], queueGroup: 'crew' });
    const groupB = await memberB.subscribe({ topics: ['work.*'], queueGroup: 'crew' });

    const sent = await publisher.publish('orders.eu.created', 'order 1');
    expect(sent.receivers).toBe(1);
    expect((await nextItem(wildcard)).text()).toBe('order 1');

    for (let i = 0; i < 6; i++) expect((await publisher.publish('work.item', `job ${i}`)).receivers).toBe(1);
    const a = await Promise.all([0, 1, 2].map(() => nextItem(groupA)));
    const b = await Promise.all([0, 1, 2].map(() => nextItem(groupB)));
    expect([...a, ...b].map((d) => d.text()).sort()).toEqual(['job 0', 'job 1', 'job 2', 'job 3', 'job 4', 'job 5']);
  });

  test('requests to a service are balanced over its instances and the replies come back', async () => {
    const workers = [open(), open()];
    await Promise.all(workers.map((w, i) => w.register({ service: 'prio-echo', version: '1.0.0', agentId: `prio-echo-${i + 1}` })));
    const served = new Map<string, number>();
    const loops = workers.map(async (worker) => {
      const inbox = await worker.subscribe();
      for (;;) {
        const delivery = await nextItem(inbox, 20_000).catch(() => undefined);
        if (!delivery) return;
        served.set(worker.agentId!, (served.get(worker.agentId!) ?? 0) + 1);
        await delivery.reply(`${worker.agentId}:${delivery.text()}`);
      }
    });
    const client = open();
    const replies: string[] = [];
    for (let i = 0; i < 6; i++) replies.push((await client.request('prio-echo', `q${i}`, { timeoutMs: 5000 })).payload.toString());
    expect(replies.map((r) => r.split(':')[1])).toEqual(['q0', 'q1', 'q2', 'q3', 'q4', 'q5']);
    expect(served.get('prio-echo-1')).toBe(3);
    expect(served.get('prio-echo-2')).toBe(3);
    await Promise.all(workers.map((w) => w.close()));
    await Promise.all(loops);
  });

  test('a request without a reply fails with GW_DEADLINE_EXCEEDED and the receiver is told to cancel', async () => {
    const silent = open();
    await silent.register({ service: 'prio-silent', version: '1.0.0' });
    const inbox = await silent.subscribe();
    const client = open();
    const failure = client.request('prio-silent', 'hello', { timeoutMs: 600 }).catch((error: unknown) => error);
    const delivery = await nextItem(inbox);
    expect(delivery.isRequest).toBe(true);
    const error = (await failure) as GatewayClientError;
    expect(error).toBeInstanceOf(GatewayClientError);
    expect(error.code).toBe('GW_DEADLINE_EXCEEDED');
    await eventually(() => delivery.cancelled.aborted, 5000, 'the cancel event');
  });

  test('durable messages are redelivered until acked, then never again', async () => {
    const receiver = open();
    await receiver.register({ service: 'prio-durable', version: '1.0.0', agentId: 'prio-durable-1' });
    const inbox = await receiver.subscribe();
    const sender = open();
    const sent = await sender.send({ agentId: 'prio-durable-1', payload: 'keep me', durable: true });
    expect(sent.receivers).toBe(1);
    const first = await nextItem(inbox);
    expect(first.isDurable).toBe(true);
    expect(first.attempt).toBe(1);
    // Not acked: back after the 400 ms ack timeout, as attempt 2 with a new tag.
    const second = await nextItem(inbox, 10_000, 'the redelivery');
    expect(second.message.id).toBe(first.message.id);
    expect(second.attempt).toBe(2);
    expect(second.deliveryTag).not.toBe(first.deliveryTag);
    await second.ack();
    // A late ack of the first attempt changes nothing: the message is done.
    const acked = await receiver.connection.unary<unknown, { outcomes: Array<{ result: string }> }>('ack', {
      agentId: 'prio-durable-1',
      acks: [{ deliveryTag: first.deliveryTag, kind: 0, reason: '' }],
    });
    expect(acked.outcomes[0].result).toBe('unknown');
    // Three ack timeouts later nothing came back.
    const more = await nextItem(inbox, 1500).catch(() => 'nothing');
    expect(more).toBe('nothing');
  });

  test('a message nacked past durable.maxAttempts is dead-lettered to _DLQ with its reason', async () => {
    const receiver = open();
    await receiver.register({ service: 'prio-nack', version: '1.0.0', agentId: 'prio-nack-1' });
    const inbox = await receiver.subscribe();
    const watcher = open();
    const dlq = await watcher.subscribe('_DLQ');
    await open().send({ agentId: 'prio-nack-1', payload: 'poison', durable: true, id: 'poison-1' });
    for (let attempt = 1; attempt <= 3; attempt++) {
      const delivery = await nextItem(inbox, 10_000, `attempt ${attempt}`);
      expect(delivery.attempt).toBe(attempt);
      await delivery.nack('cannot parse');
    }
    const dead = await nextItem(dlq, 10_000, 'the dead letter');
    expect(dead.text()).toBe('poison');
    expect(dead.message.headers).toMatchObject({
      'x-dead-letter-reason': 'nack: cannot parse',
      'x-dead-letter-attempts': '3',
      'x-original-id': 'poison-1',
    });
  });

  test('durable messages for an agent whose session is gone wait for it and arrive when it reconnects', async () => {
    const first = open();
    await first.register({ service: 'prio-offline', version: '1.0.0', agentId: 'prio-offline-1' });
    await first.close({ deregister: false });
    const sent = await open().send({ agentId: 'prio-offline-1', payload: 'while away', durable: true });
    expect(sent.receivers).toBe(0);
    const again = open();
    await again.register({ service: 'prio-offline', version: '1.0.0', agentId: 'prio-offline-1' });
    const delivery = await nextItem(await again.subscribe(), 10_000, 'the parked message');
    expect(delivery.text()).toBe('while away');
    await delivery.ack();
  });

  test('at a slow subscriber a high-priority message overtakes the queued bulk, and bulk is shed first', async () => {
    const reader = open({ maxBuffered: 1 });
    const feed: Subscription<AgentDelivery> = await reader.subscribe('feed.>');
    const publisher = open();
    const bulk = Buffer.alloc(32 * 1024, 'b');
    // The reader takes nothing: its stream fills, then the router's lanes (bound 64).
    let sent = 0;
    await eventually(
      async () => {
        await publisher.publish('feed.bulk', bulk);
        sent++;
        const queued = await gateway.metrics.registry.getSingleMetricAsString('openclaw_router_priority_queued');
        return /lane="low"} 64\b/.test(queued);
      },
      60_000,
      'the low lane to fill',
    );
    // Past the bound, each new bulk message evicts the oldest queued one.
    for (let i = 0; i < 5; i++) await publisher.publish('feed.bulk', bulk);
    sent += 5;
    expect(limits.some((l) => l.limit === 'router.maxQueuedPerSession' && l.policy === 'evict-lowest')).toBe(true);

    await publisher.publish('feed.alert', 'fire');
    const texts: string[] = [];
    for (;;) {
      const delivery = await nextItem(feed, 2000).catch(() => undefined);
      if (!delivery) break;
      texts.push(delivery.topic === 'feed.alert' ? delivery.text() : 'bulk');
    }
    const alertAt = texts.indexOf('fire');
    expect(alertAt).toBeGreaterThanOrEqual(0);
    // Bulk was shed (some of the `sent` never arrived) and the alert came before the queued backlog.
    expect(texts.length).toBeLessThan(sent + 1);
    expect(texts.length - 1 - alertAt).toBeGreaterThanOrEqual(60);
  }, 90_000);

  test('a bad priority header is refused with the field to fix', async () => {
    const publisher = open();
    const error = (await publisher
      .publish('orders.x', 'x', { headers: { 'x-priority': 'urgent' } })
      .catch((e: unknown) => e)) as GatewayClientError;
    expect(error.code).toBe('GW_INVALID_ARGUMENT');
    expect(error.message).toContain('message.headers.x-priority');
  });

  test('the router’s metrics count messages per lane', async () => {
    const text = await gateway.metrics.registry.getSingleMetricAsString('openclaw_router_priority_messages_total');
    expect(text).toMatch(/lane="high",result="accepted"} [1-9]/);
    expect(text).toMatch(/lane="low",result="accepted"} [1-9]/);
    expect(text).toMatch(/lane="low",result="dropped"} [1-9]/);
  });

  test('malformed options are reported against the package’s own schema', async () => {
    const other = projectWithPackage(PACKAGE, 'router-priority');
    try {
      const error = await startGateway({
        cwd: other.dir,
        logLevel: 'silent',
        config: {
          plugins: [
            'registry-memory',
            'auth-standard',
            { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }] } },
            routerEntry({ lanes: [{ pattern: 'a.>', priority: 'urgent' }] }),
          ],
        },
      }).catch((e: unknown) => e as { code: string; message: string });
      expect(error).toMatchObject({ code: 'GW_CONFIG_INVALID' });
      expect((error as { message: string }).message).toContain('/plugins/3/options/lanes/0/priority');
    } finally {
      other.remove();
    }
  });
});
