/**
 * Concurrent connections: `connections` client connections, each with one open Subscribe
 * stream, spread over several client processes. Every stream must receive a probe message (so
 * each is a live session in the server, not just an accepted socket); the server's RSS growth
 * over its idle RSS, divided by the connections, is the cost of one.
 */
import type { BenchChild } from '../ipc';
import { publishOnce, type Implementation, type ScenarioScope } from '../harness';
import type { Measurement, ResultRow } from '../result';
import { sleep } from '../stats';

const TOPIC = 'bench.hold';
/** Each process needs a descriptor per connection plus Node's own. */
const FILE_LIMIT = 65_536;

interface HolderStatus {
  opened: number;
  held: number;
  errors: number;
  firstError?: string;
  rssBytes: number;
}

async function measureConnections(scope: ScenarioScope, implementation: Implementation) {
  const { settings } = scope;
  const total = settings.connections;
  const room = total + 1_000;
  const server = await scope.startServer(implementation, {
    fileLimit: FILE_LIMIT,
    router: { maxSessions: room },
    // All from one address and the one anonymous identity.
    transport: {
      maxSubscribeStreams: room,
      quotas: { connectionsPerPeer: room, streamsPerIdentity: room, subscriptionsPerIdentity: room },
    },
  });
  await sleep(200);
  const idle = await server.stats(true);
  const perProcess = Math.ceil(total / settings.holderProcesses);
  const holders: BenchChild[] = [];
  for (let p = 0; p < settings.holderProcesses; p++) {
    const connections = Math.min(perProcess, total - p * perProcess);
    if (connections <= 0) break;
    holders.push(await scope.startLoad({ role: 'holder', address: server.address, connections, topic: TOPIC }, { fileLimit: FILE_LIMIT }));
  }
  const openedAt = performance.now();
  await Promise.all(holders.map((h) => h.call('open')));
  const openMs = performance.now() - openedAt;

  // Probe until every stream has received one message (subscriptions go live asynchronously).
  let statuses: HolderStatus[];
  const deadline = Date.now() + 120_000;
  for (;;) {
    await publishOnce(server.address, TOPIC);
    await sleep(500);
    statuses = await Promise.all(holders.map((h) => h.call<HolderStatus>('status')));
    const held = statuses.reduce((sum, s) => sum + s.held, 0);
    const errors = statuses.reduce((sum, s) => sum + s.errors, 0);
    if (errors > 0) throw new Error(`${implementation}: ${errors} streams failed: ${statuses.find((s) => s.firstError)?.firstError}`);
    if (held >= total) break;
    if (Date.now() > deadline) throw new Error(`${implementation}: only ${held} of ${total} streams received the probe within 120 s`);
  }
  // Let the probe fan-out's garbage go before sampling what the connections themselves hold.
  await sleep(500);
  const loaded = await server.stats(true);
  const clientRss = statuses.reduce((sum, s) => sum + s.rssBytes, 0);
  await scope.cleanup();
  const perConnectionKb = (loaded.rssBytes - idle.rssBytes) / total / 1024;
  const measurement: Measurement = { value: perConnectionKb, runs: [perConnectionKb] };
  return { measurement, idleRss: idle.rssBytes, loadedRss: loaded.rssBytes, openMs, clientRss };
}

export async function connectionRows(scope: ScenarioScope): Promise<ResultRow[]> {
  const baseline = await measureConnections(scope, 'baseline');
  const gateway = await measureConnections(scope, 'gateway');
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
  const total = scope.settings.connections.toLocaleString('en-US');
  return [
    {
      scenario: 'connections',
      metric: `RSS per connection, ${total} connections each with a Subscribe stream (all held)`,
      unit: 'KB',
      gateway: gateway.measurement,
      baseline: baseline.measurement,
      ratio: baseline.measurement.value > 0 ? gateway.measurement.value / baseline.measurement.value : undefined,
      target: 'held, ≤ 40 KB RSS per connection',
      pass: scope.settings.quick ? undefined : gateway.measurement.value <= 40,
      notes: [
        `gateway RSS ${mb(gateway.idleRss)} idle → ${mb(gateway.loadedRss)} holding; baseline ${mb(baseline.idleRss)} → ${mb(baseline.loadedRss)}`,
        `opening all took ${(gateway.openMs / 1000).toFixed(1)} s (gateway), ${(baseline.openMs / 1000).toFixed(1)} s (baseline)`,
      ],
    },
  ];
}
