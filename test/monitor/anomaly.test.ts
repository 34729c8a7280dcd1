import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { AnomalyEvent, LimitEvent } from '../../kernel';
import { agentInfo, eventually, sampleValue, startMonitoredGateway, type MonitoredGateway } from './support/gateway';
import { envelope } from './support/messages';

function collect(gateway: MonitoredGateway): AnomalyEvent[] {
  const events: AnomalyEvent[] = [];
  gateway.gw.hooks.anomaly.tap('test', (event) => events.push(event));
  return events;
}

const fast = { evaluateIntervalMs: 100, cooldownMs: 60_000 };

describe('anomaly rules', () => {
  let gateway: MonitoredGateway | undefined;
  afterEach(async () => {
    await gateway?.stop();
    gateway = undefined;
  });

  test('error rate over the window fires once per cooldown, only for the failing agent', async () => {
    gateway = await startMonitoredGateway({
      anomaly: { ...fast, rules: [{ type: 'error-rate', threshold: 0.5, windowMs: 10_000, minSamples: 5, action: 'degrade' }] },
    });
    const events = collect(gateway);
    const { hooks } = gateway.gw;
    for (let i = 0; i < 10; i += 1) {
      const steady = envelope({ agentId: 'steady' });
      hooks.messageDelivered.call(steady, { message: steady, deliveryTag: '', attempt: 1, subscription: 'inbox', ackDeadline: 0 });
    }
    for (let i = 0; i < 2; i += 1) {
      const ok = envelope({ agentId: 'flaky' });
      hooks.messageDelivered.call(ok, { message: ok, deliveryTag: '', attempt: 1, subscription: 'inbox', ackDeadline: 0 });
    }
    for (let i = 0; i < 6; i += 1) hooks.messageDropped.call(envelope({ agentId: 'flaky' }), 'subscriber-queue-full');
    for (let i = 0; i < 2; i += 1)
      hooks.messageDeadLettered.call({ message: envelope({ agentId: 'flaky' }), reason: 'nacked', attempts: 3, at: Date.now() });

    const [event] = await eventually(() => events.length > 0 && events, 10_000, 'an error-rate anomaly');
    expect(event).toMatchObject({ rule: 'error-rate', agentId: 'flaky', value: 0.8, threshold: 0.5, action: 'degrade' });
    // Several more evaluations pass; the cooldown keeps it at one event, and "steady" never fires.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(events).toHaveLength(1);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(sampleValue(metrics, 'openclaw_gateway_anomalies_total{rule="error-rate",action="degrade"}')).toBe(1);
    const journal = (await (await fetch(`${gateway.url}/api/events`)).json()) as { events: { kind: string; agentId?: string }[] };
    expect(journal.events).toContainEqual(expect.objectContaining({ kind: 'anomaly', agentId: 'flaky' }));
  });

  test('p99 request→reply latency is attributed to the replying agent', async () => {
    gateway = await startMonitoredGateway({
      anomaly: {
        ...fast,
        rules: [{ name: 'slow-replies', type: 'p99-latency', threshold: 0.1, windowMs: 10_000, minSamples: 1, action: 'degrade' }],
      },
    });
    const events = collect(gateway);
    const { hooks } = gateway.gw;
    hooks.messageAccepted.call(envelope({ service: 'summarizer', correlationId: 'c-1', replyTo: '_INBOX.c-1', senderId: 'caller' }));
    hooks.messageAccepted.call(envelope({ service: 'summarizer', correlationId: 'c-2', replyTo: '_INBOX.c-2', senderId: 'caller' }));
    hooks.messageAccepted.call(envelope({ topic: '_INBOX.c-2', correlationId: 'c-2', senderId: 'quick' }));
    await new Promise((resolve) => setTimeout(resolve, 250));
    hooks.messageAccepted.call(envelope({ topic: '_INBOX.c-1', correlationId: 'c-1', senderId: 'sluggish' }));

    const [event] = await eventually(() => events.length > 0 && events, 10_000, 'a latency anomaly');
    expect(event).toMatchObject({ rule: 'slow-replies', agentId: 'sluggish', action: 'degrade' });
    expect(event.value).toBeGreaterThanOrEqual(0.2);
    expect(events.map((e) => e.agentId)).not.toContain('quick');
  });

  test('missed lease renewals and restart rate fire from registry state', async () => {
    gateway = await startMonitoredGateway(
      {
        anomaly: {
          ...fast,
          rules: [
            { type: 'missed-renewals', threshold: 2, windowMs: 30_000, action: 'restart' },
            { type: 'restart-rate', threshold: 3, windowMs: 30_000, action: 'alert' },
          ],
        },
      },
      [],
      { leaseMs: 150 },
    );
    const events = collect(gateway);
    const { registry } = gateway;
    await registry.register(agentInfo('silent', { leaseTtlMs: 150 }), {});
    await registry.register(agentInfo('bouncy', { leaseTtlMs: 60_000 }), {});
    for (let i = 0; i < 3; i += 1) {
      registry.setState('bouncy', 'initializing', 'crashed');
      registry.setState('bouncy', 'running', 'ready again');
    }
    await eventually(() => events.length >= 2 && events, 10_000, 'lease and restart anomalies');
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ rule: 'missed-renewals', agentId: 'silent', action: 'restart' }),
        expect.objectContaining({ rule: 'restart-rate', agentId: 'bouncy', value: 3, action: 'alert' }),
      ]),
    );
    expect(events.find((e) => e.rule === 'missed-renewals')!.value).toBeGreaterThanOrEqual(2);
    expect(events.filter((e) => e.agentId === 'bouncy' && e.rule === 'missed-renewals')).toEqual([]);
  });

  test('RSS growth of an agent process (pid tag) fires', async () => {
    gateway = await startMonitoredGateway({
      anomaly: {
        ...fast,
        rules: [{ type: 'rss-growth', threshold: 48 * 1024 * 1024, windowMs: 60_000, minSamples: 2, action: 'restart' }],
      },
    });
    const events = collect(gateway);
    const child: ChildProcess = spawn(process.execPath, [path.join(__dirname, '../fixtures/monitor/growing-memory.js'), '160'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      await gateway.registry.register(agentInfo('leaky', { tags: { pid: String(child.pid) } }), {});
      await gateway.registry.register(agentInfo('not-a-pid', { tags: { pid: '../../etc' } }), {});
      const [event] = await eventually(() => events.length > 0 && events, 20_000, 'an rss-growth anomaly');
      expect(event).toMatchObject({ rule: 'rss-growth', agentId: 'leaky', action: 'restart' });
      expect(event.value).toBeGreaterThanOrEqual(48 * 1024 * 1024);
    } finally {
      child.kill('SIGTERM');
    }
  });

  test('tracked agents are capped; the least recently active is forgotten and the limit reported', async () => {
    gateway = await startMonitoredGateway({
      anomaly: { ...fast, maxTrackedAgents: 3, rules: [{ type: 'error-rate', threshold: 0.9, windowMs: 10_000, minSamples: 100 }] },
    });
    const limits: LimitEvent[] = [];
    gateway.gw.hooks.limitReached.tap('test', (event) => limits.push(event));
    for (let i = 0; i < 8; i += 1) gateway.gw.hooks.messageDropped.call(envelope({ agentId: `agent-${i}` }), 'queue-full');
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(sampleValue(metrics, 'openclaw_gateway_monitor_tracked_agents')).toBe(3);
    expect(limits).toEqual([expect.objectContaining({ limit: 'monitor.anomaly.maxTrackedAgents', policy: 'evict-least-recently-active' })]);
  });
});
