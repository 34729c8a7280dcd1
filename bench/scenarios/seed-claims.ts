/**
 * The seed's published claims as measured scenarios, each row reported against the seed's figure:
 *
 * - `instances`: 1,000+ registered instances, each with its own open Subscribe stream (its
 *   inbox), while point-to-point traffic to those instances flows at a steady rate. Every stream
 *   must receive traffic (so each is a live session); reported: the SendMessage latency under that
 *   population and the server's RSS per instance.
 * - `steady-latency`: the latency table (register 2/5 ms, send 1/3 ms, status 0.5/2 ms, avg/p99)
 *   under a steady open-loop load of 1,000 calls/s, the three calls mixed in equal parts.
 *
 * Both run against the raw grpc-js baseline too, which answers the same RPCs with canned replies
 * (SendMessage is its unary echo, delivering nothing): its figures are the transport's own floor
 * on this machine at this moment.
 */
import type { BenchChild } from '../ipc';
import { registerAgent, windowBetween, type Implementation, type ScenarioScope } from '../harness';
import type { Measurement, ResultRow } from '../result';
import { sleep } from '../stats';
import { agentIdOf, serviceOf, type DriveResult } from '../load/unary';

interface HolderStatus {
  opened: number;
  held: number;
  errors: number;
  firstError?: string;
}

const FILE_LIMIT = 65_536;
/** The seed's figures (README of the original design). */
export const SEED = {
  instances: 1_000,
  steadyRate: 1_000,
  latency: { registerAgent: [2, 5], sendMessage: [1, 3], getAgentStatus: [0.5, 2] } as Record<SteadyMethod, [number, number]>,
};

type SteadyMethod = 'registerAgent' | 'sendMessage' | 'getAgentStatus';

function failed(implementation: Implementation, what: string, result: DriveResult): never {
  throw new Error(`${implementation}: ${result.errors} ${what} calls failed: ${result.firstError}`);
}

function latencyMeasurement(result: DriveResult, cpuMicros: number): Measurement {
  return {
    value: result.latency.p99Ms,
    runs: [result.latency.p99Ms],
    cpuMicrosPerOp: cpuMicros / Math.max(1, result.calls),
    latency: result.latency,
  };
}

async function measureInstances(scope: ScenarioScope, implementation: Implementation) {
  const { settings } = scope;
  const instances = settings.quick ? 200 : SEED.instances;
  const room = instances + 1_000;
  const server = await scope.startServer(implementation, {
    fileLimit: FILE_LIMIT,
    router: { maxSessions: room },
    // Every instance is the one anonymous identity on one address.
    transport: {
      maxSubscribeStreams: room,
      quotas: { agentsPerIdentity: room, connectionsPerPeer: room, streamsPerIdentity: room, subscriptionsPerIdentity: room },
    },
  });
  await sleep(200);
  const idle = await server.stats(true);
  const services = Math.max(1, Math.ceil(instances / 100));
  const registrar = await scope.startLoad(
    { role: 'unary', address: server.address, topic: 'unused', agents: instances, services },
    { label: 'load:register' },
  );
  const registered = await registrar.call<DriveResult>('sequence', { method: 'registerAgent', count: instances, concurrency: 16 });
  if (registered.errors > 0) failed(implementation, 'RegisterAgent', registered);

  const perProcess = Math.ceil(instances / settings.holderProcesses);
  const holders: BenchChild[] = [];
  for (let p = 0; p * perProcess < instances; p++) {
    const connections = Math.min(perProcess, instances - p * perProcess);
    holders.push(
      await scope.startLoad(
        { role: 'holder', address: server.address, connections, topic: 'bench.instances', firstAgent: p * perProcess },
        { fileLimit: FILE_LIMIT },
      ),
    );
  }
  await Promise.all(holders.map((h) => h.call('open')));

  // Traffic to every instance's inbox in turn, paced, until each stream has received some.
  const sender = await scope.startLoad(
    { role: 'unary', address: server.address, topic: 'unused', agents: instances, services, targetAgents: instances, connections: 4 },
    { label: 'load:send' },
  );
  const before = await server.stats();
  const traffic = await sender.call<DriveResult>('paced', {
    method: 'sendMessage',
    rate: SEED.steadyRate,
    durationMs: Math.max(settings.pacedMs, Math.ceil((instances / SEED.steadyRate) * 2_000)),
  });
  const after = await server.stats(true);
  if (traffic.errors > 0) failed(implementation, 'SendMessage', traffic);
  const statuses = await Promise.all(holders.map((h) => h.call<HolderStatus>('status')));
  const held = statuses.reduce((sum, s) => sum + s.held, 0);
  const streamErrors = statuses.reduce((sum, s) => sum + s.errors, 0);
  if (streamErrors > 0)
    throw new Error(`${implementation}: ${streamErrors} Subscribe streams failed: ${statuses.find((s) => s.firstError)?.firstError}`);
  await scope.cleanup();
  const perInstanceKb = (after.rssBytes - idle.rssBytes) / instances / 1024;
  return { instances, held, send: latencyMeasurement(traffic, windowBetween(before, after).cpuMicros), perInstanceKb };
}

