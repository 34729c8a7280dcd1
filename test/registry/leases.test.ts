import type { GatewayError } from '../../kernel';
import { agentInfo, eventually, metricValue, startRegistryGateway, type RegistryGateway } from './registry-gateway';

/** Short leases so lapses happen within a test; margins stay generous for a busy machine. */
const SHORT = { sweepIntervalMs: 50, minLeaseTtlMs: 100, defaultLeaseTtlMs: 300 };

function journal(env: RegistryGateway): string[] {
  const events: string[] = [];
  env.gateway.hooks.healthChanged.tap(
    'test',
    (change) => void events.push(`health:${change.agentId}:${change.from}->${change.to}:${change.reason}`),
  );
  env.gateway.hooks.agentDeregistered.tap('test', (agent, reason) => void events.push(`gone:${agent.agentId}:${reason}`));
  return events;
}

describe('registry-memory: leases', () => {
  let env: RegistryGateway | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  test('a lapsed lease marks the agent unhealthy, then removes it after the grace period', async () => {
    env = await startRegistryGateway({ ...SHORT, leaseExpiry: { markUnhealthy: true, removeAfterMs: 400 } });
    const events = journal(env);
    const { record } = await env.registry.register(agentInfo('lapse', 'svc', '1.0.0', { leaseTtlMs: 300 }), {});
    expect(env.registry.discover({ service: 'svc', routableOnly: true })).toHaveLength(1);

    await eventually(
      () => env!.registry.get('lapse')?.health === 'unhealthy' || env!.registry.get('lapse') === undefined,
      'the lease to lapse',
    );
    // Out of routing while in its grace period (unless the machine stalled past the whole grace).
    if (env.registry.get('lapse')) {
      expect(env.registry.discover({ service: 'svc', routableOnly: true })).toHaveLength(0);
      expect(env.registry.discover({ service: 'svc' })).toHaveLength(1);
    }
    await eventually(() => env!.registry.get('lapse') === undefined, 'the agent to be removed');
    expect(events).toEqual(['health:lapse:unknown->unhealthy:lease-expired', 'gone:lapse:lease-expired']);
    // Never before its lease and grace were over.
    expect(Date.now()).toBeGreaterThanOrEqual(record.leaseExpiresAt + 400);
    expect(await metricValue(env.gateway, 'openclaw_registry_lease_expiries_total')).toBe(1);
    expect(await metricValue(env.gateway, 'openclaw_registry_removals_total', { reason: 'lease-expired' })).toBe(1);
  });

  test('without markUnhealthy and with no grace the agent is removed as soon as its lease lapses', async () => {
    env = await startRegistryGateway({ ...SHORT, leaseExpiry: { markUnhealthy: false, removeAfterMs: 0 } });
    const events = journal(env);
    const { record } = await env.registry.register(agentInfo('quick', 'svc', '1.0.0', { leaseTtlMs: 200 }), {});
    await eventually(() => env!.registry.get('quick') === undefined, 'the agent to be removed');
    expect(events).toEqual(['gone:quick:lease-expired']);
    expect(Date.now()).toBeGreaterThanOrEqual(record.leaseExpiresAt);
  });

  test('heartbeats keep a lease alive', async () => {
    env = await startRegistryGateway({ ...SHORT, leaseExpiry: { removeAfterMs: 0 } });
    const events = journal(env);
    const { record } = await env.registry.register(agentInfo('beating', 'svc', '1.0.0', { leaseTtlMs: 2_000 }), {});
    const until = Date.now() + 3_000;
    let renewed = record;
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      renewed = await env.registry.renew('beating');
    }
    expect(renewed.leaseExpiresAt).toBeGreaterThan(record.leaseExpiresAt + 2_000);
    expect(env.registry.get('beating')?.health).toBe('unknown');
    expect(events).toEqual([]);
    expect(await metricValue(env.gateway, 'openclaw_registry_lease_expiries_total')).toBe(0);
  });

  test('renewing during the grace period restores the health the lapse took away', async () => {
    env = await startRegistryGateway({ ...SHORT, leaseExpiry: { markUnhealthy: true, removeAfterMs: 60_000 } });
    const events = journal(env);
    await env.registry.register(agentInfo('late', 'svc', '1.0.0', { leaseTtlMs: 200 }), {});
    env.registry.setHealth('late', 'healthy', 'probe ok');
    await eventually(() => env!.registry.get('late')?.health === 'unhealthy', 'the lease to lapse');
    const renewed = await env.registry.renew('late');
    expect(renewed.health).toBe('healthy');
    expect(env.registry.discover({ service: 'svc', routableOnly: true }).map((a) => a.agentId)).toEqual(['late']);
    expect(events).toEqual([
      'health:late:unknown->healthy:probe ok',
      'health:late:healthy->unhealthy:lease-expired',
      'health:late:unhealthy->healthy:lease-renewed',
    ]);
  });

  test('renewing an unknown agent fails with GW_NOT_FOUND naming agent_id', async () => {
    env = await startRegistryGateway(SHORT);
    const error = (await env.registry.renew('ghost').catch((e: unknown) => e)) as GatewayError;
    expect(error.code).toBe('GW_NOT_FOUND');
    expect(error.field).toBe('agent_id');
    expect(error.message).toContain('ghost');
  });

  test('the sweep stops with the gateway', async () => {
    env = await startRegistryGateway({ ...SHORT, leaseExpiry: { removeAfterMs: 0 } });
    const events = journal(env);
    await env.registry.register(agentInfo('orphan', 'svc', '1.0.0', { leaseTtlMs: 100 }), {});
    const stopped = env;
    env = undefined;
    await stopped.close();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(events).toEqual([]);
  });
});
