import type { GatewayError } from '../../kernel';
import { agentInfo, identity, metricValue, startRegistryGateway, type RegistryGateway } from './registry-gateway';

describe('registry-memory: limits', () => {
  let env: RegistryGateway | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  test('maxInstances refuses new agents with GW_RESOURCE_EXHAUSTED, fires limitReached and counts it', async () => {
    env = await startRegistryGateway({ maxInstances: 3 });
    for (const id of ['a', 'b', 'c']) await env.registry.register(agentInfo(id, 'svc'), { identity: identity('owner') });
    const error = (await env.registry.register(agentInfo('d', 'svc'), {}).catch((e: unknown) => e)) as GatewayError;
    expect(error.code).toBe('GW_RESOURCE_EXHAUSTED');
    expect(error.message).toContain('maxInstances');
    await expect(env.registry.register(agentInfo('', 'svc'), {})).rejects.toMatchObject({ code: 'GW_RESOURCE_EXHAUSTED' });
    expect(env.limits).toEqual([
      expect.objectContaining({ limit: 'registry.maxInstances', policy: 'reject', plugin: 'registry-memory' }),
      expect.objectContaining({ limit: 'registry.maxInstances', policy: 'reject', plugin: 'registry-memory' }),
    ]);
    expect(await metricValue(env.gateway, 'openclaw_registry_rejections_total', { reason: 'max-instances' })).toBe(2);
    expect(env.registry.size()).toBe(3);

    // Replacing an existing registration does not need room; freeing one makes room.
    await expect(env.registry.register(agentInfo('a', 'svc', '1.0.1'), { identity: identity('owner') })).resolves.toMatchObject({
      replaced: true,
    });
    await env.registry.deregister('b', 'bye');
    await expect(env.registry.register(agentInfo('d', 'svc'), {})).resolves.toMatchObject({ replaced: false });
  });

  test('tag and capability counts and sizes are bounded', async () => {
    env = await startRegistryGateway({ maxTags: 2, maxCapabilities: 2, maxTagValueLength: 8, maxNameLength: 16 });
    const refused = async (extra: Parameters<typeof agentInfo>[3], field: string, text: string) => {
      const error = (await env!.registry.register(agentInfo('x', 'svc', '1.0.0', extra), {}).catch((e: unknown) => e)) as GatewayError;
      expect(error.code).toBe('GW_INVALID_ARGUMENT');
      expect(error.field).toBe(field);
      expect(error.message).toContain(text);
    };
    await refused({ tags: { a: '1', b: '2', c: '3' } }, 'tags', 'has 3 entries; the limit is 2');
    await refused({ tags: { a: 'x'.repeat(9) } }, 'tags.a', 'value is 9 characters long; the limit is 8');
    await refused({ tags: { ['k'.repeat(17)]: 'v' } }, `tags.${'k'.repeat(17)}`, 'the limit is 16');
    await refused({ capabilities: ['a', 'b', 'c'] }, 'capabilities', 'has 3 entries; the limit is 2');
    await refused({ capabilities: ['c'.repeat(17)] }, 'capabilities[0]', 'the limit is 16');
    await expect(
      env.registry.register(agentInfo('x', 'svc', '1.0.0', { tags: { a: '1', b: '2' }, capabilities: ['p', 'p'] }), {}),
    ).resolves.toMatchObject({
      record: { capabilities: ['p'] },
    });
    // Queries are bounded the same way: a query with more tags than any agent may have is refused.
    expect(() => env!.registry.discover({ tags: { a: '1', b: '2', c: '3' } })).toThrow(expect.objectContaining({ field: 'tags' }));
  });

  test('discover never returns more than maxDiscoverResults', async () => {
    env = await startRegistryGateway({ maxDiscoverResults: 5 });
    for (let i = 0; i < 12; i++) await env.registry.register(agentInfo(`n${i}`, 'many'), {});
    expect(env.registry.discover({ service: 'many' })).toHaveLength(5);
    expect(env.registry.discover({ service: 'many', limit: 100 })).toHaveLength(5);
    expect(env.registry.discover({ service: 'many', limit: 3 })).toHaveLength(3);
  });

  test('the range cache is bounded: evictions are counted and reported once per sweep', async () => {
    env = await startRegistryGateway({ rangeCacheSize: 2, sweepIntervalMs: 50 });
    await env.registry.register(agentInfo('r', 'svc', '1.5.0'), {});
    for (const range of ['^1', '^1.1', '^1.2', '^1.3', '^1'])
      expect(env.registry.discover({ service: 'svc', versionRange: range })).toHaveLength(1);
    expect(await metricValue(env.gateway, 'openclaw_registry_range_cache_evictions_total')).toBe(3);
    const deadline = Date.now() + 10_000;
    while (!env.limits.some((event) => event.limit === 'registry.rangeCacheSize') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(env.limits.filter((event) => event.limit === 'registry.rangeCacheSize')).toEqual([
      expect.objectContaining({ policy: 'evict-lru', detail: '3 parsed version range(s) evicted' }),
    ]);
  });

  test('inconsistent lease bounds fail at start with a message naming the options', async () => {
    const error = (await startRegistryGateway({ minLeaseTtlMs: 5_000, defaultLeaseTtlMs: 1_000 }).catch((e: unknown) => e)) as GatewayError;
    expect(error.code).toBe('GW_PLUGIN_SETUP_FAILED');
    expect(error.message).toContain('defaultLeaseTtlMs (1000) must lie within minLeaseTtlMs (5000)');
  });
});
