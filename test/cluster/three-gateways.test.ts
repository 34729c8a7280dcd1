/**
 * Three gateway PROCESSES on one NATS prefix, driven by real SDK agents over gRPC: point-to-point,
 * wildcard pub/sub, queue groups and request/reply across gateways; then SIGKILL of a gateway
 * holding an agent with durable messages pending: the registry drops its agents within ~1 s, the
 * agent re-homes to another gateway (the SDK is given a list) and no durable message is lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect, type Agent, type AgentDelivery } from '../../sdk';
import { waitForOutput } from '../helpers/cli';
import { eventually, nextDelivery } from './helpers';
import { natsEnv, type NatsEnv } from './nats-env';

const SCRIPT = path.resolve(__dirname, '../fixtures/cluster-gateway.ts');
const FAST_BACKOFF = { backoff: { initialMs: 50, maxMs: 300 } };

interface Member {
  child: ChildProcess;
  address: string;
  id: string;
}

const next = nextDelivery;

describe('three gateway processes on NATS', () => {
  let env: NatsEnv;
  let dataDir: string;
  const members: Member[] = [];
  const agents: Agent[] = [];

  async function spawnMember(name: string): Promise<Member> {
    const settings = {
      natsUrl: env.url,
      prefix: env.prefix,
      gatewayId: `${env.prefix}-${name}`,
      dataDir: path.join(dataDir, name),
      router: { durable: { ackTimeoutMs: 3000, backoffBaseMs: 20 } },
      logLevel: 'error',
    };
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', SCRIPT, JSON.stringify(settings)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = await waitForOutput(child, /READY (\S+) (\S+)/, 60_000);
    const [, address, id] = /READY (\S+) (\S+)/.exec(output)!;
    const member = { child, address: address, id: id };
    members.push(member);
    return member;
  }

  function agent(targets: string[]): Agent {
    const handle = connect(targets, FAST_BACKOFF);
    agents.push(handle);
    return handle;
  }

  let a: Member;
  let b: Member;
  let c: Member;

  beforeAll(async () => {
    env = await natsEnv();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'ocgw-cluster-'));
    [a, b, c] = await Promise.all([spawnMember('a'), spawnMember('b'), spawnMember('c')]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(agents.map((handle) => handle.close({ deregister: false }).catch(() => undefined)));
    for (const member of members) {
      if (member.child.exitCode === null && member.child.signalCode === null) {
        const exited = new Promise((resolve) => member.child.once('exit', resolve));
        member.child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
        if (member.child.exitCode === null) member.child.kill('SIGKILL');
      }
    }
    await env.close();
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('sends point-to-point and by service to an agent on another gateway', async () => {
    const worker = agent([a.address]);
    const { agentId } = await worker.register({ agentId: 'p2p-worker', service: 'echo', version: '1.0.0' });
    const inbox = await worker.subscribe();
    const sender = agent([b.address]);
    await eventually(async () => (await sender.discover({ service: 'echo' })).length === 1);
    await sender.send({ agentId, payload: 'hello from b' });
    expect((await next(inbox)).text()).toBe('hello from b');
    const viaC = agent([c.address]);
    await eventually(async () => (await viaC.discover({ service: 'echo' })).length === 1);
    await viaC.send({ service: 'echo', versionRange: '^1.0.0', payload: 'hello from c' });
    expect((await next(inbox)).text()).toBe('hello from c');
  }, 60_000);

  it('fans out topics with wildcards across gateways', async () => {
    const listener = agent([c.address]);
    const metrics = await listener.subscribe(['metrics.*.cpu', 'metrics.>']);
    const publisher = agent([a.address]);
    await eventually(async () => ((await publisher.publish('metrics.warmup.x', 'w')).receivers > 0 ? true : undefined));
    expect((await next(metrics)).text()).toBe('w');
    const outcome = await publisher.publish('metrics.host1.cpu', '42');
    expect(outcome.receivers).toBe(2);
    const got: AgentDelivery[] = [];
    while (got.length < 2) {
      const delivery = await next(metrics);
      if (delivery.text() !== 'w') got.push(delivery);
    }
    expect(got.map((d) => d.text())).toEqual(['42', '42']);
    expect(new Set(got.map((d) => d.topic))).toEqual(new Set(['metrics.host1.cpu']));
  }, 60_000);

  it('balances a queue group whose members sit on three gateways', async () => {
    const subscriptions = await Promise.all(
      [a, b, c].map((member) => agent([member.address]).subscribe({ topics: ['tasks.>'], queueGroup: 'crunchers' })),
    );
    const counts = [0, 0, 0];
    const seen = new Set<string>();
    let pumping = true;
    const pumps = subscriptions.map(async (subscription, index) => {
      while (pumping) {
        const delivery = await next(subscription, 60_000).catch(() => undefined);
        if (!delivery) return;
        if (delivery.text() === 'warm') continue;
        counts[index]++;
        seen.add(delivery.text());
      }
    });
    const publisher = agent([b.address]);
    await eventually(async () => ((await publisher.publish('tasks.warm', 'warm')).receivers === 1 ? true : undefined));
    for (let i = 0; i < 60; i++) await publisher.publish(`tasks.t${i}`, `t${i}`);
    await eventually(() => seen.size === 60, 20_000, 'all 60 tasks');
    pumping = false;
    for (const subscription of subscriptions) subscription.close();
    await Promise.all(pumps);
    expect(counts.reduce((sum, n) => sum + n, 0)).toBe(60);
    for (const count of counts) expect(count).toBeGreaterThan(0);
  }, 60_000);

  it('answers a request from another gateway', async () => {
    const server = agent([b.address]);
    await server.register({ agentId: 'adder', service: 'adder', version: '2.0.0' });
    const inbox = await server.subscribe();
    void (async () => {
      for await (const delivery of inbox) if (delivery.isRequest) await delivery.reply(String(eval(delivery.text())));
    })().catch(() => undefined);
    const client = agent([c.address]);
    await eventually(async () => (await client.discover({ service: 'adder' })).length === 1);
    const reply = await client.request('adder', '40+2', { timeoutMs: 10_000 });
    expect(Buffer.from(reply.payload).toString()).toBe('42');
  }, 60_000);

  it('survives SIGKILL of a gateway: agents gone from the registry within ~1 s, re-homed, no durable message lost', async () => {
    // The victim gateway: one agent that will fail over to gateway b.
    const victim = await spawnMember('victim');
    const worker = agent([victim.address, b.address]);
    await worker.register({ agentId: 'survivor', service: 'ledger', version: '1.0.0', leaseTtlMs: 30_000 });
    const inbox = await worker.subscribe();
    const bystander = agent([victim.address]);
    await bystander.register({ agentId: 'bystander', service: 'idle', version: '1.0.0' });
    const observer = agent([c.address]);
    await eventually(async () => (await observer.discover({ service: 'ledger' })).length === 1);

    const sender = agent([c.address]);
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) {
      const text = `entry-${i}`;
      const outcome = await sender.send({ agentId: 'survivor', payload: text, durable: true, id: `ledger-${env.prefix}-${i}` });
      expect(outcome.stored).toBe(true);
      sent.push(text);
    }
    // Ack the first five at the victim; the other fifteen stay pending there (delivered, unacked).
    const acked = new Set<string>();
    let victimRouter = '';
    for (let i = 0; i < 5; i++) {
      const delivery = await next(inbox);
      victimRouter = delivery.deliveryTag.split('.')[0]!;
      await delivery.ack();
      acked.add(delivery.text());
    }

    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    const goneAfterMs = await eventually(
      async () => ((await observer.discover({ service: 'idle' })).length === 0 ? Date.now() - killedAt : undefined),
      10_000,
      "the dead gateway's agents to leave the registry",
    );
    // 750 ms detection + polling; generous for a loaded machine.
    expect(goneAfterMs).toBeLessThan(2500);

    // The SDK fails over to b, registers there and reopens its inbox. Deliveries the victim made
    // cannot be acked any more (its router is gone): every unacked message must come again from b.
    const redelivered = new Set<string>();
    const deadline = Date.now() + 60_000;
    while (acked.size + redelivered.size < sent.length && Date.now() < deadline) {
      const delivery = await next(inbox, 30_000);
      if (delivery.deliveryTag.split('.')[0] === victimRouter) continue;
      expect(delivery.attempt).toBeGreaterThanOrEqual(1);
      await delivery.ack();
      if (!acked.has(delivery.text())) redelivered.add(delivery.text());
    }
    expect([...acked, ...redelivered].sort()).toEqual([...sent].sort());
    const record = (await observer.discover({ service: 'ledger' }))[0];
    expect(record?.gatewayId).toBe(b.id);
  }, 120_000);
});
