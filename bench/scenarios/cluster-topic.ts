/**
 * Topic pub/sub across two gateways against raw nats.js on the same NATS, in the same run: a
 * PublishStream publisher on gateway A → NATS → a Subscribe stream on gateway B, then a nats.js
 * publisher → NATS → a nats.js subscriber with the same frames (batchSize messages, `window`
 * frames in flight, 64-byte payloads). Messages are counted where they land, so messages dropped
 * anywhere on the way never count. Goal (issue #19): the gateways carry ≥ 0.5× what raw NATS does.
 */
import { randomBytes } from 'node:crypto';
import { connect as natsConnect } from 'nats';
import type { BenchChild } from '../ipc';
import type { ClusterGatewayProcessConfig } from '../cluster-gateway-process';
import { windowBetween, type ScenarioScope } from '../harness';
import { ratioOf, throughput, type Measurement, type ResultRow, type RunSample } from '../result';
import type { ServerReady, ServerStats } from '../server-ipc';
import { sleep } from '../stats';
import { natsReachable } from './cluster';

export interface ClusterTopicShape {
  id: string;
  batchSize: number;
  /** Frames in flight. */
  window: number;
}

interface Counts {
  deliveries: number;
  streamsReceiving: number;
  errors: number;
  firstError?: string;
}

const TOPIC = 'bench.cluster';

/** Windows of `settings.windowMs`: messages counted at the subscriber, CPU of `servers` summed. */
async function measureWindows(
  scope: ScenarioScope,
  publisher: BenchChild,
  subscriber: BenchChild,
  servers: readonly BenchChild<ServerReady>[],
): Promise<{ measurement: Measurement; published: number; delivered: number }> {
  await publisher.call('start');
  const waited = await subscriber.call<Counts>('waitReceiving', { timeoutMs: 20_000 });
  if (waited.streamsReceiving === 0) throw new Error(`the subscriber received nothing (${waited.firstError ?? 'no error reported'})`);
  await sleep(scope.settings.warmupMs);
  const serverStats = async (): Promise<ServerStats> => {
    const all = await Promise.all(servers.map((s) => s.call<ServerStats>('stats')));
    return { ...all[0], cpuMicros: all.reduce((sum, s) => sum + s.cpuMicros, 0) };
  };
  const loads = [publisher, subscriber];
  const clientCpu = async () => (await Promise.all(loads.map((l) => l.call<number>('cpu')))).reduce((sum, micros) => sum + micros, 0);
  const first = await subscriber.call<Counts>('counts');
  const publishedBefore = (await publisher.call<{ messagesAnswered: number }>('progress')).messagesAnswered;
  let last = first;
  const samples: RunSample[] = [];
  for (let run = 0; run < scope.settings.runs; run++) {
    const statsBefore = await serverStats();
    const before = await subscriber.call<Counts>('counts');
    const clientBefore = await clientCpu();
    await sleep(scope.settings.windowMs);
    const statsAfter = await serverStats();
    last = await subscriber.call<Counts>('counts');
    const clientAfter = await clientCpu();
    samples.push({
      ops: last.deliveries - before.deliveries,
      window: servers.length > 0 ? windowBetween(statsBefore, statsAfter) : { elapsedMs: scope.settings.windowMs, cpuMicros: 0 },
      clientCpuMicros: clientAfter - clientBefore,
    });
  }
  const publishedAfter = (await publisher.call<{ messagesAnswered: number }>('progress')).messagesAnswered;
  await publisher.call('stop');
  if (last.errors > 0) throw new Error(`the subscriber failed: ${last.firstError}`);
  const measurement = throughput(samples);
  // Raw NATS: the server is nats-server (shared with everything else on the machine), not measured.
  if (servers.length === 0) {
    delete measurement.cpuMicrosPerOp;
    delete measurement.cpuCores;
  }
  return { measurement, published: publishedAfter - publishedBefore, delivered: last.deliveries - first.deliveries };
}

