/**
 * Cross-gateway benchmark: two gateway processes (test/fixtures/cluster-gateway.ts) on one NATS
 * prefix; a sender agent on gateway A and a receiver agent on gateway B (SDK over gRPC, in this
 * process). Every message crosses A → NATS → B (`same-gateway-p2p` sends at B, for comparison). Prints one JSON line per scenario:
 * `{"scenario","msgsPerSec","p50Ms","p99Ms","messages"}` (latency = send to receipt, from a
 * timestamp in the payload).
 *
 *     npx tsx bench/cluster.ts [--messages 5000] [--window 64] [--nats nats://127.0.0.1:4222] [--scenario cluster-p2p]
 *
 * NATS: `--nats`, else NATS_URL, else 127.0.0.1:4222. Streams and buckets of the run's prefix are
 * deleted afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect as natsConnect } from 'nats';
import { connect, type Agent, type AgentDelivery, type Subscription } from '../sdk';

interface Result {
  scenario: string;
  msgsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  messages: number;
}

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1] : fallback;
}

const MESSAGES = Number(argument('messages', '5000'));
const WINDOW = Number(argument('window', '64'));
const NATS_URL = argument('nats', process.env.NATS_URL ?? 'nats://127.0.0.1:4222');
const ONLY = argument('scenario', '');
const SCRIPT = path.resolve(__dirname, '../test/fixtures/cluster-gateway.ts');

async function startGatewayProcess(prefix: string, name: string, dataDir: string): Promise<{ child: ChildProcess; address: string }> {
  const settings = { natsUrl: NATS_URL, prefix, gatewayId: `${prefix}-${name}`, dataDir: path.join(dataDir, name), logLevel: 'error' };
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', SCRIPT, JSON.stringify(settings)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const address = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /READY (\S+)/.exec(seen);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`gateway ${name} exited (${code}) before it was ready`)));
  });
  return { child, address };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Sends `MESSAGES` with at most `WINDOW` unreceived at once; measures send → receipt. */
async function run(
  scenario: string,
  send: (payload: string) => Promise<unknown>,
  deliveries: Subscription<AgentDelivery>,
  ack: boolean,
): Promise<Result> {
  const latencies = new Float64Array(MESSAGES);
  let received = 0;
  let sent = 0;
  let release: (() => void) | undefined;
  const receiving = (async () => {
    while (received < MESSAGES) {
      const next = await deliveries.next();
      if (next.done) throw new Error('the receiver stream ended');
      const delivery = next.value;
      const sentAt = Number(delivery.text());
      if (!Number.isFinite(sentAt)) continue;
      latencies[received++] = performance.now() - sentAt;
      if (ack) delivery.ack().catch(() => undefined);
      release?.();
    }
  })();
  const started = performance.now();
  while (sent < MESSAGES) {
    if (sent - received >= WINDOW) {
      await new Promise<void>((resolve) => (release = resolve));
      release = undefined;
      continue;
    }
    sent++;
    void send(String(performance.now())).catch((error: unknown) => {
      process.stderr.write(`send failed: ${String(error)}\n`);
    });
    // Let the event loop breathe so receipts are recorded while sending.
    if (sent % WINDOW === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await receiving;
  const seconds = (performance.now() - started) / 1000;
  latencies.sort();
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    scenario,
    msgsPerSec: Math.round(MESSAGES / seconds),
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    messages: MESSAGES,
  };
}

async function main(): Promise<void> {
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'ocgw-bench-cluster-'));
  const gateways = await Promise.all([startGatewayProcess(prefix, 'a', dataDir), startGatewayProcess(prefix, 'b', dataDir)]);
  const [a, b] = gateways;
  const agents: Agent[] = [];
  try {
    const receiver = connect(b.address);
    const sender = connect(a.address);
    const listener = connect(b.address);
    agents.push(receiver, sender, listener);
    const { agentId } = await receiver.register({ agentId: 'bench-receiver', service: 'bench', version: '1.0.0' });
    const inbox = await receiver.subscribe();
    const topic = await listener.subscribe('bench.>');
    // Wait until gateway A sees the receiver and B's topic interest.
    for (let i = 0; i < 200 && (await sender.discover({ service: 'bench' })).length === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 25));
    for (let i = 0; i < 200 && (await sender.publish('bench.warmup', 'warmup')).receivers === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 25));

    const local = connect(b.address);
    agents.push(local);
    const scenarios: Array<[string, () => Promise<Result>]> = [
      // Same path through NATS, but sender and receiver on one gateway: the cross-gateway cost is the difference.
      ['same-gateway-p2p', () => run('same-gateway-p2p', (payload) => local.send({ agentId, payload }), inbox, false)],
      ['cluster-p2p', () => run('cluster-p2p', (payload) => sender.send({ agentId, payload }), inbox, false)],
      ['cluster-topic', () => run('cluster-topic', (payload) => sender.publish('bench.ticks', payload), topic, false)],
      ['cluster-durable', () => run('cluster-durable', (payload) => sender.send({ agentId, payload, durable: true }), inbox, true)],
    ];
    for (const [name, scenario] of scenarios) {
      if (ONLY && ONLY !== name) continue;
      process.stdout.write(`${JSON.stringify(await scenario())}\n`);
    }
  } finally {
    await Promise.all(agents.map((agent) => agent.close({ deregister: false }).catch(() => undefined)));
    for (const gateway of gateways) gateway.child.kill('SIGTERM');
    await Promise.all(
      gateways.map(
        (gateway) => new Promise((resolve) => (gateway.child.exitCode !== null ? resolve(null) : gateway.child.once('exit', resolve))),
      ),
    );
    const nc = await natsConnect({ servers: NATS_URL });
    const jsm = await nc.jetstreamManager();
    for await (const name of jsm.streams.names()) if (name.includes(prefix)) await jsm.streams.delete(name).catch(() => undefined);
    await nc.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`bench/cluster failed: ${String(error)}\n`);
  process.exit(1);
});
