/**
 * Unary SendMessage round trips: closed-loop throughput against the raw echo, then latency at a
 * fixed 2,000 calls/s (an open-loop pace, so a slow call does not slow the offered load).
 */
import { windowBetween, type Implementation, type ScenarioScope } from '../harness';
import { ratioOf, throughput, type Measurement, type ResultRow, type RunSample } from '../result';
import type { DriveResult } from '../load/unary';

const TOPIC = 'bench.unary';

async function measureUnary(scope: ScenarioScope, implementation: Implementation) {
  const { settings } = scope;
  const server = await scope.startServer(implementation);
  const load = await scope.startLoad({ role: 'unary', address: server.address, topic: TOPIC, agents: 1, services: 1 });
  const check = (result: DriveResult) => {
    if (result.errors > 0) throw new Error(`${implementation}: ${result.errors} SendMessage calls failed: ${result.firstError}`);
    return result;
  };
  // Warm-up: JIT, connection windows.
  check(
    await load.call<DriveResult>('closedLoop', {
      method: 'sendMessage',
      concurrency: settings.unaryConcurrency,
      durationMs: settings.warmupMs,
    }),
  );
  const samples: RunSample[] = [];
  for (let run = 0; run < settings.runs; run++) {
    const before = await server.stats();
    const result = check(
      await load.call<DriveResult>('closedLoop', {
        method: 'sendMessage',
        concurrency: settings.unaryConcurrency,
        durationMs: settings.windowMs,
      }),
    );
    const after = await server.stats();
    samples.push({ ops: result.calls, window: { ...windowBetween(before, after), elapsedMs: result.elapsedMs } });
  }
  const before = await server.stats();
  const paced = check(
    await load.call<DriveResult>('paced', { method: 'sendMessage', rate: settings.pacedRate, durationMs: settings.pacedMs }),
  );
  const after = await server.stats();
  await scope.cleanup();
  const pacedMeasurement: Measurement = {
    value: paced.latency.p99Ms,
    runs: [paced.latency.p99Ms],
    cpuMicrosPerOp: windowBetween(before, after).cpuMicros / Math.max(1, paced.calls),
    latency: paced.latency,
  };
  return { closedLoop: throughput(samples), paced: pacedMeasurement };
}

export async function unaryRows(scope: ScenarioScope): Promise<ResultRow[]> {
  const baseline = await measureUnary(scope, 'baseline');
  const gateway = await measureUnary(scope, 'gateway');
  const ratio = ratioOf(gateway.closedLoop, baseline.closedLoop);
  const judged = !scope.settings.quick;
  return [
    {
      scenario: 'unary-send',
      metric: `SendMessage calls/s (${scope.settings.unaryConcurrency} in flight, 1 connection)`,
      unit: 'calls/s',
      gateway: gateway.closedLoop,
      baseline: baseline.closedLoop,
      ratio,
      target: '≥ 0.8× raw unary echo',
      pass: judged ? (ratio ?? 0) >= 0.8 : undefined,
    },
    {
      scenario: 'unary-send',
      metric: `SendMessage p99 at ${scope.settings.pacedRate} calls/s`,
      unit: 'ms',
      gateway: gateway.paced,
      baseline: baseline.paced,
      ratio: baseline.paced.value > 0 ? gateway.paced.value / baseline.paced.value : undefined,
      target: 'p99 ≤ 5 ms',
      pass: judged ? gateway.paced.value <= 5 : undefined,
    },
  ];
}
