/**
 * Self-healing with real processes: a crash is seen from the exit event and the agent is running
 * and routable again within a second; a crash loop quarantines it with an alert; the backoff grows
 * between consecutive failures and starts over after stable uptime.
 */
import { LogLines, alive, fixtureAgent, routable, startSupervised, waitUntil, type SupervisedGateway } from './harness';

describe('supervisor self-healing', () => {
  let gw: SupervisedGateway;

  afterEach(async () => {
    await gw?.stop();
  });

  it('a crashed agent is running and routable again within 1 s of its exit', async () => {
    gw = await startSupervised({
      agents: [fixtureAgent('phoenix', 'well', { restart: { initialDelayMs: 100 } })],
    });
    const { events, supervisor, registry } = gw;
    await events.waitFor((e) => e.kind === 'state' && e.agentId === 'phoenix-1' && e.to === 'running', 'phoenix-1 running');
    const [before] = supervisor.status('phoenix-1');
    const exitedAt = Date.now();
    process.kill(before.pid!, 'SIGKILL');

    const restarted = await events.waitFor(
      (e) => e.kind === 'state' && e.agentId === 'phoenix-1' && e.from === 'running' && e.to === 'initializing',
      'running → initializing',
      5000,
      exitedAt,
    );
    expect(restarted.reason).toMatch(/crash.*SIGKILL/);
    const running = await events.waitFor(
      (e) => e.kind === 'state' && e.agentId === 'phoenix-1' && e.to === 'running',
      'running again',
      5000,
      exitedAt,
    );
    // The functional requirement: a fast-starting agent is back within one second.
    expect(running.at - exitedAt).toBeLessThan(1000);
    expect(routable(registry, 'phoenix').map((agent) => agent.agentId)).toEqual(['phoenix-1']);
    const [after] = supervisor.status('phoenix-1');
    expect(after).toMatchObject({ state: 'running', restarts: 1 });
    expect(after.pid).not.toBe(before.pid);
    expect(alive(after.pid!)).toBe(true);
    const text = await gw.gateway.metrics.registry.getSingleMetricAsString('openclaw_managed_agent_restarts_total');
    expect(text).toContain('openclaw_managed_agent_restarts_total{reason="crash"} 1');
  });

  it('a crash loop stops the restarts: terminated, quarantined, alert through hooks.anomaly', async () => {
    gw = await startSupervised({
      agents: [
        fixtureAgent('looper', 'crash-at-start', { restart: { initialDelayMs: 10, crashLoop: { maxRestarts: 3, windowMs: 60_000 } } }),
      ],
    });
    const { events, supervisor } = gw;
    const alert = await events.waitFor((e) => e.kind === 'anomaly' && e.agentId === 'looper-1', 'crash-loop alert');
    expect(alert).toMatchObject({ rule: 'crash-loop', action: 'alert' });
    expect(supervisor.status('looper-1')[0]).toMatchObject({ state: 'terminated', quarantined: true, restarts: 3 });
    expect(events.states('looper-1')).toEqual(['created→initializing', 'initializing→terminated']);
    const text = await gw.gateway.metrics.registry.getSingleMetricAsString('openclaw_managed_agent_crash_loops_total');
    expect(text).toContain('openclaw_managed_agent_crash_loops_total 1');
    // No more attempts once quarantined.
    const restarts = supervisor.status('looper-1')[0].restarts;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(supervisor.status('looper-1')[0].restarts).toBe(restarts);

    // An operator start is a new incarnation: created → initializing again, quarantine lifted.
    const started = supervisor.start('looper-1').catch((error: Error) => error);
    await events.waitFor((e) => e.kind === 'anomaly' && e.agentId === 'looper-1' && e !== alert, 'a second crash-loop alert');
    expect(events.states('looper-1')).toEqual([
      'created→initializing',
      'initializing→terminated',
      'created→initializing',
      'initializing→terminated',
    ]);
    expect(await started).toMatchObject({ code: 'GW_UNAVAILABLE' });
  });

  it('the backoff doubles between consecutive failures (capped) and starts over after stable uptime', async () => {
    const logs = new LogLines();
    gw = await startSupervised({
      logger: logs.logger,
      agents: [
        fixtureAgent('flaky', 'crash-at-start', {
          restart: { initialDelayMs: 20, multiplier: 2, maxDelayMs: 100, crashLoop: { maxRestarts: 6, windowMs: 60_000 } },
        }),
        // Runs 400 ms before each crash, longer than resetAfterMs: every delay is the initial one.
        fixtureAgent('steady', 'crash-after', {
          env: { CRASH_AFTER_MS: '400' },
          restart: { initialDelayMs: 20, multiplier: 2, resetAfterMs: 300 },
        }),
      ],
    });
    const delays = (agentId: string) =>
      logs.lines.filter((line) => line.agentId === agentId && typeof line.delayMs === 'number').map((line) => line.delayMs as number);
    await gw.events.waitFor((e) => e.kind === 'anomaly' && e.agentId === 'flaky-1', 'flaky crash loop');
    expect(delays('flaky-1')).toEqual([20, 40, 80, 100, 100, 100]);
    await waitUntil(() => delays('steady-1').length >= 3, 'three restarts of steady-1', 15_000);
    expect(delays('steady-1').slice(0, 3)).toEqual([20, 20, 20]);
  });
});
