/**
 * The registry view through NATS node deaths (issue #19 point 3), on a private three-node NATS
 * cluster with the registry bucket replicated three times. Gateway A is connected to the node
 * that leads the bucket's stream, gateway C to another node. SIGKILL of A's node (the stream
 * leader) makes A's connection fail over and the stream elect a new leader; later the new leader
 * is killed too. Throughout, A must keep answering for an agent on C that never left (no NOT_FOUND,
 * however short), and an agent that registers on C after each kill must show up on A within a
 * few seconds (the watch resumes by itself), with the stale period visible in A's metrics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect as connectAgent, type Agent } from '../../sdk';
import { waitForOutput } from '../helpers/cli';
import { connect, StorageType, type NatsConnection } from 'nats';
import type { AgentInfo, RegistryService, RouterService } from '../../kernel';
import { caller, message } from '../router/helpers';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { eventually } from './helpers';
import { startNatsCluster, type NatsCluster } from './nats-cluster';
import { natsServerBinary } from './nats-env';

const SCRIPT = path.resolve(__dirname, '../fixtures/cluster-gateway.ts');
// Private ports of this test file: clients 25100-25102, routes 25103-25105.
const BASE_PORT = 25100;
/** Generous for a loaded 2-core machine; the old watch stalled 10 s (two missed 5 s consumer heartbeats). */
const RESUME_DEADLINE_MS = 6000;

function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((row) => row.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.slice(name.length + 1));
}

function metricSum(text: string, name: string): number {
  return text
    .split('\n')
    .filter((row) => row.startsWith(`${name}{`))
    .reduce((sum, row) => sum + Number(row.slice(row.lastIndexOf(' ') + 1)), 0);
}

const maybe = natsServerBinary() ? describe : describe.skip;

const info = (agentId: string): AgentInfo => ({
  agentId,
  service: 'failover-svc',
  version: '1.0.0',
  tags: {},
  capabilities: [],
  leaseTtlMs: 120_000,
});

