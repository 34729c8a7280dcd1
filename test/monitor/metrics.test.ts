import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { agentInfo, sampleValue, startMonitoredGateway, type MonitoredGateway } from './support/gateway';
import { envelope } from './support/messages';

const PROMTOOL = '/usr/bin/promtool';

async function scrape(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
}

describe('monitor metrics', () => {
  let gateway: MonitoredGateway;

  beforeEach(async () => {
    gateway = await startMonitoredGateway({ metrics: { maxLabelValues: 5 } });
  });
  afterEach(async () => {
    await gateway.stop();
  });

  test('message, RPC, session, agent and auth metrics move as traffic flows', async () => {
    const { gw, registry, url } = gateway;
    const before = await scrape(url);
    expect(sampleValue(before, 'openclaw_gateway_messages_accepted_total{target_kind="topic"}')).toBe(0);
    expect(sampleValue(before, 'openclaw_gateway_ready')).toBe(1);
    // The kernel's process metrics are served from the same registry.
    expect(before).toMatch(/^openclaw_process_resident_memory_bytes \d+/m);

    await registry.register(agentInfo('worker-1'), {});
    await registry.register(agentInfo('worker-2'), {});
    registry.setState('worker-2', 'initializing', 'restart requested');

    for (let i = 0; i < 3; i += 1) {
      const message = envelope({ topic: 'jobs.created' });
      gw.hooks.messageAccepted.call(message);
      gw.hooks.messageDelivered.call(message, { message, deliveryTag: '', attempt: 1, subscription: 'jobs.*', ackDeadline: 0 });
    }
    const durable = envelope({ agentId: 'worker-1', durable: true });
    gw.hooks.messageAccepted.call(durable);
    gw.hooks.messageDelivered.call(durable, {
      message: durable,
      deliveryTag: 't1',
      attempt: 1,
      subscription: 'inbox',
      ackDeadline: Date.now() + 1000,
    });
    gw.hooks.messageDelivered.call(durable, {
      message: durable,
      deliveryTag: 't2',
      attempt: 2,
      subscription: 'inbox',
      ackDeadline: Date.now() + 1000,
    });
    gw.hooks.messageDropped.call(envelope({ service: 'summarizer' }), 'subscriber-queue-full');
    gw.hooks.messageDeadLettered.call({ message: durable, reason: 'max-attempts', attempts: 5, at: Date.now() });
    gw.hooks.rpcCompleted.call({ method: 'SendMessage', code: 'OK', durationSeconds: 0.003, transport: 'grpc' });
    gw.hooks.rpcCompleted.call({ method: 'SendMessage', code: 'INVALID_ARGUMENT', durationSeconds: 0.0002, transport: 'grpc' });
    gw.hooks.sessionChanged.call({ kind: 'connection', change: 'opened', transport: 'grpc' });
    gw.hooks.sessionChanged.call({ kind: 'stream', change: 'opened', transport: 'grpc', method: 'Subscribe' });
    gw.hooks.sessionChanged.call({ kind: 'stream', change: 'opened', transport: 'grpc', method: 'Subscribe' });
    gw.hooks.sessionChanged.call({ kind: 'stream', change: 'closed', transport: 'grpc', method: 'Subscribe' });
    gw.hooks.authFailed.call({ stage: 'authorize', reason: 'no-binding', peer: '127.0.0.1:5000', identity: 'planner', action: 'publish' });

    const after = await scrape(url);
    expect(sampleValue(after, 'openclaw_gateway_messages_accepted_total{target_kind="topic"}')).toBe(3);
    expect(sampleValue(after, 'openclaw_gateway_messages_accepted_total{target_kind="agent"}')).toBe(1);
    expect(sampleValue(after, 'openclaw_gateway_messages_delivered_total{target_kind="topic",guarantee="at_most_once"}')).toBe(3);
    expect(sampleValue(after, 'openclaw_gateway_messages_delivered_total{target_kind="agent",guarantee="at_least_once"}')).toBe(2);
    expect(sampleValue(after, 'openclaw_gateway_messages_redelivered_total')).toBe(1);
    expect(sampleValue(after, 'openclaw_gateway_messages_dropped_total{reason="subscriber-queue-full"}')).toBe(1);
    expect(sampleValue(after, 'openclaw_gateway_messages_dead_lettered_total{reason="max-attempts"}')).toBe(1);
    expect(sampleValue(after, 'openclaw_gateway_rpc_duration_seconds_count{method="SendMessage",code="OK"}')).toBe(1);
    expect(sampleValue(after, 'openclaw_gateway_rpc_duration_seconds_bucket{le="0.005",method="SendMessage",code="OK"}')).toBe(1);
    expect(sampleValue(after, 'openclaw_gateway_rpc_duration_seconds_count{method="SendMessage",code="INVALID_ARGUMENT"}')).toBe(1);
    expect(sampleValue(after, 'openclaw_gateway_connections_open{transport="grpc"}')).toBe(1);
    expect(sampleValue(after, 'openclaw_gateway_streams_open{transport="grpc"}')).toBe(1);
    expect(sampleValue(after, 'openclaw_gateway_agents{state="running",health="unknown"}')).toBe(1);
    expect(sampleValue(after, 'openclaw_gateway_agents{state="initializing",health="unknown"}')).toBe(1);
    expect(sampleValue(after, 'openclaw_gateway_agent_restarts_total')).toBe(1);
    expect(sampleValue(after, 'openclaw_gateway_auth_failures_total{stage="authorize",reason="no-binding"}')).toBe(1);
  });

  test('free-text label values are capped and the cap is reported', async () => {
    const { gw, url } = gateway;
    const limits: string[] = [];
    gw.hooks.limitReached.tap('test', (event) => limits.push(`${event.limit}:${event.policy}`));
    for (let i = 0; i < 40; i += 1) gw.hooks.messageDropped.call(envelope({ topic: 'a' }), `reason-${i}`);
    const exposition = await scrape(url);
    const series = exposition.split('\n').filter((line) => line.startsWith('openclaw_gateway_messages_dropped_total{'));
    expect(series).toHaveLength(6);
    expect(sampleValue(exposition, 'openclaw_gateway_messages_dropped_total{reason="other"}')).toBe(35);
    expect(limits).toEqual(['monitor.metricLabelValues:fold-into-other']);
    expect(
      sampleValue(exposition, 'openclaw_gateway_limits_reached_total{limit="monitor.metricLabelValues",policy="fold-into-other"}'),
    ).toBe(1);
  });

  test('promtool accepts the exposition', async () => {
    const { gw, registry, url } = gateway;
    await registry.register(agentInfo('worker-1'), {});
    const message = envelope({ topic: 'jobs' });
    gw.hooks.messageAccepted.call(message);
    gw.hooks.rpcCompleted.call({ method: 'Subscribe', code: 'CANCELLED', durationSeconds: 1.5, transport: 'grpc' });
    gw.hooks.anomaly.call({ rule: 'error-rate', agentId: 'worker-1', value: 1, threshold: 0.5, action: 'degrade', at: Date.now() });
    const exposition = await scrape(url);
    if (!fs.existsSync(PROMTOOL)) {
      if (process.env.CI === 'true') throw new Error(`${PROMTOOL} is missing: CI must install the Debian "prometheus" package`);
      console.warn(`\n\n!!! SKIPPING promtool check: ${PROMTOOL} not found (apt-get install -y prometheus) !!!\n\n`);
      return;
    }
    const result = spawnSync(PROMTOOL, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
    expect({ status: result.status, output: `${result.stdout}${result.stderr}` }).toEqual({ status: 0, output: '' });
  });
});
