/**
 * Known agent ids (durable messages to an offline agent wait for it only when the id has
 * registered here) are written to the store in coalesced batches, not one lmdb transaction per
 * registration, and still survive a restart:
 * - 1,500 registrations over real gRPC are written in a handful of transactions (metrics), none
 *   left pending once the flush window passed;
 * - ids registered just before a graceful stop are written by the stop (no flush window lost);
 * - after `kill -9` of a real gateway process, every id registered before the last flush window
 *   still takes durable messages (stored), and an id that never registered is still refused.
 */
import { credentials } from '@grpc/grpc-js';
import { AgentInfo, GatewayServiceClient, Message } from '../../proto/gen/openclaw/gateway/v1/gateway';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { unary } from '../transport/grpc-call';
import { GatewayProcess, grpcClient, sleep } from './gateway-process';
import { tempDataDir } from './helpers';

/** From this helper's fixed port range. */
const PORT = 25_431;

const info = (agentId: string) =>
  AgentInfo.fromPartial({ agentId, service: 'inbox-owner', version: '1.0.0', capabilities: [], leaseTtlMs: 0 });
const durableTo = (agentId: string, id: string) =>
  Message.fromPartial({ id, agentId, durable: true, payload: Buffer.from(id), ttlMs: 60_000 });

async function registerAll(client: GatewayServiceClient, ids: readonly string[]): Promise<void> {
  // 50 in flight: a burst like agents reconnecting after a gateway restart.
  for (let i = 0; i < ids.length; i += 50) await Promise.all(ids.slice(i, i + 50).map((id) => unary(client, 'registerAgent', info(id))));
}

async function metricValues(gw: TestGateway, name: string): Promise<number[]> {
  const text = await gw.gateway.metrics.registry.getSingleMetricAsString(name);
  return text
    .split('\n')
    .filter((line) => line.startsWith(name))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
}

describe('router-embedded: known agent ids are persisted in coalesced batches', () => {
  let gw: TestGateway | undefined;
  let client: GatewayServiceClient | undefined;
  afterEach(async () => {
    client?.close();
    await gw?.stop();
    gw = undefined;
  });

  test('1,500 registrations are written in a few transactions, and ids registered just before a stop survive it', async () => {
    const dataDir = tempDataDir('known-agents');
    const transport = { quotas: { agentsPerIdentity: 5_000 } };
    gw = await startTestGateway({ dataDir, transport });
    client = new GatewayServiceClient(gw.address, credentials.createInsecure());
    const ids = Array.from({ length: 1_500 }, (_, i) => `worker-${i}`);
    await registerAll(client, ids);
    await sleep(500);
    const flushes = (await metricValues(gw, 'openclaw_router_known_agents_flushes_total')).reduce((a, b) => a + b, 0);
    console.log(`known-agent flushes for 1,500 registrations: ${flushes}`);
    expect(flushes).toBeGreaterThanOrEqual(2); // at least one for the full batch of 1,024, one by the timer
    expect(flushes).toBeLessThan(150);
    expect(await metricValues(gw, 'openclaw_router_known_agents_pending_writes')).toEqual([0]);

    // Registered and stopped at once, inside the flush window: the stop writes them.
    await registerAll(client, ['late-1', 'late-2']);
    client.close();
    await gw.stop();
    gw = await startTestGateway({ dataDir, transport });
    client = new GatewayServiceClient(gw.address, credentials.createInsecure());
    for (const id of ['worker-0', 'worker-1499', 'late-1', 'late-2']) {
      expect(await unary(client, 'sendMessage', durableTo(id, `to-${id}`))).toMatchObject({ stored: true });
    }
    await expect(unary(client, 'sendMessage', durableTo('never-registered', 'lost'))).rejects.toMatchObject({
      details: expect.stringContaining('never-registered'),
    });
  }, 90_000);

  test('after kill -9, ids registered before the last flush window still take durable messages', async () => {
    const dataDir = tempDataDir('known-agents-kill');
    const first = new GatewayProcess(dataDir, PORT, {});
    await first.start();
    let killed: GatewayProcess | undefined = first;
    try {
      const before = grpcClient(first.address);
      const ids = Array.from({ length: 900 }, (_, i) => `crash-${i}`);
      await registerAll(before, ids);
      before.close();
      // Past the 100 ms flush window, with slack for a loaded machine.
      await sleep(1_000);
      await first.kill('SIGKILL');
      killed = undefined;

      const second = new GatewayProcess(dataDir, PORT, {});
      await second.start();
      killed = second;
      const after = grpcClient(second.address);
      try {
        // Nobody has registered since the restart: only the persisted ids make these wait.
        for (let i = 0; i < ids.length; i += 50) {
          const answers = await Promise.all(ids.slice(i, i + 50).map((id) => unary(after, 'sendMessage', durableTo(id, `m-${id}`))));
          for (const answer of answers) expect(answer).toMatchObject({ stored: true });
        }
        await expect(unary(after, 'sendMessage', durableTo('crash-unknown', 'lost'))).rejects.toMatchObject({
          details: expect.stringContaining('crash-unknown'),
        });
      } finally {
        after.close();
      }
    } finally {
      await killed?.kill('SIGKILL');
    }
  }, 120_000);
});
