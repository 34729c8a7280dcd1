/**
 * The lifecycle of managed agents, observed through the kernel hooks: created → initializing →
 * running only after registration and readiness, drain (maintenance), start, restart, stop,
 * terminated, and the refusal of illegal transitions.
 */
import { readFileSync } from 'node:fs';
import { alive, fixtureAgent, routable, startSupervised, waitUntil, type SupervisedGateway } from './harness';

describe('supervisor lifecycle', () => {
  let gw: SupervisedGateway;

  afterEach(async () => {
    await gw?.stop();
  });

  it('starts a managed agent: created → initializing, registered as initializing and managed, running only after its readiness probe', async () => {
    gw = await startSupervised({ agents: [fixtureAgent('life')] });
    const { events, supervisor, registry } = gw;
    await events.waitFor((e) => e.kind === 'state' && e.agentId === 'life-1' && e.to === 'running', 'life-1 running');
    expect(events.states('life-1')).toEqual(['created→initializing', 'initializing→running']);
    const registered = events.find((e) => e.kind === 'registered' && e.agentId === 'life-1')!;
    // The registry admitted it as initializing (not routable) before the readiness probe.
    expect(registered.to).toBe('initializing');
    const running = events.find((e) => e.kind === 'state' && e.to === 'running')!;
    expect(registered.at).toBeLessThanOrEqual(running.at);
    expect(running.reason).toMatch(/readiness probe/);
    const record = registry.get('life-1')!;
    expect(record).toMatchObject({ state: 'running', health: 'healthy', managed: true, service: 'life', version: '1.0.0' });
    expect(routable(registry, 'life').map((agent) => agent.agentId)).toEqual(['life-1']);
    const [status] = supervisor.status('life');
    expect(status).toMatchObject({ agentId: 'life-1', specId: 'life', state: 'running', quarantined: false, restarts: 0 });
    expect(alive(status.pid!)).toBe(true);
  });

  it('an agent that registers but never answers a probe stays initializing (not routable) and is restarted after readinessTimeoutMs', async () => {
    gw = await startSupervised({
      agents: [fixtureAgent('mute', 'no-probe', { health: { readinessTimeoutMs: 600 }, restart: { initialDelayMs: 5000 } })],
    });
    const { events, registry, supervisor } = gw;
    await events.waitFor((e) => e.kind === 'registered' && e.agentId === 'mute-1', 'mute-1 registered');
    expect(registry.get('mute-1')!.state).toBe('initializing');
    expect(routable(registry, 'mute')).toEqual([]);
    await waitUntil(() => supervisor.status('mute-1')[0].restarts === 1, 'a restart after the readiness timeout');
    expect(events.states('mute-1')).toEqual(['created→initializing']);
    expect(supervisor.status('mute-1')[0].state).toBe('initializing');
  });
});

describe('supervisor lifecycle in sandbox-bubblewrap', () => {
  let gw: SupervisedGateway;

  afterEach(async () => {
    await gw?.stop();
  });

  it('an agent without network reaches running over the bound socket, and comes back after a crash', async () => {
    gw = await startSupervised({ sandbox: 'sandbox-bubblewrap', agents: [fixtureAgent('boxed', 'well', { sandbox: { network: false } })] });
    const { events, supervisor, registry } = gw;
    await events.waitFor((e) => e.kind === 'state' && e.agentId === 'boxed-1' && e.to === 'running', 'boxed-1 running', 15_000);
    expect(routable(registry, 'boxed').map((agent) => agent.agentId)).toEqual(['boxed-1']);
    const pid = supervisor.status('boxed-1')[0].pid!;
    // The agent's own process, not bwrap's.
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('managed-agent.js');
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    await events.waitFor(
      (e) => e.kind === 'state' && e.agentId === 'boxed-1' && e.to === 'running',
      'boxed-1 running again',
      15_000,
      killedAt,
    );
    expect(events.states('boxed-1')).toEqual([
      'created→initializing',
      'initializing→running',
      'running→initializing',
      'initializing→running',
    ]);
    expect(supervisor.status('boxed-1')[0]).toMatchObject({ state: 'running', restarts: 1 });
  });
});

describe('supervisor lifecycle: the remaining transitions', () => {
  let gw: SupervisedGateway;

  afterEach(async () => {
    await gw?.stop();
  });

  it('running → terminated (restart policy never), maintenance → initializing (restart of a drained agent), maintenance → upgrade', async () => {
    gw = await startSupervised({
      agents: [
        fixtureAgent('once', 'crash-after', { env: { CRASH_AFTER_MS: '300' }, restart: { policy: 'never' } }),
        fixtureAgent('drained', 'well'),
      ],
    });
    const { events, supervisor } = gw;
    await events.waitFor((e) => e.kind === 'state' && e.agentId === 'once-1' && e.to === 'terminated', 'once-1 terminated');
    expect(events.states('once-1')).toEqual(['created→initializing', 'initializing→running', 'running→terminated']);
    expect(supervisor.status('once-1')[0]).toMatchObject({ state: 'terminated', quarantined: false, restarts: 0 });
    expect(supervisor.status('once-1')[0].reason).toMatch(/restart policy never/);

    await events.waitFor((e) => e.kind === 'state' && e.agentId === 'drained-1' && e.to === 'running', 'drained-1 running');
    await supervisor.drain('drained');
    await supervisor.restart('drained');
    await supervisor.drain('drained-1');
    await supervisor.upgrade('drained', { version: '1.0.1' });
    expect(events.states('drained-1')).toEqual([
      'created→initializing',
      'initializing→running',
      'running→maintenance',
      'maintenance→initializing',
      'initializing→running',
      'running→maintenance',
      'maintenance→upgrade',
      'upgrade→terminated',
    ]);
    expect(supervisor.status('drained')).toMatchObject([{ agentId: 'drained-2', version: '1.0.1', state: 'running' }]);
  });
});
