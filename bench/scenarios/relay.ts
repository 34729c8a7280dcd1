/**
 * Routed messages: one publisher stream → server → subscriber streams, per frame, batched and
 * fanned out to many subscribers. Deliveries are counted where they land, at the subscribers,
 * so dropped messages never count.
 */
import type { BenchChild } from '../ipc';
import { windowBetween, type Implementation, type ScenarioScope, type ServerUnderTest } from '../harness';
import { ratioOf, throughput, type Measurement, type ResultRow, type RunSample } from '../result';
import { sleep } from '../stats';

export interface RelayShape {
  id: string;
  topic: string;
  batchSize: number;
  /** Publisher frames in flight. */
  window: number;
  subscribers: number;
  /** Subscriber processes the subscribers are spread over. */
  subscriberProcesses: number;
  connectionsPerProcess: number;
}

interface SubscriberCounts {
  deliveries: number;
  streamsReceiving: number;
  errors: number;
  firstError?: string;
  atEpochMs: number;
}

async function totalDeliveries(subscribers: BenchChild[]): Promise<{ deliveries: number; errors: number; firstError?: string }> {
  const counts = await Promise.all(subscribers.map((s) => s.call<SubscriberCounts>('counts')));
  return {
    deliveries: counts.reduce((sum, c) => sum + c.deliveries, 0),
    errors: counts.reduce((sum, c) => sum + c.errors, 0),
    firstError: counts.find((c) => c.firstError)?.firstError,
  };
}

/** One implementation's server, subscribers and publisher, set up and warm, publishing paused. */
interface RelayStack {
  implementation: Implementation;
  server: ServerUnderTest;
  subscribers: BenchChild[];
  publisher: BenchChild;
  samples: RunSample[];
  published: number;
  delivered: number;
}

async function prepareRelay(scope: ScenarioScope, implementation: Implementation, shape: RelayShape): Promise<RelayStack> {
  const { settings } = scope;
  // One anonymous publisher measured flat out: the per-identity publish rate would be the figure.
  const server = await scope.startServer(implementation, { transport: { quotas: { publishRate: { messagesPerSecond: 0 } } } });
  const perProcess = Math.ceil(shape.subscribers / shape.subscriberProcesses);
  const subscribers: BenchChild[] = [];
  for (let p = 0; p < shape.subscriberProcesses; p++) {
    const streams = Math.min(perProcess, shape.subscribers - p * perProcess);
    subscribers.push(
      await scope.startLoad({
        role: 'subscriber',
        address: server.address,
        streams,
        connections: Math.min(streams, shape.connectionsPerProcess),
        topics: [shape.topic],
      }),
    );
  }
  await Promise.all(subscribers.map((s) => s.call('open')));
  const publisher = await scope.startLoad({
    role: 'publisher',
    address: server.address,
    batchSize: shape.batchSize,
    topic: shape.topic,
    window: shape.window,
  });
  // Subscriptions become live asynchronously: publish until every subscriber stream receives.
  await publisher.call('start');
  const waits = await Promise.all(subscribers.map((s) => s.call<SubscriberCounts>('waitReceiving', { timeoutMs: 20_000 })));
  const receiving = waits.reduce((sum, w) => sum + w.streamsReceiving, 0);
  if (receiving < shape.subscribers) {
    throw new Error(
      `${implementation}: only ${receiving} of ${shape.subscribers} subscriber streams received (${waits.find((w) => w.firstError)?.firstError ?? 'no error reported'})`,
    );
  }
  await sleep(settings.warmupMs);
  await publisher.call('pause');
  return { implementation, server, subscribers, publisher, samples: [], published: 0, delivered: 0 };
}

/**
 * One measurement window of `stack`: publishing resumes, settles for a moment (the queues refill),
 * then deliveries, published messages and CPU are counted over the window, and publishing pauses.
 */
