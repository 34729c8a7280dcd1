/**
 * registry-nats against a real NATS JetStream server: two gateways in this process share one view
 * of the agents; ownership moves with the agent; a stopped gateway's agents leave the view; bad
 * input and unreachable NATS fail with stable codes.
 */
import { startGateway, type AgentInfo, type LimitEvent, type RegistryService } from '../../index';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { natsEnv, type NatsEnv } from './nats-env';

const info = (agentId: string, service = 'planner', version = '1.0.0'): AgentInfo => ({
  agentId,
  service,
  version,
  tags: { zone: 'a' },
  capabilities: ['plan'],
  leaseTtlMs: 60_000,
});

async function eventually<T>(probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('registry-nats', () => {
  let env: NatsEnv;
  const gateways: TestGateway[] = [];
  beforeAll(async () => {
    env = await natsEnv();
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((gw) => gw.stop()));
  });
  afterAll(async () => {
    await env.close();
  });

  async function clusterGateway(options: Record<string, unknown> = {}): Promise<{ gw: TestGateway; registry: RegistryService }> {
    const gw = await startTestGateway({
      plugins: { registry: { use: 'registry-nats', options: { servers: [env.url], prefix: env.prefix, ...options } } },
    });
    gateways.push(gw);
    return { gw, registry: gw.gateway.service('registry')! };
  }

  it('shares registrations, discovery and removals across gateways', async () => {
    const a = await clusterGateway();
    const b = await clusterGateway();
    const { record } = await a.registry.register(info('shared-1', 'planner', '1.2.0'), {});
    expect(record.gatewayId).toBe(a.gw.gateway.info.id);
    const seen = await eventually(() => b.registry.get('shared-1'));
    expect(seen).toMatchObject({ service: 'planner', version: '1.2.0', gatewayId: a.gw.gateway.info.id, tags: { zone: 'a' } });
    expect(b.registry.discover({ service: 'planner', versionRange: '^1.1.0', routableOnly: true }).map((r) => r.agentId)).toEqual([
      'shared-1',
    ]);
    expect(b.registry.discover({ service: 'planner', versionRange: '^2.0.0' })).toEqual([]);
    expect(b.registry.discover({ capabilities: ['plan'], tags: { zone: 'a' } })).toHaveLength(1);

    // Only the owner may change it; the others see the change.
    a.registry.setHealth('shared-1', 'degraded', 'test');
    await eventually(() => (b.registry.get('shared-1')?.health === 'degraded' ? true : undefined));
    expect(b.registry.discover({ service: 'planner', routableOnly: true })).toEqual([]);
    expect(() => b.registry.setState('shared-1', 'maintenance', 'x')).toThrow(
      expect.objectContaining({ code: 'GW_NOT_FOUND', field: 'agent_id' }),
    );

    await a.registry.deregister('shared-1', 'done');
    await eventually(() => (b.registry.get('shared-1') === undefined ? true : undefined));
    expect(b.registry.size()).toBe(0);
  });

  it("moves an agent that registers at another gateway, and drops a stopped gateway's agents", async () => {
    const a = await clusterGateway();
    const b = await clusterGateway();
    const left: string[] = [];
    b.gw.gateway.hooks.agentDeregistered.tap('test', (agent, reason) => left.push(`${agent.agentId}:${reason}`));
    await a.registry.register(info('mover'), {});
    await a.registry.register(info('stayer'), {});
    await eventually(() => b.registry.get('stayer'));
    await eventually(() => b.registry.get('mover'));

    const moved = await b.registry.register(info('mover'), {});
    expect(moved.replaced).toBe(true);
    expect(moved.record.gatewayId).toBe(b.gw.gateway.info.id);
    await eventually(() => (a.registry.get('mover')?.gatewayId === b.gw.gateway.info.id ? true : undefined));
    await expect(a.registry.renew('mover')).rejects.toMatchObject({ code: 'GW_NOT_FOUND' });

    await a.gw.stop();
    gateways.splice(gateways.indexOf(a.gw), 1);
    await eventually(() => (b.registry.get('stayer') === undefined ? true : undefined), 3000);
    expect(b.registry.get('mover')?.gatewayId).toBe(b.gw.gateway.info.id);
    // A clean stop deletes its entries (`deregistered`); on a loaded machine the stop can outlast
    // gatewayDeadAfterMs and the heartbeat sweep reports it first (`gateway-lost`). Either way it
    // is gone exactly once, with one of those two reasons.
    expect(left.filter((entry) => entry.startsWith('stayer:'))).toEqual([expect.stringMatching(/^stayer:(deregistered|gateway-lost)$/)]);
  });

  it('refuses bad input with the field named, and enforces maxInstances', async () => {
    const limits: LimitEvent[] = [];
    const a = await clusterGateway({ maxInstances: 2 });
    a.gw.gateway.hooks.limitReached.tap('test', (event) => limits.push(event));
    await expect(a.registry.register({ ...info('bad'), version: 'one' }, {})).rejects.toMatchObject({
      code: 'GW_INVALID_ARGUMENT',
      field: 'version',
    });
    await expect(a.registry.register({ ...info('bad id with spaces') }, {})).rejects.toMatchObject({
      code: 'GW_INVALID_ARGUMENT',
      field: 'agent_id',
    });
    expect(() => a.registry.discover({ versionRange: 'not a range' })).toThrow(expect.objectContaining({ field: 'version_range' }));
    await a.registry.register(info('one'), {});
    await a.registry.register(info('two'), {});
    await expect(a.registry.register(info('three'), {})).rejects.toMatchObject({ code: 'GW_RESOURCE_EXHAUSTED' });
    expect(limits.map((event) => event.limit)).toContain('registry.maxInstances');
  });

  it('fails to start with GW_UNAVAILABLE naming the servers when NATS is unreachable', async () => {
    const promise = startGateway({
      config: {
        gateway: { dataDir: '/tmp', processMetrics: false },
        plugins: [
          { use: 'registry-nats', options: { servers: ['127.0.0.1:1'], connectTimeoutMs: 500 } },
          'router-embedded',
          'auth-standard',
          { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }] } },
        ],
      },
      logLevel: 'silent',
    });
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught as Error & { code?: string },
    );
    expect(error).toBeDefined();
    expect(String(error)).toContain('127.0.0.1:1');
    const codes = [error!.code, (error as { cause?: { code?: string } }).cause?.code];
    expect(codes.some((code) => code === 'GW_UNAVAILABLE' || code === 'GW_PLUGIN_START_FAILED')).toBe(true);
  });
});