maybe('registry view while NATS nodes die', () => {
  let cluster: NatsCluster;
  let admin: NatsConnection;
  const gateways: TestGateway[] = [];
  const children: ChildProcess[] = [];
  const agents: Agent[] = [];
  let dataDir: string | undefined;

  beforeAll(async () => {
    cluster = await startNatsCluster(BASE_PORT);
    admin = await connect({ servers: cluster.urls, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'ocgw-failover-'));
  }, 60_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(agents.map((handle) => handle.close({ deregister: false }).catch(() => undefined)));
    await Promise.all(gateways.map((gw) => gw.stop().catch(() => undefined)));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    await admin?.close().catch(() => undefined);
    await cluster?.stop();
  }, 60_000);

  async function streamLeader(stream: string): Promise<number> {
    // No account-info round trip first: it times out while the cluster is electing.
    const jsm = await admin.jetstreamManager({ checkAPI: false });
    const leader = await eventually(
      async () => (await jsm.streams.info(stream).catch(() => undefined))?.cluster?.leader,
      30_000,
      `a leader for ${stream}`,
    );
    return cluster.nodes.findIndex((node) => node.name === leader);
  }

  /** Creates the prefix's registry bucket (replicas 3) and returns the index of the node leading it. */
  async function bucketLeader(prefix: string): Promise<number> {
    await eventually(
      () =>
        admin
          .jetstream()
          .views.kv(`${prefix}_registry`, { history: 1, replicas: 3, storage: StorageType.File })
          .then(
            () => true,
            () => false,
          ),
      60_000,
      'the registry bucket',
    );
    return streamLeader(`KV_${prefix}_registry`);
  }

  async function member(node: number, prefix: string): Promise<{ gw: TestGateway; registry: RegistryService; router: RouterService }> {
    // One server given: the client learns the others from the cluster and fails over to them.
    const nats = { servers: [cluster.urls[node]], prefix, reconnect: { waitMs: 100, jitterMs: 50 } };
    const gw = await startTestGateway({
      plugins: {
        registry: { use: 'registry-nats', options: { ...nats, replicas: 3 } },
        router: { use: 'router-nats', options: { ...nats, durable: { replicas: 3 } } },
      },
    });
    gateways.push(gw);
    return { gw, registry: gw.gateway.service('registry')!, router: gw.gateway.service('router')! };
  }

  async function registerWhenPossible(registry: RegistryService, agentId: string): Promise<number> {
    // While the stream elects a leader the write is refused (GW_UNAVAILABLE); the agent retries.
    await eventually(
      () =>
        registry.register(info(agentId), {}).then(
          () => true,
          () => false,
        ),
      30_000,
      `registering ${agentId}`,
    );
    return Date.now();
  }

  it('keeps answering for an agent that did not leave, and shows new agents again within seconds', async () => {
    const prefix = `fo${randomBytes(4).toString('hex')}`;
    const stream = `KV_${prefix}_registry`;
    // Create the bucket first to learn which node leads it, and put A on that node.
    const leader = await bucketLeader(prefix);
    const other = (leader + 1) % 3;
    const a = await member(leader, prefix);
    const c = await member(other, prefix);
    await c.registry.register(info('steady'), {});
    await a.registry.register(info('steady-a'), {});
    await eventually(() => a.registry.get('steady'), 10_000, 'steady visible on A');
    await eventually(() => c.registry.get('steady-a'), 10_000, 'steady-a visible on C');

    // Sample both views every few ms from now on: neither agent ever leaves.
    const visible = (registry: RegistryService, agentId: string) =>
      registry.get(agentId) !== undefined && registry.discover({ service: 'failover-svc' }).some((r) => r.agentId === agentId);
    const misses = { onA: 0, onC: 0 };
    let samples = 0;
    const staleReasonsOnA = new Set<string>();
    const probe = setInterval(() => {
      samples++;
      for (const reason of a.registry.viewStatus?.().reasons ?? []) staleReasonsOnA.add(reason);
      if (!visible(a.registry, 'steady')) misses.onA++;
      if (!visible(c.registry, 'steady-a')) misses.onC++;
    }, 5);
    // And send durable messages from A to "steady" all along: refused while JetStream elects a
    // leader (GW_UNAVAILABLE) is honest; GW_NOT_FOUND would be a lie.
    const outcomes = new Map<string, number>();
    let sending = true;
    const sender = (async () => {
      for (let i = 0; sending; i++) {
        const code = await a.router.send(message({ agentId: 'steady', durable: true, text: `m${i}` }), caller).then(
          () => 'stored',
          (error: { code?: string }) => error.code ?? 'error',
        );
        outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      // Round 1: A's node, the stream leader, dies.
      await cluster.kill(leader);
      const registered1 = await registerWhenPossible(c.registry, 'newcomer-1');
      await eventually(() => a.registry.get('newcomer-1'), RESUME_DEADLINE_MS, 'newcomer-1 visible on A after the leader died');
      console.log(`round 1: newcomer visible on A ${Date.now() - registered1} ms after it registered`);

      // Round 2: the dead node comes back, then the new stream leader dies.
      await cluster.restart(leader);
      const secondLeader = await streamLeader(stream);
      await cluster.kill(secondLeader);
      const registered2 = await registerWhenPossible(c.registry, 'newcomer-2');
      await eventually(() => a.registry.get('newcomer-2'), RESUME_DEADLINE_MS, 'newcomer-2 visible on A after the second leader died');
      console.log(`round 2: killed ${cluster.nodes[secondLeader].name}; newcomer visible on A ${Date.now() - registered2} ms after`);
      await cluster.restart(secondLeader);
    } finally {
      clearInterval(probe);
      sending = false;
      await Promise.race([sender, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    }
    console.log(`durable sends A→steady during the kills: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    expect(outcomes.get('GW_NOT_FOUND')).toBeUndefined();
    // How many are stored is router-nats's business (its durable path may stall while JetStream elects).
    expect([...outcomes.values()].reduce((sum, count) => sum + count, 0)).toBeGreaterThan(0);
    console.log(`of ${samples} samples, steady missing on A in ${misses.onA}, steady-a missing on C in ${misses.onC}`);
    expect(misses).toEqual({ onA: 0, onC: 0 });
    // Meanwhile A said its view was stale, and why.
    console.log(`A's view was stale for: ${[...staleReasonsOnA].join(', ')}`);
    expect([...staleReasonsOnA]).toEqual(expect.arrayContaining(['nats-disconnected', 'watch-resuming']));
    expect(a.registry.get('newcomer-1')?.gatewayId).toBe(c.gw.gateway.info.id);
    // The failover was visible to an operator: the view went stale.
    const metrics = await a.gw.gateway.metrics.registry.metrics();
    expect(metricValue(metrics, 'openclaw_registry_nats_view_stale_total')).toBeGreaterThan(0);
    // And once the cluster settled, it is current again: the watch was recreated (the newcomers may
    // have been seen before that, read directly while JetStream could not make a consumer yet).
    await eventually(
      async () => metricValue(await a.gw.gateway.metrics.registry.metrics(), 'openclaw_registry_nats_view_stale_seconds') === 0,
      30_000,
      'the view on A to be current again',
    );
    expect(a.registry.viewStatus?.()).toEqual({ stale: false, staleForMs: 0, reasons: [] });
    expect(metricSum(await a.gw.gateway.metrics.registry.metrics(), 'openclaw_registry_nats_watch_restarts_total')).toBeGreaterThan(0);
  }, 180_000);

  it('still drops the agents of a gateway killed -9 while NATS fails over, once our link is back', async () => {
    const prefix = `fk${randomBytes(4).toString('hex')}`;
    const leader = await bucketLeader(prefix);
    const other = (leader + 1) % 3;
    const a = await member(leader, prefix);
    const c = await member(other, prefix);
    // B: a gateway process on the third node, with an agent connected over gRPC.
    const child = spawn(
      process.execPath,
      [
        '--require',
        'tsx/cjs',
        SCRIPT,
        JSON.stringify({
          natsUrl: cluster.urls[(leader + 2) % 3],
          prefix,
          gatewayId: `${prefix}-b`,
          dataDir: path.join(dataDir!, prefix),
          registry: { replicas: 3 },
          router: { durable: { replicas: 3 } },
          logLevel: 'error',
        }),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    const [, address] = /READY (\S+) (\S+)/.exec(await waitForOutput(child, /READY (\S+) (\S+)/, 60_000))!;
    const onB = connectAgent([address], { backoff: { initialMs: 50, maxMs: 300 } });
    agents.push(onB);
    await onB.register({ agentId: 'on-b', service: 'failover-svc', version: '1.0.0' });
    await c.registry.register(info('on-c'), {});
    await eventually(() => a.registry.get('on-b') && a.registry.get('on-c'), 10_000, 'both agents visible on A');
    const left: string[] = [];
    a.gw.gateway.hooks.agentDeregistered.tap('test', (agent, reason) => left.push(`${agent.agentId}:${reason}`));

    // A's node and gateway B die at the same moment.
    const killedAt = Date.now();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await Promise.all([cluster.kill(leader), exited]);
    await eventually(() => a.registry.get('on-b') === undefined, 15_000, "B's agent to leave A's view");
    console.log(`B's agent left A's view ${Date.now() - killedAt} ms after the kills`);
    expect(left).toEqual(['on-b:gateway-lost']);
    expect(a.registry.get('on-c')).toBeDefined();
    await cluster.restart(leader);
  }, 180_000);
});
