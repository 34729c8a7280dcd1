import type { GatewayError } from '../../kernel';
import { agentInfo, identity, metricValue, startRegistryGateway, type RegistryGateway } from './registry-gateway';

describe('registry-memory: duplicate agent ids', () => {
  let env: RegistryGateway | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });

  test('by default the same identity replaces its own registration', async () => {
    env = await startRegistryGateway();
    const events: string[] = [];
    env.gateway.hooks.agentRegistered.tap('test', (agent) => void events.push(`registered:${agent.agentId}@${agent.version}`));
    env.gateway.hooks.agentDeregistered.tap(
      'test',
      (agent, reason) => void events.push(`gone:${agent.agentId}@${agent.version}:${reason}`),
    );

    const first = await env.registry.register(agentInfo('worker', 'svc', '1.0.0'), { identity: identity('spiffe://x/worker') });
    const second = await env.registry.register(agentInfo('worker', 'svc', '1.1.0'), { identity: identity('spiffe://x/worker') });
    expect(first.replaced).toBe(false);
    expect(second.replaced).toBe(true);
    expect(second.record.identity).toBe('spiffe://x/worker');
    expect(env.registry.size()).toBe(1);
    // The index follows the replacement: the old version is no longer discoverable.
    expect(env.registry.discover({ service: 'svc' }).map((agent) => agent.version)).toEqual(['1.1.0']);
    expect(events).toEqual(['registered:worker@1.0.0', 'gone:worker@1.0.0:replaced', 'registered:worker@1.1.0']);
  });

  test('by default another identity is refused with GW_ALREADY_EXISTS naming agent_id', async () => {
    env = await startRegistryGateway();
    await env.registry.register(agentInfo('worker', 'svc'), { identity: identity('alice') });
    const error = (await env.registry
      .register(agentInfo('worker', 'svc'), { identity: identity('mallory') })
      .catch((e: unknown) => e)) as GatewayError;
    expect(error.code).toBe('GW_ALREADY_EXISTS');
    expect(error.field).toBe('agent_id');
    expect(error.message).toContain('"worker" is already registered');
    expect(env.registry.get('worker')?.identity).toBe('alice');
    // An anonymous caller is not the same identity as a named one either.
    await expect(env.registry.register(agentInfo('worker', 'svc'), {})).rejects.toMatchObject({ code: 'GW_ALREADY_EXISTS' });
    expect(await metricValue(env.gateway, 'openclaw_registry_rejections_total', { reason: 'duplicate-id' })).toBe(2);
  });

  test('policy "reject" refuses every duplicate, even from the same identity', async () => {
    env = await startRegistryGateway({ duplicateIdPolicy: 'reject' });
    await env.registry.register(agentInfo('worker', 'svc'), { identity: identity('alice') });
    const error = (await env.registry
      .register(agentInfo('worker', 'svc', '2.0.0'), { identity: identity('alice') })
      .catch((e: unknown) => e)) as GatewayError;
    expect(error.code).toBe('GW_ALREADY_EXISTS');
    expect(error.field).toBe('agent_id');
    expect(error.message).toContain('duplicateIdPolicy "reject"');
    expect(env.registry.get('worker')?.version).toBe('1.0.0');
    // After deregistering, the id is free again.
    await env.registry.deregister('worker', 'done');
    const again = await env.registry.register(agentInfo('worker', 'svc', '2.0.0'), { identity: identity('alice') });
    expect(again.replaced).toBe(false);
  });

  test('an unknown policy is a config error naming the option', async () => {
    await expect(startRegistryGateway({ duplicateIdPolicy: 'last-wins' })).rejects.toMatchObject({
      code: 'GW_CONFIG_INVALID',
      message: expect.stringContaining('duplicateIdPolicy'),
    });
  });
});