async function measureGateways(scope: ScenarioScope, natsUrl: string, shape: ClusterTopicShape) {
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  const dataDir = scope.tempDir('cluster');
  const start = (name: string) =>
    scope.startChild<ServerReady>(
      'cluster-gateway-process.ts',
      {
        natsUrl,
        prefix,
        gatewayId: `${prefix}-${name}`,
        dataDir: `${dataDir}/${name}`,
        // One anonymous publisher measured flat out: the per-identity publish rate would be the figure.
        transport: { quotas: { publishRate: { messagesPerSecond: 0 } } },
      } satisfies ClusterGatewayProcessConfig,
      `gateway-${name}`,
    );
  try {
    const [a, b] = await Promise.all([start('a'), start('b')]);
    const subscriber = await scope.startLoad({ role: 'subscriber', address: b.ready.address, streams: 1, connections: 1, topics: [TOPIC] });
    await subscriber.call('open');
    const publisher = await scope.startLoad({
      role: 'publisher',
      address: a.ready.address,
      batchSize: shape.batchSize,
      topic: TOPIC,
      window: shape.window,
    });
    return await measureWindows(scope, publisher, subscriber, [a.child, b.child]);
  } finally {
    await scope.cleanup();
    await deleteStreams(natsUrl, prefix);
  }
}

async function measureRawNats(scope: ScenarioScope, natsUrl: string, shape: ClusterTopicShape) {
  const subject = `benchraw${randomBytes(4).toString('hex')}.t.${TOPIC}`;
  try {
    const subscriber = await scope.startLoad({ role: 'nats-subscriber', natsUrl, subject });
    await subscriber.call('open');
    const publisher = await scope.startLoad({ role: 'nats-publisher', natsUrl, subject, batchSize: shape.batchSize, window: shape.window });
    return await measureWindows(scope, publisher, subscriber, []);
  } finally {
    await scope.cleanup();
  }
}

/** The run's streams and KV buckets (their streams are `KV_<bucket>`) on the shared NATS. */
async function deleteStreams(natsUrl: string, prefix: string): Promise<void> {
  const nc = await natsConnect({ servers: natsUrl });
  try {
    const jsm = await nc.jetstreamManager();
    for await (const name of jsm.streams.names()) if (name.includes(prefix)) await jsm.streams.delete(name).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

export async function clusterTopicRows(scope: ScenarioScope): Promise<ResultRow[]> {
  const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  if (!(await natsReachable(natsUrl))) {
    return [
      {
        scenario: 'cluster-topic',
        metric: 'topic msg/s across gateways',
        unit: 'msg/s',
        gateway: { value: 0, runs: [] },
        notes: [`skipped: no NATS at ${natsUrl}`],
      },
    ];
  }
  return [
    await clusterTopicRow(scope, natsUrl, { id: 'cluster-topic-batched', batchSize: 100, window: 8 }),
    await clusterTopicRow(scope, natsUrl, { id: 'cluster-topic-stream', batchSize: 1, window: 64 }),
  ];
}

async function clusterTopicRow(scope: ScenarioScope, natsUrl: string, shape: ClusterTopicShape): Promise<ResultRow> {
  const raw = await measureRawNats(scope, natsUrl, shape);
  const gateway = await measureGateways(scope, natsUrl, shape);
  const ratio = ratioOf(gateway.measurement, raw.measurement);
  const lost = (run: { published: number; delivered: number }) => Math.max(0, 1 - run.delivered / Math.max(1, run.published));
  return {
    scenario: shape.id,
    metric: `topic msg/s, PublishStream on A → Subscribe on B, ${shape.batchSize} per frame (raw column: nats.js → nats.js on the same NATS)`,
    unit: 'msg/s',
    gateway: gateway.measurement,
    baseline: raw.measurement,
    ratio,
    target: '≥ 0.5× raw nats.js',
    pass: scope.settings.quick ? undefined : (ratio ?? 0) >= 0.5,
    notes: [
      `server CPU is gateway A + gateway B per delivered message (${gateway.measurement.cpuMicrosPerOp?.toFixed(1)} µs, ${gateway.measurement.cpuCores?.toFixed(2)} cores busy); nats-server's is not measured (shared)`,
      `load generators used ${gateway.measurement.clientCpuMicrosPerOp?.toFixed(1)} µs CPU per message against the gateways, ${raw.measurement.clientCpuMicrosPerOp?.toFixed(1)} against raw NATS`,
      `published (answered) messages not delivered during the runs: gateways ${(lost(gateway) * 100).toFixed(1)}%, raw NATS ${(lost(raw) * 100).toFixed(1)}%`,
    ],
  };
}