async function measureSteady(scope: ScenarioScope, implementation: Implementation) {
  const { settings } = scope;
  const agents = settings.quick ? 200 : SEED.instances;
  const server = await scope.startServer(implementation, { transport: { quotas: { agentsPerIdentity: agents + 1_000 } } });
  const services = Math.max(1, Math.ceil(agents / 100));
  // The agents status asks about exist before the clock starts; RegisterAgent then re-registers them.
  for (let i = 0; i < Math.min(agents, 50); i++) await registerAgent(server.address, agentIdOf(i), serviceOf(i % services));
  const methods: SteadyMethod[] = ['registerAgent', 'sendMessage', 'getAgentStatus'];
  const loads = await Promise.all(
    methods.map((method) =>
      scope.startLoad(
        { role: 'unary', address: server.address, topic: 'bench.steady', agents: Math.min(agents, 50), services },
        { label: `load:${method}` },
      ),
    ),
  );
  // Warm-up at the same pace, then the measured run: each method a third of the total rate.
  const rate = SEED.steadyRate / methods.length;
  const durationMs = settings.quick ? 500 : 10_000;
  await Promise.all(loads.map((load, i) => load.call<DriveResult>('paced', { method: methods[i], rate, durationMs: settings.warmupMs })));
  const before = await server.stats();
  const results = await Promise.all(loads.map((load, i) => load.call<DriveResult>('paced', { method: methods[i], rate, durationMs })));
  const after = await server.stats();
  await scope.cleanup();
  const cpuMicros = windowBetween(before, after).cpuMicros;
  const totalCalls = results.reduce((sum, r) => sum + r.calls, 0);
  const out = {} as Record<SteadyMethod, Measurement>;
  results.forEach((result, i) => {
    if (result.errors > 0) failed(implementation, methods[i], result);
    // CPU is shared by the three; each call's share is the window's CPU over all calls.
    out[methods[i]] = { ...latencyMeasurement(result, 0), cpuMicrosPerOp: cpuMicros / Math.max(1, totalCalls) };
  });
  return out;
}

const ms = (value: number) => (value < 10 ? value.toFixed(2) : value.toFixed(1));

export async function instancesRows(scope: ScenarioScope): Promise<ResultRow[]> {
  const baseline = await measureInstances(scope, 'baseline');
  const gateway = await measureInstances(scope, 'gateway');
  const judged = !scope.settings.quick;
  const count = gateway.instances.toLocaleString('en-US');
  return [
    {
      scenario: 'instances',
      metric: `SendMessage p99 to ${count} registered instances, each with an open Subscribe stream, at ${SEED.steadyRate} calls/s`,
      unit: 'ms',
      gateway: gateway.send,
      baseline: baseline.send,
      ratio: baseline.send.value > 0 ? gateway.send.value / baseline.send.value : undefined,
      target: `seed: ${SEED.instances.toLocaleString('en-US')}+ instances with streams; send p99 ≤ ${SEED.latency.sendMessage[1]} ms`,
      pass: judged ? gateway.held >= gateway.instances && gateway.send.value <= SEED.latency.sendMessage[1] : undefined,
      notes: [
        `${gateway.held} of ${gateway.instances} instance streams received traffic (the baseline answers SendMessage without delivering: the transport's floor); avg ${ms(gateway.send.latency!.meanMs ?? 0)} ms`,
        `server RSS per instance ${gateway.perInstanceKb.toFixed(1)} KB (baseline ${baseline.perInstanceKb.toFixed(1)} KB)`,
      ],
    },
  ];
}

export async function steadyLatencyRows(scope: ScenarioScope): Promise<ResultRow[]> {
  const baseline = await measureSteady(scope, 'baseline');
  const gateway = await measureSteady(scope, 'gateway');
  const judged = !scope.settings.quick;
  const labels: Record<SteadyMethod, string> = {
    registerAgent: 'RegisterAgent',
    sendMessage: 'SendMessage',
    getAgentStatus: 'GetAgentStatus',
  };
  return (Object.keys(labels) as SteadyMethod[]).map((method) => {
    const [avg, p99] = SEED.latency[method];
    const g = gateway[method];
    return {
      scenario: 'steady-latency',
      metric: `${labels[method]} p99 (avg ${ms(g.latency!.meanMs ?? 0)} ms) under ${SEED.steadyRate.toLocaleString('en-US')} calls/s mixed`,
      unit: 'ms',
      gateway: g,
      baseline: baseline[method],
      ratio: baseline[method].value > 0 ? g.value / baseline[method].value : undefined,
      target: `seed: avg ${avg} ms, p99 ${p99} ms`,
      pass: judged ? (g.latency!.meanMs ?? 0) <= avg && g.value <= p99 : undefined,
    };
  });
}
