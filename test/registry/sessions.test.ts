import { agentInfo, startRegistryGateway, type RegistryGateway } from './registry-gateway';

describe('registry-memory: sessions', () => {
  let env: RegistryGateway;
  beforeEach(async () => {
    // Leases far longer than the test: removal here can only come from the session.
    env = await startRegistryGateway({ defaultLeaseTtlMs: 300_000, maxLeaseTtlMs: 300_000 });
  });
  afterEach(() => env.close());

  test('closing a session removes every agent bound to it at once', async () => {
    const gone: Array<[string, string]> = [];
    env.gateway.hooks.agentDeregistered.tap('test', (agent, reason) => void gone.push([agent.agentId, reason]));
    await env.registry.register(agentInfo('a', 'svc'), { sessionId: 'conn-1' });
    await env.registry.register(agentInfo('b', 'svc'), {});
    env.registry.attachSession('b', 'conn-1');
    await env.registry.register(agentInfo('c', 'svc'), { sessionId: 'conn-2' });
    expect(env.registry.get('b')?.sessionId).toBe('conn-1');

    env.registry.sessionClosed('conn-1');
    // Synchronously: no timeout involved.
    expect(gone.sort()).toEqual([
      ['a', 'session-closed'],
      ['b', 'session-closed'],
    ]);
    expect(env.registry.discover({ service: 'svc' }).map((agent) => agent.agentId)).toEqual(['c']);
    env.registry.sessionClosed('conn-1');
    env.registry.sessionClosed('never-existed');
    expect(env.registry.size()).toBe(1);
  });

  test('re-binding moves an agent to its new session; the old one closing no longer affects it', async () => {
    await env.registry.register(agentInfo('mover', 'svc'), { sessionId: 'old' });
    env.registry.attachSession('mover', 'new');
    env.registry.sessionClosed('old');
    expect(env.registry.get('mover')?.sessionId).toBe('new');
    env.registry.sessionClosed('new');
    expect(env.registry.get('mover')).toBeUndefined();
  });

  test('an agent re-registered on a new connection survives the old connection closing', async () => {
    await env.registry.register(agentInfo('restarted', 'svc'), { sessionId: 'first' });
    const { replaced } = await env.registry.register(agentInfo('restarted', 'svc'), { sessionId: 'second' });
    expect(replaced).toBe(true);
    env.registry.sessionClosed('first');
    expect(env.registry.get('restarted')?.sessionId).toBe('second');
  });

  test('attaching an unknown agent or an empty session id is refused', async () => {
    expect(() => env.registry.attachSession('ghost', 's')).toThrow(expect.objectContaining({ code: 'GW_NOT_FOUND', field: 'agent_id' }));
    await env.registry.register(agentInfo('real', 'svc'), {});
    expect(() => env.registry.attachSession('real', '')).toThrow(
      expect.objectContaining({ code: 'GW_INVALID_ARGUMENT', field: 'session_id' }),
    );
  });
});
