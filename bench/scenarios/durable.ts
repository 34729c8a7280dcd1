/**
 * Durable messages: fill an offline agent's inbox with `durableMessages` messages that are
 * synced before they are acknowledged (batches of 100 on one PublishStream), kill -9 the gateway,
 * restart it on the same data folder, and time how long until it is ready and until the agent,
 * reconnecting, gets its first delivery.
 */
import { registerAgent, windowBetween, type ScenarioScope } from '../harness';
import type { ResultRow } from '../result';

const AGENT = 'bench-durable-inbox';
const BATCH = 100;

interface PublishResult {
  framesAnswered: number;
  messagesAnswered: number;
  failed: number;
  stored: number;
  firstError?: string;
  elapsedMs: number;
}

interface SubscriberCounts {
  deliveries: number;
  errors: number;
  firstError?: string;
  firstDeliveryEpochMs: number;
  subscribedAtEpochMs: number;
}

function durableLimits(messages: number) {
  const room = messages + 10_000;
  return {
    durable: { maxPending: room },
    offlineInbox: { maxMessages: room, maxBytes: 1024 * 1024 * 1024 },
    storeMapSizeBytes: 4 * 1024 * 1024 * 1024,
  };
}

async function fill(scope: ScenarioScope, address: string, messages: number, verify: boolean) {
  const publisher = await scope.startLoad({ role: 'publisher', address, batchSize: BATCH, agentId: AGENT, durable: true, window: 8 });
  const result = await publisher.call<PublishResult>('publish', { messages, verify });
  await publisher.close();
  return result;
}

export async function durableRows(scope: ScenarioScope): Promise<ResultRow[]> {
  const { settings } = scope;
  const total = settings.durableMessages;

  // Baseline: the same frames acknowledged without storing anything.
  const raw = await scope.startServer('baseline');
  const rawBefore = await raw.stats();
  const rawFill = await fill(scope, raw.address, total, false);
  const rawCpu = windowBetween(rawBefore, await raw.stats()).cpuMicros;
  await scope.cleanup();

  const dataDir = scope.tempDir('durable');
  const router = durableLimits(total);
  const transport = { quotas: { publishRate: { messagesPerSecond: 0 } } };
  const first = await scope.startServer('gateway', { dataDir, router, transport });
  await registerAgent(first.address, AGENT, 'bench-inbox');
  const before = await first.stats();
  const filled = await fill(scope, first.address, total, true);
  const fillCpu = windowBetween(before, await first.stats()).cpuMicros;
  if (filled.failed > 0) throw new Error(`gateway: ${filled.failed} durable messages failed: ${filled.firstError}`);
  if (filled.stored !== total) throw new Error(`gateway: ${filled.stored} of ${total} durable messages reported stored`);

  await first.child.kill('SIGKILL');
  const restartedAt = performance.now();
  const second = await scope.startServer('gateway', { dataDir, router, transport });
  const readyMs = performance.now() - restartedAt;
  const subscriber = await scope.startLoad({
    role: 'subscriber',
    address: second.address,
    streams: 1,
    connections: 1,
    topics: [],
    agentId: AGENT,
  });
  await subscriber.call('open');
  const waited = await subscriber.call<SubscriberCounts>('waitReceiving', { timeoutMs: 30_000 });
  if (waited.deliveries === 0)
    throw new Error(`gateway: no durable message was redelivered after restart (${waited.firstError ?? 'no error'})`);
  const firstDeliveryMs = waited.firstDeliveryEpochMs - waited.subscribedAtEpochMs;
  await scope.cleanup();

  const rate = (total / filled.elapsedMs) * 1000;
  const rawRate = (total / rawFill.elapsedMs) * 1000;
  const judged = !settings.quick;
  const pending = `${total.toLocaleString('en-US')} pending`;
  return [
    {
      scenario: 'durable',
      metric: `durable msg/s, synced before ack (PublishStream, ${BATCH}/frame)`,
      unit: 'msg/s',
      gateway: { value: rate, runs: [rate], cpuMicrosPerOp: fillCpu / total },
      baseline: { value: rawRate, runs: [rawRate], cpuMicrosPerOp: rawCpu / total },
      ratio: rate / rawRate,
      target: '≥ 20,000 msg/s',
      pass: judged ? rate >= 20_000 : undefined,
      notes: ['baseline acknowledges the same frames without storing them'],
    },
    {
      scenario: 'durable',
      metric: `restart after kill -9 until ready (${pending})`,
      unit: 'ms',
      gateway: { value: readyMs, runs: [readyMs] },
      target: '≤ 2,000 ms',
      pass: judged ? readyMs <= 2_000 : undefined,
      notes: [`process spawn to ready, module loading through tsx included; startGateway alone took ${second.ready.startMs.toFixed(0)} ms`],
    },
    {
      scenario: 'durable',
      metric: `first redelivery after the agent reconnects (${pending})`,
      unit: 'ms',
      gateway: { value: firstDeliveryMs, runs: [firstDeliveryMs] },
      notes: ['from opening Subscribe (after RegisterAgent) to the first delivery of a stored message'],
    },
  ];
}
