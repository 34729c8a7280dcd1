/**
 * A rolling upgrade of an agent with 2 replicas while a publisher sends durable messages to its
 * service over gRPC: the new version runs, the old instances are gone, and every message was
 * received and acked (none lost, none dead-lettered, none left pending).
 */
import { credentials } from '@grpc/grpc-js';
import { GatewayServiceClient, Message } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { natsEnv, type NatsEnv } from '../cluster/nats-env';
import { unary } from '../transport/grpc-call';
import {
  FIXTURE_AGENT,
  LogLines,
  alive,
  fixtureAgent,
  routable,
  sleep,
  startSupervised,
  waitUntil,
  type SupervisedGateway,
} from './harness';

describe('supervisor rolling upgrade', () => {
  let gw: SupervisedGateway;
  let client: GatewayServiceClient;

  afterEach(async () => {
    client?.close();
    await gw?.stop();
  });

  /** Durable messages stored and not yet acked, read as an operator would (the metric). */
  async function durablePending(): Promise<number> {
    const text = await gw.gateway.metrics.registry.getSingleMetricAsString('openclaw_router_durable_pending');
    return Number(/openclaw_router_durable_pending (\d+)/.exec(text)![1]);
  }

  /** Waits until `pending()` reads 0. */
  async function nothingPending(pending: () => Promise<number>, timeoutMs: number): Promise<void> {
    const last = { value: -1 };
    await waitUntil(
      () => {
        void pending().then((n) => (last.value = n));
        return last.value === 0;
      },
      'nothing left pending',
      timeoutMs,
    );
  }

  /** Publishes durable messages to service `up` until `upgrade` resolves (and at least 20). */
  async function publishDuring(upgrade: () => Promise<void>): Promise<string[]> {
    client = new GatewayServiceClient(gw.address, credentials.createInsecure());
    const sent: string[] = [];
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; publishing || i < 20; i++) {
        const id = `m-${i}`;
        const result = await unary(
          client,
          'sendMessage',
          Message.fromPartial({ id, service: 'up', durable: true, payload: Buffer.from(String(i)) }),
        );
        expect(result.errorCode).toBe(0);
        sent.push(id);
        await sleep(5);
      }
    })();
    await sleep(200);
    await upgrade();
    publishing = false;
    await publisher;
    return sent;
  }

  /** Message ids each agent printed as received. */
  function receivedBy(logs: LogLines, agentIds: readonly string[]): Set<string> {
    const ids = new Set<string>();
    for (const line of logs.lines) {
      const msg = String(line.msg);
      if (msg.startsWith('received ') && agentIds.includes(String(line.agentId))) ids.add(msg.slice('received '.length));
    }
    return ids;
  }

  /** Service `up` with 2 replicas of the fixture agent, both routable; counts dead letters. */
  async function startReplicas(behaviour: string, nats?: { url: string; prefix: string }) {
    const logs = new LogLines();
    gw = await startSupervised({
      logger: logs.logger,
      ...(nats ? { nats } : {}),
      agents: [fixtureAgent('up', behaviour, { replicas: 2 })],
    });
    const deadLetters = { count: 0 };
    gw.gateway.hooks.messageDeadLettered.tap('test', () => deadLetters.count++);
    await waitUntil(() => routable(gw.registry, 'up').length === 2, 'both replicas routable');
    return { logs, deadLetters };
  }

  it('upgrades 2 replicas one by one without losing a durable message', async () => {
    const { logs, deadLetters } = await startReplicas('well');
    const { registry, supervisor } = gw;
    const oldPids = supervisor.status('up').map((status) => status.pid!);

    const sent = await publishDuring(() => supervisor.upgrade('up', { version: '2.0.0' }));

    const status = supervisor.status('up');
    expect(status.map((s) => [s.agentId, s.version, s.state])).toEqual([
      ['up-3', '2.0.0', 'running'],
      ['up-4', '2.0.0', 'running'],
    ]);
    expect(routable(registry, 'up').map((agent) => agent.version)).toEqual(['2.0.0', '2.0.0']);
    for (const pid of oldPids) expect(alive(pid)).toBe(false);
    expect(registry.get('up-1')).toBeUndefined();
    expect(registry.get('up-2')).toBeUndefined();
    // The new instance ran before the old one left routing.
    const states = gw.events.events.filter((e) => e.kind === 'state');
    const newRunning = states.findIndex((e) => e.agentId === 'up-3' && e.to === 'running');
    const oldRetired = states.findIndex((e) => e.agentId === 'up-1' && e.to === 'upgrade');
    expect(newRunning).toBeGreaterThanOrEqual(0);
    expect(newRunning).toBeLessThan(oldRetired);

    const all = ['up-1', 'up-2', 'up-3', 'up-4'];
    await waitUntil(() => sent.every((id) => receivedBy(logs, all).has(id)), 'every message received', 15_000);
    // Received is not enough: each one was acked by an instance that processed it.
    await nothingPending(durablePending, 15_000);
    expect(sent.length).toBeGreaterThan(20);
    expect(deadLetters.count).toBe(0);
  });

  it('messages the old version took but never acked are processed by the new version', async () => {
    // The worst case of an old instance stopped between receiving and acking: it never acks.
    const { logs, deadLetters } = await startReplicas('no-ack');
    const sent = await publishDuring(() => gw.supervisor.upgrade('up', { version: '2.0.0', args: [FIXTURE_AGENT, '--behaviour=well'] }));
    expect(receivedBy(logs, ['up-1', 'up-2']).size).toBeGreaterThan(0);

    // The router's ack timeout (30 s by default) is far away: these arrive because the old
    // instances' inboxes were handed to the service's new instances when they stopped.
    await waitUntil(
      () => sent.every((id) => receivedBy(logs, ['up-3', 'up-4']).has(id)),
      'every message received by the new version',
      10_000,
    );
    await nothingPending(durablePending, 10_000);
    expect(deadLetters.count).toBe(0);
  });

  describe('with registry-nats and router-nats', () => {
    let nats: NatsEnv;
    beforeAll(async () => {
      nats = await natsEnv();
    });
    afterAll(async () => {
      await nats?.close();
    });

    it('messages the old version took but never acked are processed by the new version', async () => {
      const { logs, deadLetters } = await startReplicas('no-ack', { url: nats.url, prefix: nats.prefix });
      const sent = await publishDuring(() => gw.supervisor.upgrade('up', { version: '2.0.0', args: [FIXTURE_AGENT, '--behaviour=well'] }));
      expect(receivedBy(logs, ['up-1', 'up-2']).size).toBeGreaterThan(0);
      await waitUntil(
        () => sent.every((id) => receivedBy(logs, ['up-3', 'up-4']).has(id)),
        'every message received by the new version',
        10_000,
      );
      // Nothing left in the JetStream inbox stream: every message was acked (work queue).
      const jsm = await nats.nc.jetstreamManager();
      await nothingPending(async () => (await jsm.streams.info(`${nats.prefix}_inbox`)).state.messages, 10_000);
      expect(deadLetters.count).toBe(0);
    });
  });
});
