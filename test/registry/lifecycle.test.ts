import { AGENT_TRANSITIONS, definePlugin, type AgentState, type AgentStateChange, type GatewayError } from '../../kernel';
import { agentInfo, metricValue, startRegistryGateway, type RegistryGateway } from './registry-gateway';

/** A supervisor-like plugin that admits agents whose id starts with `managed-` as initializing. */
const admitsManaged = definePlugin<Record<string, unknown>>({
  name: 'admission-test',
  kind: 'supervisor',
  version: '1.0.0',
  schema: { type: 'object' },
  setup(ctx) {
    ctx.hooks.admitAgent.tap(ctx.name, (admission) =>
      admission.info.agentId.startsWith('managed-') ? { ...admission, state: 'initializing', managed: true } : admission,
    );
    return {};
  },
});

describe('registry-memory: lifecycle and admission', () => {
  let env: RegistryGateway;
  beforeEach(async () => {
    env = await startRegistryGateway({}, [admitsManaged]);
  });
  afterEach(() => env.close());

  test('the admitAgent hook decides the initial state and the managed flag', async () => {
    const seen: string[] = [];
    env.gateway.hooks.admitAgent.tap('observer', (admission) => {
      seen.push(`${admission.info.agentId}:${admission.identity?.id ?? '-'}:${admission.state}`);
      return admission;
    });
    const managed = await env.registry.register(agentInfo('managed-1', 'svc'), { identity: { id: 'sup', method: 'test', claims: {} } });
    const own = await env.registry.register(agentInfo('self-1', 'svc'), {});
    expect(managed.record).toMatchObject({ state: 'initializing', managed: true });
    expect(own.record).toMatchObject({ state: 'running', managed: false });
    expect(seen).toEqual(['managed-1:sup:initializing', 'self-1:-:running']);
    // Initializing agents are not routable until the supervisor says they are running.
    expect(env.registry.discover({ service: 'svc', routableOnly: true }).map((a) => a.agentId)).toEqual(['self-1']);
    env.registry.setState('managed-1', 'running', 'ready check passed');
    expect(
      env.registry
        .discover({ service: 'svc', routableOnly: true })
        .map((a) => a.agentId)
        .sort(),
    ).toEqual(['managed-1', 'self-1']);
    expect(await metricValue(env.gateway, 'openclaw_registry_agents', { state: 'running' })).toBe(2);
  });

  test('legal transitions fire agentStateChanged; illegal ones fail with GW_FAILED_PRECONDITION naming from→to', async () => {
    const changes: AgentStateChange[] = [];
    env.gateway.hooks.agentStateChanged.tap('test', (change) => void changes.push(change));
    await env.registry.register(agentInfo('managed-2', 'svc'), {});

    const path: AgentState[] = ['running', 'maintenance', 'upgrade', 'running', 'initializing', 'running', 'terminated'];
    for (const state of path) expect(env.registry.setState('managed-2', state, `to ${state}`).state).toBe(state);
    expect(changes.map((c) => `${c.from}->${c.to}:${c.reason}`)).toEqual([
      'initializing->running:to running',
      'running->maintenance:to maintenance',
      'maintenance->upgrade:to upgrade',
      'upgrade->running:to running',
      'running->initializing:to initializing',
      'initializing->running:to running',
      'running->terminated:to terminated',
    ]);
    expect(changes.every((c) => c.agentId === 'managed-2' && c.service === 'svc')).toBe(true);

    // Terminated is final.
    const error = (() => {
      try {
        env.registry.setState('managed-2', 'running', 'resurrect');
      } catch (e) {
        return e as GatewayError;
      }
    })();
    expect(error?.code).toBe('GW_FAILED_PRECONDITION');
    expect(error?.message).toContain('terminated→running');
    expect(error?.details).toEqual({ agentId: 'managed-2', from: 'terminated', to: 'running' });
    expect(env.registry.get('managed-2')?.state).toBe('terminated');
  });

  test('every transition outside the lifecycle table is refused', async () => {
    const states = Object.keys(AGENT_TRANSITIONS) as AgentState[];
    // A legal path from `running` (how this registry admits agents) to each state. Nothing is
    // ever admitted as `created`, so transitions out of it cannot be reached here.
    const route: Record<Exclude<AgentState, 'created'>, AgentState[]> = {
      initializing: ['initializing'],
      running: [],
      maintenance: ['maintenance'],
      upgrade: ['upgrade'],
      terminated: ['terminated'],
    };
    let refused = 0;
    for (const from of states) {
      if (from === 'created') continue;
      for (const to of states) {
        if (from === to || AGENT_TRANSITIONS[from].includes(to)) continue;
        const id = `t-${from}-${to}`;
        await env.registry.register(agentInfo(id, 'svc'), {});
        for (const step of route[from]) env.registry.setState(id, step, 'setup');
        expect(() => env.registry.setState(id, to, 'illegal')).toThrow(
          expect.objectContaining({ code: 'GW_FAILED_PRECONDITION', message: expect.stringContaining(`${from}→${to}`) }),
        );
        refused++;
      }
    }
    expect(refused).toBe(11);
  });

  test('setting the current state again is a no-op; unknown states and agents are refused', async () => {
    const changes: AgentStateChange[] = [];
    env.gateway.hooks.agentStateChanged.tap('test', (change) => void changes.push(change));
    const { record } = await env.registry.register(agentInfo('same', 'svc'), {});
    expect(env.registry.setState('same', 'running', 'again')).toBe(record);
    expect(changes).toEqual([]);
    expect(() => env.registry.setState('same', 'flying' as AgentState, 'x')).toThrow(
      expect.objectContaining({ code: 'GW_INVALID_ARGUMENT', field: 'state' }),
    );
    expect(() => env.registry.setState('ghost', 'running', 'x')).toThrow(
      expect.objectContaining({ code: 'GW_NOT_FOUND', field: 'agent_id' }),
    );
    expect(() => env.registry.setHealth('ghost', 'healthy', 'x')).toThrow(expect.objectContaining({ code: 'GW_NOT_FOUND' }));
  });

  test('health changes fire healthChanged; a throwing tap does not corrupt the registry', async () => {
    const changes: string[] = [];
    env.gateway.hooks.healthChanged.tap('test', (change) => void changes.push(`${change.from}->${change.to}:${change.reason}`));
    env.gateway.hooks.agentRegistered.tap('broken', () => {
      throw new Error('tap bug');
    });
    await env.registry.register(agentInfo('h', 'svc'), {});
    expect(env.registry.get('h')).toBeDefined();
    env.registry.setHealth('h', 'degraded', 'error rate');
    env.registry.setHealth('h', 'degraded', 'still');
    env.registry.setHealth('h', 'healthy', 'recovered');
    expect(changes).toEqual(['unknown->degraded:error rate', 'degraded->healthy:recovered']);
    expect(env.registry.discover({ service: 'svc', routableOnly: true })).toHaveLength(1);
  });
});

describe('registry-memory: draining', () => {
  test('registrations are refused with GW_DRAINING once the gateway drains', async () => {
    let duringDrain: unknown;
    // Drains before the registry (it depends on it), while the gateway is already draining.
    const registersWhileDraining = definePlugin<Record<string, unknown>>({
      name: 'drain-probe',
      kind: 'monitor',
      version: '1.0.0',
      schema: { type: 'object' },
      dependencies: [{ kind: 'registry' }],
      setup(ctx) {
        const registry = ctx.services.get('registry');
        return {
          async drain() {
            duringDrain = await registry.register(agentInfo('late', 'svc'), {}).catch((e: unknown) => e);
          },
        };
      },
    });
    const env = await startRegistryGateway({}, [registersWhileDraining]);
    await env.registry.register(agentInfo('early', 'svc'), {});
    await env.close();
    expect(duringDrain).toMatchObject({ code: 'GW_DRAINING' });
    expect(await metricValue(env.gateway, 'openclaw_registry_rejections_total', { reason: 'draining' })).toBe(1);
  });
});
