/**
 * Remote leases are not mistaken for dead agents (issue #19 point 4). Gateways A and C, each
 * with registry-nats and monitor-prometheus, on different nodes of a private three-node NATS
 * cluster. An agent connected to C renews its lease at C every third of its TTL; renewals are not
 * written to KV, so A's copy of its record keeps the expiry from registration. Over many lease
 * periods A must raise no missed-renewals anomaly for it (only the owner judges a lease), and an
 * agent on C that stops renewing must still be caught, by C, exactly once per cooldown.
 */
import { randomBytes } from 'node:crypto';
import type { AgentInfo, AnomalyEvent, RegistryService } from '../../kernel';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { eventually } from './helpers';
import { startNatsCluster, type NatsCluster } from './nats-cluster';
import { natsServerBinary } from './nats-env';

// Private ports of this test file: clients 25110-25112, routes 25113-25115.
const BASE_PORT = 25110;
const LEASE_MS = 300;
const LEASE_PERIODS = 12;

const maybe = natsServerBinary() ? describe : describe.skip;

const info = (agentId: string): AgentInfo => ({
  agentId,
  service: 'lease-svc',
  version: '1.0.0',
  tags: {},
  capabilities: [],
  leaseTtlMs: LEASE_MS,
});

maybe('leases of agents connected to another gateway', () => {
  let cluster: NatsCluster;
  const gateways: TestGateway[] = [];

  afterAll(async () => {
    await Promise.all(gateways.map((gw) => gw.stop().catch(() => undefined)));
    await cluster?.stop();
  }, 60_000);

  async function member(node: number, prefix: string): Promise<{ gw: TestGateway; registry: RegistryService; anomalies: AnomalyEvent[] }> {
    const gw = await startTestGateway({
      plugins: {
        registry: {
          use: 'registry-nats',
          options: {
            servers: [cluster.urls[node]],
            prefix,
            replicas: 3,
            minLeaseTtlMs: 100,
            // Lapsed agents stay (unhealthy) long enough for several renewal periods to be missed.
            leaseExpiry: { markUnhealthy: true, removeAfterMs: 60_000 },
          },
        },
      },
      extraPlugins: [
        {
          use: 'monitor-prometheus',
          options: {
            port: 0,
            anomaly: {
              evaluateIntervalMs: 100,
              cooldownMs: 60_000,
              rules: [{ type: 'missed-renewals', threshold: 2, windowMs: 60_000, action: 'restart' }],
            },
          },
        },
      ],
    });
    gateways.push(gw);
    const anomalies: AnomalyEvent[] = [];
    gw.gateway.hooks.anomaly.tap('test', (event) => anomalies.push(event));
    return { gw, registry: gw.gateway.service('registry')!, anomalies };
  }

  it('only the owning gateway judges a lease: no anomaly on A for a healthy agent on C, a silent one caught by C', async () => {
    cluster = await startNatsCluster(BASE_PORT);
    const prefix = `rl${randomBytes(4).toString('hex')}`;
    const c = await eventually(() => member(2, prefix).catch(() => undefined), 60_000, 'gateway C');
    const a = await member(0, prefix);

    await c.registry.register(info('healthy'), {});
    await c.registry.register(info('silent'), {});
    const renewals = setInterval(() => void c.registry.renew('healthy').catch(() => undefined), LEASE_MS / 3);
    try {
      await eventually(() => a.registry.get('healthy') && a.registry.get('silent'), 10_000, 'both agents visible on A');
      await new Promise((resolve) => setTimeout(resolve, LEASE_MS * LEASE_PERIODS));
      // The silent agent is caught where it is connected...
      await eventually(() => c.anomalies.some((e) => e.agentId === 'silent'), 10_000, 'the silent agent caught by C');
    } finally {
      clearInterval(renewals);
    }
    console.log(`anomalies on A: ${JSON.stringify(a.anomalies)}; on C: ${JSON.stringify(c.anomalies)}`);
    expect(c.anomalies).toEqual([expect.objectContaining({ rule: 'missed-renewals', agentId: 'silent', action: 'restart' })]);
    // ...and nowhere else: A neither mistakes the healthy one nor judges the silent one a second time.
    expect(a.anomalies).toEqual([]);
    // A still sees the healthy agent, and its true state, as the owner reports it.
    expect(a.registry.get('healthy')).toMatchObject({ gatewayId: c.gw.gateway.info.id, health: 'unknown' });
    expect(a.registry.get('silent')?.health).toBe('unhealthy');
  }, 120_000);
});
