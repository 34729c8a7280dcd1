/**
 * Health with real processes: a hung agent (SIGSTOP) misses its probes, is taken out of routing
 * and then restarted; a monitor anomaly `degrade` and an RSS over maxRssBytes take an agent out of
 * routing; the sandbox's memory limit stops a hog.
 */
import { alive, fixtureAgent, routable, startSupervised, waitUntil, type SupervisedGateway } from './harness';

describe('supervisor health', () => {
  let gw: SupervisedGateway;

  afterEach(async () => {
    await gw?.stop();
  });

  it('a hung agent (SIGSTOP) is degraded and out of routing before it is SIGKILLed and restarted', async () => {
    gw = await startSupervised({
      agents: [
        fixtureAgent('sleeper', 'well', { replicas: 2, health: { probeIntervalMs: 150, probeTimeoutMs: 200, failureThreshold: 3 } }),
      ],
    });
    const { events, supervisor, registry } = gw;
    await waitUntil(() => routable(registry, 'sleeper').length === 2, 'both replicas routable');
    const pid = supervisor.status('sleeper-1')[0].pid!;
    const stoppedAt = Date.now();
    process.kill(pid, 'SIGSTOP');

    const degraded = await events.waitFor(
      (e) => e.kind === 'health' && e.agentId === 'sleeper-1' && e.to === 'degraded',
      'sleeper-1 degraded',
      5000,
      stoppedAt,
    );
    expect(degraded.reason).toMatch(/probe unanswered/);
    // Out of routing while the process is still there (stopped, not yet restarted).
    expect(routable(registry, 'sleeper').map((agent) => agent.agentId)).toEqual(['sleeper-2']);
    expect(registry.get('sleeper-1')!.state).toBe('running');
    expect(alive(pid)).toBe(true);

    const restarted = await events.waitFor(
      (e) => e.kind === 'state' && e.agentId === 'sleeper-1' && e.to === 'initializing',
      'sleeper-1 restarted',
      5000,
      stoppedAt,
    );
    expect(restarted.reason).toMatch(/probe.*SIGKILL/);
    expect(degraded.at).toBeLessThan(restarted.at);
    const unhealthy = events.find((e) => e.kind === 'health' && e.agentId === 'sleeper-1' && e.to === 'unhealthy', stoppedAt)!;
    expect(unhealthy.at).toBeLessThanOrEqual(restarted.at);
    await events.waitFor(
      (e) => e.kind === 'state' && e.agentId === 'sleeper-1' && e.to === 'running',
      'sleeper-1 running again',
      5000,
      restarted.at,
    );
    expect(alive(pid)).toBe(false);
    expect(routable(registry, 'sleeper')).toHaveLength(2);
    const text = await gw.gateway.metrics.registry.getSingleMetricAsString('openclaw_managed_agent_restarts_total');
    expect(text).toContain('openclaw_managed_agent_restarts_total{reason="probe"} 1');
  });

  it('a monitor anomaly with action degrade takes the agent out of routing; restart restarts it', async () => {
    gw = await startSupervised({ agents: [fixtureAgent('noisy', 'well', { replicas: 2 })] });
    const { events, registry, gateway, supervisor } = gw;
    await waitUntil(() => routable(registry, 'noisy').length === 2, 'both replicas routable');
    // What monitor-prometheus's error-rate rule emits.
    gateway.hooks.anomaly.call({ rule: 'error-rate', agentId: 'noisy-1', value: 0.9, threshold: 0.5, action: 'degrade', at: Date.now() });
    expect(registry.get('noisy-1')).toMatchObject({ state: 'running', health: 'degraded' });
    expect(routable(registry, 'noisy').map((agent) => agent.agentId)).toEqual(['noisy-2']);

    const pid = supervisor.status('noisy-2')[0].pid!;
    const at = Date.now();
    gateway.hooks.anomaly.call({ rule: 'lease-missed', agentId: 'noisy-2', value: 3, threshold: 2, action: 'restart', at });
    expect(registry.get('noisy-2')!.health).toBe('degraded');
    await events.waitFor(
      (e) => e.kind === 'state' && e.agentId === 'noisy-2' && e.from === 'running' && e.to === 'initializing',
      'noisy-2 restarting',
      5000,
      at,
    );
    await events.waitFor((e) => e.kind === 'state' && e.agentId === 'noisy-2' && e.to === 'running', 'noisy-2 running again', 5000, at);
    expect(alive(pid)).toBe(false);
    expect(registry.get('noisy-2')!.health).toBe('healthy');
  });

  it('an agent over maxRssBytes is degraded (out of routing)', async () => {
    gw = await startSupervised({
      agents: [
        fixtureAgent('fat', 'hog', {
          env: { HOG_CHUNK_BYTES: String(8 * 1024 * 1024) },
          health: { maxRssBytes: 200 * 1024 * 1024, rssCheckIntervalMs: 100, rssAction: 'degrade' },
          sandbox: { limits: { memoryBytes: 1024 * 1024 * 1024 } },
        }),
      ],
    });
    const degraded = await gw.events.waitFor(
      (e) => e.kind === 'health' && e.agentId === 'fat-1' && e.to === 'degraded',
      'fat-1 degraded',
      15_000,
    );
    expect(degraded.reason).toMatch(/rss over limit/);
    expect(routable(gw.registry, 'fat')).toEqual([]);
    expect(gw.registry.get('fat-1')!.state).toBe('running');
    // Stop the hog before it eats the machine.
    await gw.supervisor.stop('fat');
  });

  it("the sandbox's memory limit stops a hog; the supervisor restarts it as a crash", async () => {
    gw = await startSupervised({
      agents: [
        fixtureAgent('hog', 'hog', {
          env: { HOG_CHUNK_BYTES: String(16 * 1024 * 1024) },
          sandbox: { limits: { memoryBytes: 1024 * 1024 * 1024 } },
          restart: { initialDelayMs: 5000 },
        }),
      ],
    });
    const running = await gw.events.waitFor((e) => e.kind === 'state' && e.agentId === 'hog-1' && e.to === 'running', 'hog-1 running');
    const pid = gw.supervisor.status('hog-1')[0].pid!;
    const crashed = await gw.events.waitFor(
      (e) => e.kind === 'state' && e.agentId === 'hog-1' && e.from === 'running' && e.to === 'initializing',
      'hog-1 stopped by its limit',
      20_000,
      running.at,
    );
    expect(crashed.reason).toMatch(/^crash/);
    expect(alive(pid)).toBe(false);
    await gw.supervisor.stop('hog');
  });
});
