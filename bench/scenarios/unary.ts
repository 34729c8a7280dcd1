/**
 * Unary SendMessage round trips: closed-loop throughput against the raw echo, then latency at a
 * fixed 2,000 calls/s (an open-loop pace, so a slow call does not slow the offered load).
 */
import { windowBetween, type Implementation, type ScenarioScope, type ServerUnderTest } from '../harness';
import { ratioOf, throughput, type Measurement, type ResultRow, type RunSample } from '../result';
import type { BenchChild } from '../ipc';
import type { DriveResult } from '../load/unary';

const TOPIC = 'bench.unary';

interface UnaryStack {
  implementation: Implementation;
  server: ServerUnderTest;
  load: BenchChild;
  samples: RunSample[];
}

function checked(implementation: Implementation, result: DriveResult): DriveResult {
  if (result.errors > 0) throw new Error(`${implementation}: ${result.errors} SendMessage calls failed: ${result.firstError}`);
  return result;
}

async function prepareUnary(scope: ScenarioScope, implementation: Implementation): Promise<UnaryStack> {
  const server = await scope.startServer(implementation);
  const load = await scope.startLoad({ role: 'unary', address: server.address, topic: TOPIC, agents: 1, services: 1 });
  // Warm-up: JIT, connection windows.
  checked(
    implementation,
    await load.call<DriveResult>('closedLoop', {
      method: 'sendMessage',
      concurrency: scope.settings.unaryConcurrency,
      durationMs: scope.settings.warmupMs,
    }),
  );
  return { implementation, server, load, samples: [] };
}

async function closedLoopWindow(scope: ScenarioScope, stack: UnaryStack): Promise<void> {
  const before = await stack.server.stats();
  const clientBefore = await stack.load.call<number>('cpu');
  const result = checked(
    stack.implementation,
    await stack.load.call<DriveResult>('closedLoop', {
      method: 'sendMessage',
      concurrency: scope.settings.unaryConcurrency,
      durationMs: scope.settings.windowMs,
    }),
  );
  const clientAfter = await stack.load.call<number>('cpu');
  const after = await stack.server.stats();
  stack.samples.push({
    ops: result.calls,
    window: { ...windowBetween(before, after), elapsedMs: result.elapsedMs },
    clientCpuMicros: clientAfter - clientBefore,
  });
}

async function pacedRun(scope: ScenarioScope, stack: UnaryStack): Promise<Measurement> {
  const { settings } = scope;
  const before = await stack.server.stats();
  const paced = checked(
    stack.implementation,
    await stack.load.call<DriveResult>('paced', { method: 'sendMessage', rate: settings.pacedRate, durationMs: settings.pacedMs }),
  );
  const after = await stack.server.stats();
  return {
    value: paced.latency.p99Ms,
    runs: [paced.latency.p99Ms],
    cpuMicrosPerOp: windowBetween(before, after).cpuMicros / Math.max(1, paced.calls),
    latency: paced.latency,
  };
}

/**
 * Both servers run side by side, each with its own client, and their closed-loop windows
 * alternate (as the relay scenarios do), so a slow stretch of the shared machine falls on both.
 */
async function measureUnaryPair(scope: ScenarioScope) {
  const baseline = await prepareUnary(scope, 'baseline');
  const gateway = await prepareUnary(scope, 'gateway');
  try {
    for (let run = 0; run < scope.settings.runs; run++) {
      for (const stack of run % 2 === 0 ? [baseline, gateway] : [gateway, baseline]) await closedLoopWindow(scope, stack);
    }
    const baselinePaced = await pacedRun(scope, baseline);
    const gatewayPaced = await pacedRun(scope, gateway);
    return {
      baseline: { closedLoop: throughput(baseline.samples), paced: baselinePaced },
      gateway: { closedLoop: throughput(gateway.samples), paced: gatewayPaced },
    };
  } finally {
    await scope.cleanup();
  }
}

export async function unaryRows(scope: ScenarioScope): Promise<ResultRow[]> {
  const { baseline, gateway } = await measureUnaryPair(scope);
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
      notes: [
        // A closed loop on one connection is bounded by whichever side saturates first: the
        // client's CPU per call says whether the server or the load generator set the pace.
        `the client used ${gateway.closedLoop.clientCpuMicrosPerOp?.toFixed(1)} µs CPU per call against the gateway, ${baseline.closedLoop.clientCpuMicrosPerOp?.toFixed(1)} against the baseline; the server used ${gateway.closedLoop.cpuMicrosPerOp?.toFixed(1)} / ${baseline.closedLoop.cpuMicrosPerOp?.toFixed(1)}, at ${gateway.closedLoop.cpuCores?.toFixed(2)} / ${baseline.closedLoop.cpuCores?.toFixed(2)} cores busy`,
      ],
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
