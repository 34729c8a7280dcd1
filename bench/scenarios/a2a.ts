/**
 * A2A SendMessage round trips with the official client (`ClientFactory.createFromUrl`, JSON-RPC,
 * blocking send): through the gateway (transport-a2a → router → an SDK echo agent → back, task
 * stored in lmdb) against the `@a2a-js/sdk` server alone answering in-process with the same task
 * events. Closed loop, `a2aConcurrency` calls in flight from this process; the ratio is
 * gateway / SDK alone.
 */
import { randomUUID } from 'node:crypto';
import { Role } from '@a2a-js/sdk';
import { ClientFactory, type Client } from '@a2a-js/sdk/client';
import { windowBetween, type ScenarioScope } from '../harness';
import { ratioOf, throughput, type Measurement, type ResultRow, type RunSample } from '../result';
import type { ServerReady, ServerStats } from '../server-ipc';
import { LatencyRecorder } from '../stats';

const CONCURRENCY = 16;

async function closedLoop(client: Client, durationMs: number, latencies?: LatencyRecorder): Promise<{ calls: number; elapsedMs: number }> {
  const until = performance.now() + durationMs;
  const began = performance.now();
  let calls = 0;
  const worker = async () => {
    while (performance.now() < until) {
      const sentAt = performance.now();
      const message = {
        messageId: randomUUID(),
        contextId: '',
        taskId: '',
        role: Role.ROLE_USER,
        parts: [{ content: { $case: 'text' as const, value: 'ping' }, mediaType: 'text/plain', filename: '', metadata: undefined }],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: [],
      };
      await client.sendMessage({ tenant: '', message, configuration: undefined, metadata: undefined });
      latencies?.record(performance.now() - sentAt);
      calls++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { calls, elapsedMs: performance.now() - began };
}

async function measure(scope: ScenarioScope, mode: 'gateway' | 'sdk'): Promise<{ rate: Measurement; latency: Measurement }> {
  const { child, ready } = await scope.startChild<ServerReady>(
    'a2a-process.ts',
    { mode, dataDir: mode === 'gateway' ? scope.tempDir('a2a') : undefined },
    mode === 'gateway' ? 'gateway-a2a' : 'baseline-a2a',
  );
  const stats = () => child.call<ServerStats>('stats', {});
  const client = await new ClientFactory().createFromUrl(ready.address);
  await closedLoop(client, scope.settings.warmupMs);
  const samples: RunSample[] = [];
  const latencies = new LatencyRecorder(200_000);
  for (let run = 0; run < scope.settings.runs; run++) {
    const before = await stats();
    const result = await closedLoop(client, scope.settings.windowMs, latencies);
    const after = await stats();
    samples.push({ ops: result.calls, window: { ...windowBetween(before, after), elapsedMs: result.elapsedMs } });
  }
  await scope.cleanup();
  const summary = latencies.summary();
  return { rate: throughput(samples), latency: { value: summary.p99Ms, runs: [summary.p99Ms], latency: summary } };
}

export async function a2aRows(scope: ScenarioScope): Promise<ResultRow[]> {
  const baseline = await measure(scope, 'sdk');
  const gateway = await measure(scope, 'gateway');
  const ratio = ratioOf(gateway.rate, baseline.rate);
  const judged = !scope.settings.quick;
  return [
    {
      scenario: 'a2a-send',
      metric: `A2A SendMessage calls/s (${CONCURRENCY} in flight, JSON-RPC, blocking)`,
      unit: 'calls/s',
      gateway: gateway.rate,
      baseline: baseline.rate,
      ratio,
      target: '≥ 0.5× the @a2a-js/sdk server alone',
      pass: judged ? (ratio ?? 0) >= 0.5 : undefined,
      notes: ['baseline: the SDK server answering in-process; gateway: transport-a2a → router → TS SDK echo agent, task stored in lmdb'],
    },
    {
      scenario: 'a2a-send',
      metric: `A2A SendMessage p99 (${CONCURRENCY} in flight)`,
      unit: 'ms',
      gateway: gateway.latency,
      baseline: baseline.latency,
      ratio: baseline.latency.value > 0 ? gateway.latency.value / baseline.latency.value : undefined,
    },
  ];
}
