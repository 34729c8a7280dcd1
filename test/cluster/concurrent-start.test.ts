/**
 * Three gateway processes started at the same moment on a fresh three-node NATS JetStream cluster
 * (what systemd or Kubernetes do): all of them must come up, although they race to create the same
 * streams, KV bucket and consumers while the cluster is still electing its leaders. And when
 * JetStream never becomes usable, the gateway gives up within its `jetstreamSetup.timeoutMs` with
 * an error that says what happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { connect, type Agent, type AgentDelivery, type Subscription } from '../../sdk';
import { collect, waitForOutput } from '../helpers/cli';
import { eventually, nextDelivery } from './helpers';
import { startNatsCluster, type NatsCluster } from './nats-cluster';

const SCRIPT = path.resolve(__dirname, '../fixtures/cluster-gateway.ts');
// Private ports of this test file: clients 24800-24802, routes 24803-24805.
const BASE_PORT = 24800;
const ROUNDS = 3;

const next = (subscription: Subscription<AgentDelivery>, timeoutMs = 30_000) => nextDelivery(subscription, timeoutMs);

describe('gateways starting together on a fresh NATS cluster', () => {
  let cluster: NatsCluster | undefined;
  let dataDir: string;
  const children: ChildProcess[] = [];
  const agents: Agent[] = [];

  function spawnGateway(settings: Record<string, unknown>): ChildProcess {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', SCRIPT, JSON.stringify(settings)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    return child;
  }

  async function stopAll(): Promise<void> {
    await Promise.all(agents.splice(0).map((handle) => handle.close({ deregister: false }).catch(() => undefined)));
    await Promise.all(
      children.splice(0).map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    await cluster?.stop();
    cluster = undefined;
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'ocgw-concurrent-'));
  });

  afterEach(stopAll, 60_000);

  afterAll(async () => {
    await stopAll();
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it(`all three reach ready and carry a durable message, ${ROUNDS} rounds on a fresh cluster each`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      cluster = await startNatsCluster(BASE_PORT);
      const prefix = `cs${randomBytes(4).toString('hex')}`;
      const replicated = { replicas: 3 };
      const launched = ['a', 'b', 'c'].map((name) =>
        spawnGateway({
          natsUrl: cluster!.urls[0],
          natsUrls: cluster!.urls,
          prefix,
          gatewayId: `${prefix}-${name}`,
          dataDir: path.join(dataDir, `${round}-${name}`),
          registry: replicated,
          router: { durable: replicated },
          logLevel: 'error',
        }),
      );
      // All three at the same moment; each must print READY (a failed start exits and rejects).
      const outputs = await Promise.all(launched.map((child) => waitForOutput(child, /READY (\S+) (\S+)/, 120_000)));
      const [a, , c] = outputs.map((output) => /READY (\S+) (\S+)/.exec(output)![1]);

      const receiver = connect([c]);
      agents.push(receiver);
      const { agentId } = await receiver.register({ agentId: `${prefix}-receiver`, service: `${prefix}-svc`, version: '1.0.0' });
      const inbox = await receiver.subscribe();
      const sender = connect([a]);
      agents.push(sender);
      await eventually(async () => (await sender.discover({ service: `${prefix}-svc` })).length === 1, 30_000, 'receiver visible from a');
      const outcome = await sender.send({ agentId, payload: `durable ${round}`, durable: true });
      expect(outcome.stored).toBe(true);
      const delivery = await next(inbox);
      expect(delivery.text()).toBe(`durable ${round}`);
      await delivery.ack();
      await stopAll();
    }
  }, 600_000);

  it('with a JetStream that never comes, fails within jetstreamSetup.timeoutMs saying its NATS server has JetStream disabled', async () => {
    cluster = await startNatsCluster(BASE_PORT, { jetstream: false });
    const setup = { jetstreamSetup: { timeoutMs: 3000 } };
    const child = spawnGateway({
      natsUrl: cluster.urls[0],
      prefix: 'nojs',
      dataDir: path.join(dataDir, 'nojs'),
      registry: setup,
      router: setup,
      logLevel: 'error',
    });
    const result = await collect(child);
    expect(result.code).not.toBe(0);
    expect(result.stdout).not.toContain('READY');
    const output = result.stderr + result.stdout;
    expect(output).toMatch(
      /JetStream: open KV bucket "nojs_registry" failed \d+ time\(s\) over [\d.]+ s \(jetstreamSetup.timeoutMs 3000\)/,
    );
    expect(output).toMatch(/the NATS server this gateway is connected to \(n1\) has JetStream disabled/);
    expect(output).not.toContain('is JetStream enabled?');
  }, 120_000);

  it('with one node of three up (no JetStream leader possible), says the cluster has no leader yet', async () => {
    cluster = await startNatsCluster(BASE_PORT, { start: 1 });
    const setup = { jetstreamSetup: { timeoutMs: 3000 } };
    const child = spawnGateway({
      natsUrl: cluster.urls[0],
      prefix: 'noleader',
      dataDir: path.join(dataDir, 'noleader'),
      registry: setup,
      router: setup,
      logLevel: 'error',
    });
    const result = await collect(child);
    expect(result.code).not.toBe(0);
    const output = result.stderr + result.stdout;
    expect(output).toMatch(/JetStream: open KV bucket "noleader_registry" failed \d+ time\(s\) over/);
    expect(output).toMatch(/no leader yet|still electing its meta leader/);
  }, 120_000);
});
