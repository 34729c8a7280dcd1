/**
 * The bound on keeping a stale view: when NATS is gone altogether (here the one private server is
 * stopped) every gateway keeps its last view, marked stale, for `staleViewMaxMs`; only then do the
 * other gateways' agents leave it (`gateway-lost`), and they come back with the first heartbeat
 * once NATS is back.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { AgentInfo, RegistryService } from '../../kernel';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { eventually } from './helpers';
import { natsServerBinary, startPrivateServer, type PrivateNatsServer } from './nats-env';

const STALE_VIEW_MAX_MS = 3000;

const maybe = natsServerBinary() ? describe : describe.skip;

const info = (agentId: string): AgentInfo => ({
  agentId,
  service: 'stale-svc',
  version: '1.0.0',
  tags: {},
  capabilities: [],
  leaseTtlMs: 120_000,
});

maybe('registry view while NATS is away', () => {
  let server: PrivateNatsServer;
  const gateways: TestGateway[] = [];
  beforeAll(async () => {
    server = await startPrivateServer();
  });
  afterAll(async () => {
    await Promise.all(gateways.map((gw) => gw.stop().catch(() => undefined)));
    await server.stop();
    await rm(server.dir, { recursive: true, force: true });
  });

  async function member(prefix: string): Promise<{ gw: TestGateway; registry: RegistryService }> {
    const gw = await startTestGateway({
      plugins: {
        registry: {
          use: 'registry-nats',
          options: { servers: [server.url], prefix, staleViewMaxMs: STALE_VIEW_MAX_MS, reconnect: { waitMs: 100, jitterMs: 50 } },
        },
      },
    });
    gateways.push(gw);
    return { gw, registry: gw.gateway.service('registry')! };
  }

  it(`keeps the last view for staleViewMaxMs, then lets the others go until NATS is back`, async () => {
    const prefix = `sv${randomBytes(4).toString('hex')}`;
    const a = await member(prefix);
    const c = await member(prefix);
    await c.registry.register(info('on-c'), {});
    await eventually(() => a.registry.get('on-c'), 10_000, 'on-c visible on A');
    const left: string[] = [];
    a.gw.gateway.hooks.agentDeregistered.tap('test', (agent, reason) => left.push(`${agent.agentId}:${reason}`));

    const stoppedAt = Date.now();
    await server.stop();
    // Well past gatewayDeadAfterMs (750 ms), within staleViewMaxMs: still there.
    await new Promise((resolve) => setTimeout(resolve, STALE_VIEW_MAX_MS / 2));
    expect(a.registry.get('on-c')).toBeDefined();
    expect(a.registry.discover({ service: 'stale-svc' })).toHaveLength(1);

    await eventually(() => a.registry.get('on-c') === undefined, STALE_VIEW_MAX_MS + 10_000, 'on-c to leave after staleViewMaxMs');
    const goneAfter = Date.now() - stoppedAt;
    console.log(`on-c left A's view ${goneAfter} ms after NATS stopped (staleViewMaxMs ${STALE_VIEW_MAX_MS})`);
    expect(goneAfter).toBeGreaterThanOrEqual(STALE_VIEW_MAX_MS);
    expect(left).toEqual(['on-c:gateway-lost']);

    await server.restart();
    await eventually(() => a.registry.get('on-c'), 20_000, 'on-c back on A after NATS came back');
  }, 60_000);
});
