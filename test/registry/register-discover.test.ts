import type { AgentRecord, GatewayError } from '../../kernel';
import { agentInfo, metricValue, startRegistryGateway, type RegistryGateway } from './registry-gateway';

describe('registry-memory: register, discover, deregister', () => {
  let env: RegistryGateway;
  beforeEach(async () => {
    env = await startRegistryGateway({ defaultLeaseTtlMs: 20_000, minLeaseTtlMs: 1_000, maxLeaseTtlMs: 60_000 });
  });
  afterEach(() => env.close());

  test('a registered agent is found, described fully, and gone after deregister', async () => {
    const registered: AgentRecord[] = [];
    const deregistered: Array<[string, string]> = [];
    env.gateway.hooks.agentRegistered.tap('test', (agent) => void registered.push(agent));
    env.gateway.hooks.agentDeregistered.tap('test', (agent, reason) => void deregistered.push([agent.agentId, reason]));

    const before = Date.now();
    const { record, replaced } = await env.registry.register(
      agentInfo('sum-1', 'summarizer', '1.4.2', { tags: { zone: 'eu' }, capabilities: ['summarize', 'tool:web'] }),
      {},
    );
    expect(replaced).toBe(false);
    expect(record).toMatchObject({
      agentId: 'sum-1',
      service: 'summarizer',
      version: '1.4.2',
      tags: { zone: 'eu' },
      capabilities: ['summarize', 'tool:web'],
      leaseTtlMs: 20_000,
      state: 'running',
      health: 'unknown',
      managed: false,
      gatewayId: env.gateway.info.id,
    });
    expect(record.registeredAt).toBeGreaterThanOrEqual(before);
    expect(record.leaseExpiresAt).toBe(record.registeredAt + 20_000);
    expect(registered.map((agent) => agent.agentId)).toEqual(['sum-1']);
    expect(env.registry.get('sum-1')).toEqual(record);
    expect(env.registry.discover({ service: 'summarizer' }).map((agent) => agent.agentId)).toEqual(['sum-1']);
    expect(env.registry.size()).toBe(1);

    expect(await env.registry.deregister('sum-1', 'shutting down')).toBe(true);
    expect(deregistered).toEqual([['sum-1', 'shutting down']]);
    expect(env.registry.get('sum-1')).toBeUndefined();
    expect(env.registry.discover({ service: 'summarizer' })).toEqual([]);
    expect(await env.registry.deregister('sum-1', 'again')).toBe(false);
    expect(env.registry.size()).toBe(0);
  });

  test('an empty agent id gets a short unique id derived from the service', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const { record } = await env.registry.register(agentInfo('', 'planner'), {});
      expect(record.agentId).toMatch(/^planner-[0-9a-f]{12}$/);
      ids.add(record.agentId);
    }
    expect(ids.size).toBe(50);
    expect(env.registry.discover({ service: 'planner' })).toHaveLength(50);
  });

  test('requested leases are clamped to the configured bounds; 0 takes the default', async () => {
    const lease = async (id: string, leaseTtlMs: number) =>
      (await env.registry.register(agentInfo(id, 'lease', '1.0.0', { leaseTtlMs }), {})).record.leaseTtlMs;
    expect(await lease('a', 0)).toBe(20_000);
    expect(await lease('b', 10)).toBe(1_000);
    expect(await lease('c', 5_000)).toBe(5_000);
    expect(await lease('d', 3_600_000)).toBe(60_000);
  });

  test('bad input is refused with GW_INVALID_ARGUMENT naming the field', async () => {
    const refusal = async (info: Parameters<typeof agentInfo>, field: string, text: RegExp) => {
      const error = (await env.registry.register(agentInfo(...info), {}).catch((e: unknown) => e)) as GatewayError;
      expect(error.code).toBe('GW_INVALID_ARGUMENT');
      expect(error.field).toBe(field);
      expect(error.message).toMatch(text);
    };
    await refusal(['a', 'svc', 'one.two'], 'version', /"one.two" is not a semantic version/);
    await refusal(['a', 'svc', ''], 'version', /required/);
    await refusal(['a', '', '1.0.0'], 'service', /required/);
    await refusal(['a', 'Has Spaces', '1.0.0'], 'service', /may contain only/);
    await refusal(['bad id!', 'svc', '1.0.0'], 'agent_id', /may contain only/);
    await refusal(['x'.repeat(129), 'svc', '1.0.0'], 'agent_id', /129 characters long; the limit is 128/);
    await refusal(['a', 'svc', '1.0.0', { leaseTtlMs: -5 }], 'lease_ttl_ms', /non-negative integer/);
    await refusal(['a', 'svc', '1.0.0', { tags: { __proto__x: 'v' } }], 'tags.__proto__x', /may contain only/);
    await refusal(['a', 'svc', '1.0.0', { capabilities: ['ok', ''] }], 'capabilities[1]', /non-empty/);
    expect(env.registry.size()).toBe(0);
    expect(await metricValue(env.gateway, 'openclaw_registry_rejections_total', { reason: 'invalid' })).toBe(9);
  });

  test('several versions of one service coexist and semver ranges select among them', async () => {
    const versions = ['1.0.0', '1.2.0', '1.9.3', '2.0.0-rc.1', '2.0.0', '2.1.0', '3.0.0'];
    for (const [i, version] of versions.entries()) await env.registry.register(agentInfo(`t${i}`, 'translator', version), {});
    const found = (versionRange?: string) =>
      env.registry
        .discover({ service: 'translator', versionRange })
        .map((agent) => agent.version)
        .sort();
    expect(found()).toEqual([...versions].sort());
    expect(found('')).toEqual([...versions].sort());
    expect(found('^1.2.0')).toEqual(['1.2.0', '1.9.3']);
    expect(found('>=2 <3')).toEqual(['2.0.0', '2.1.0']);
    expect(found('~2.0.0-rc.0')).toEqual(['2.0.0', '2.0.0-rc.1']);
    expect(found('1.x || >=3')).toEqual(['1.0.0', '1.2.0', '1.9.3', '3.0.0']);
    expect(found('^4')).toEqual([]);

    const error = (() => {
      try {
        env.registry.discover({ service: 'translator', versionRange: 'not a range!' });
      } catch (e) {
        return e as GatewayError;
      }
    })();
    expect(error?.code).toBe('GW_INVALID_ARGUMENT');
    expect(error?.field).toBe('version_range');
  });

  test('discover filters by tags, capabilities and routability, and honours limit', async () => {
    await env.registry.register(
      agentInfo('eu-gpu', 'vision', '1.0.0', { tags: { zone: 'eu', tier: 'gpu' }, capabilities: ['ocr', 'detect'] }),
      {},
    );
    await env.registry.register(agentInfo('eu-cpu', 'vision', '1.0.0', { tags: { zone: 'eu', tier: 'cpu' }, capabilities: ['ocr'] }), {});
    await env.registry.register(
      agentInfo('us-gpu', 'vision', '1.1.0', { tags: { zone: 'us', tier: 'gpu' }, capabilities: ['detect'] }),
      {},
    );
    await env.registry.register(agentInfo('other', 'speech', '1.0.0', { tags: { zone: 'eu' }, capabilities: ['ocr'] }), {});
    const ids = (query: Parameters<typeof env.registry.discover>[0]) =>
      env.registry
        .discover(query)
        .map((agent) => agent.agentId)
        .sort();

    expect(ids({ service: 'vision', tags: { zone: 'eu' } })).toEqual(['eu-cpu', 'eu-gpu']);
    expect(ids({ service: 'vision', tags: { zone: 'eu', tier: 'gpu' } })).toEqual(['eu-gpu']);
    expect(ids({ service: 'vision', tags: { constructor: 'x' } })).toEqual([]);
    expect(ids({ service: 'vision', capabilities: ['ocr'] })).toEqual(['eu-cpu', 'eu-gpu']);
    expect(ids({ service: 'vision', capabilities: ['ocr', 'detect'] })).toEqual(['eu-gpu']);
    expect(ids({ capabilities: ['ocr'] })).toEqual(['eu-cpu', 'eu-gpu', 'other']);
    expect(ids({ tags: { zone: 'eu' } })).toEqual(['eu-cpu', 'eu-gpu', 'other']);
    expect(ids({ service: 'nobody' })).toEqual([]);

    // Routable: running and healthy/unknown.
    env.registry.setHealth('eu-gpu', 'degraded', 'slow');
    env.registry.setState('us-gpu', 'maintenance', 'patching');
    expect(ids({ service: 'vision', routableOnly: true })).toEqual(['eu-cpu']);
    env.registry.setHealth('eu-gpu', 'healthy', 'recovered');
    expect(ids({ service: 'vision', routableOnly: true })).toEqual(['eu-cpu', 'eu-gpu']);
    expect(ids({ service: 'vision' })).toEqual(['eu-cpu', 'eu-gpu', 'us-gpu']);

    expect(env.registry.discover({ service: 'vision', limit: 2 })).toHaveLength(2);
    expect(env.registry.discover({ limit: 1 })).toHaveLength(1);
    expect(() => env.registry.discover({ limit: -1 })).toThrow(/limit/);
  });

  test('records handed out are immutable snapshots; changes produce new revisions', async () => {
    const { record } = await env.registry.register(agentInfo('snap', 'svc'), {});
    expect(Object.isFrozen(record)).toBe(true);
    const changed = env.registry.setHealth('snap', 'healthy', 'probe ok');
    expect(record.health).toBe('unknown');
    expect(changed.health).toBe('healthy');
    expect(changed.revision).toBeGreaterThan(record.revision);
    const renewed = await env.registry.renew('snap');
    expect(renewed.revision).toBeGreaterThan(changed.revision);
  });

  test('registration counters and the per-state gauge follow the registry', async () => {
    await env.registry.register(agentInfo('m1', 'svc'), {});
    await env.registry.register(agentInfo('m2', 'svc'), {});
    await env.registry.register(agentInfo('m2', 'svc'), {});
    env.registry.setState('m1', 'maintenance', 'test');
    expect(await metricValue(env.gateway, 'openclaw_registry_registrations_total', { outcome: 'new' })).toBe(2);
    expect(await metricValue(env.gateway, 'openclaw_registry_registrations_total', { outcome: 'replaced' })).toBe(1);
    expect(await metricValue(env.gateway, 'openclaw_registry_agents', { state: 'running' })).toBe(1);
    expect(await metricValue(env.gateway, 'openclaw_registry_agents', { state: 'maintenance' })).toBe(1);
    await env.registry.deregister('m1', 'bye');
    expect(await metricValue(env.gateway, 'openclaw_registry_agents', { state: 'maintenance' })).toBe(0);
    const exposition = await env.gateway.metrics.registry.metrics();
    expect(exposition).toContain('openclaw_registry_agents{state="running"} 1');
    expect(exposition).toContain('openclaw_registry_agents{state="terminated"} 0');
  });
});