async function measureWindow(stack: RelayStack, windowMs: number, settleMs: number): Promise<void> {
  const { server, subscribers, publisher } = stack;
  const loads = [publisher, ...subscribers];
  const clientCpu = async () => (await Promise.all(loads.map((l) => l.call<number>('cpu')))).reduce((sum, micros) => sum + micros, 0);
  await publisher.call('start');
  await sleep(settleMs);
  const statsBefore = await server.stats();
  const countBefore = await totalDeliveries(subscribers);
  const publishedBefore = (await publisher.call<{ messagesAnswered: number }>('progress')).messagesAnswered;
  const clientBefore = await clientCpu();
  await sleep(windowMs);
  const statsAfter = await server.stats();
  const countAfter = await totalDeliveries(subscribers);
  const publishedAfter = (await publisher.call<{ messagesAnswered: number }>('progress')).messagesAnswered;
  const clientAfter = await clientCpu();
  await publisher.call('pause');
  if (countAfter.errors > 0) throw new Error(`${stack.implementation}: subscriber streams failed: ${countAfter.firstError}`);
  stack.samples.push({
    ops: countAfter.deliveries - countBefore.deliveries,
    window: windowBetween(statsBefore, statsAfter),
    clientCpuMicros: clientAfter - clientBefore,
  });
  stack.published += publishedAfter - publishedBefore;
  stack.delivered += countAfter.deliveries - countBefore.deliveries;
}

/**
 * Both servers run side by side and their measurement windows alternate (baseline, gateway,
 * baseline, ...), each with its own clients: a slow minute of the shared machine then falls on
 * both, not on whichever ran second, and the ratio compares like with like.
 */
export async function measureRelayPair(
  scope: ScenarioScope,
  shape: RelayShape,
): Promise<Record<Implementation, { measurement: Measurement; published: number; delivered: number }>> {
  const { settings } = scope;
  const baseline = await prepareRelay(scope, 'baseline', shape);
  const gateway = await prepareRelay(scope, 'gateway', shape);
  const settleMs = Math.min(500, settings.warmupMs);
  try {
    for (let run = 0; run < settings.runs; run++) {
      for (const stack of run % 2 === 0 ? [baseline, gateway] : [gateway, baseline])
        await measureWindow(stack, settings.windowMs, settleMs);
    }
  } finally {
    await scope.cleanup();
  }
  const result = (stack: RelayStack) => ({
    measurement: throughput(stack.samples),
    published: stack.published,
    delivered: stack.delivered,
  });
  return { baseline: result(baseline), gateway: result(gateway) };
}

export async function relayRows(
  scope: ScenarioScope,
  shape: RelayShape,
  judge: { metric: string; target: string; pass: (gateway: Measurement, ratio: number | undefined) => boolean },
): Promise<ResultRow[]> {
  const { baseline, gateway } = await measureRelayPair(scope, shape);
  const ratio = ratioOf(gateway.measurement, baseline.measurement);
  const perMessage = shape.subscribers;
  const dropped = (run: { published: number; delivered: number }) =>
    Math.max(0, 1 - run.delivered / Math.max(1, run.published * perMessage));
  return [
    {
      scenario: shape.id,
      metric: judge.metric,
      unit: shape.subscribers > 1 ? 'deliveries/s' : 'msg/s',
      gateway: gateway.measurement,
      baseline: baseline.measurement,
      ratio,
      target: judge.target,
      pass: scope.settings.quick ? undefined : judge.pass(gateway.measurement, ratio),
      notes: [
        `load generators (publisher + subscribers) used ${gateway.measurement.clientCpuMicrosPerOp?.toFixed(1)} µs CPU per delivery against the gateway, ${baseline.measurement.clientCpuMicrosPerOp?.toFixed(1)} against the baseline; the server used ${gateway.measurement.cpuMicrosPerOp?.toFixed(1)} / ${baseline.measurement.cpuMicrosPerOp?.toFixed(1)}, at ${gateway.measurement.cpuCores?.toFixed(2)} / ${baseline.measurement.cpuCores?.toFixed(2)} cores busy`,
        `published messages not delivered during the runs (dropped by a full subscriber queue): gateway ${(dropped(gateway) * 100).toFixed(1)}%, baseline ${(dropped(baseline) * 100).toFixed(1)}%`,
      ],
    },
  ];
}
