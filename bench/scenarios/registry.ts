/**
 * Registry latency: RegisterAgent one call at a time until `registrations` agents exist (spread
 * over services of 100 instances each), then Discover and GetAgentStatus against that population.
 * The baseline answers the same RPCs with a canned reply: the transport's own floor.
 */
import { windowBetween, type Implementation, type ScenarioScope } from '../harness';
import type { Measurement, ResultRow } from '../result';
import type { DriveResult } from '../load/unary';

type Method = 'registerAgent' | 'discover' | 'getAgentStatus';

async function measureRegistry(scope: ScenarioScope, implementation: Implementation): Promise<Record<Method, Measurement>> {
  const { settings } = scope;
  // Every registration comes from the one anonymous identity.
  const server = await scope.startServer(implementation, { transport: { quotas: { agentsPerIdentity: settings.registrations + 1_000 } } });
  const services = Math.max(1, Math.ceil(settings.registrations / 100));
  const load = await scope.startLoad({ role: 'unary', address: server.address, topic: 'unused', agents: settings.registrations, services });
  const results = {} as Record<Method, Measurement>;
  const plan: Array<[Method, number]> = [
    ['registerAgent', settings.registrations],
    ['discover', settings.queries],
    ['getAgentStatus', settings.queries],
  ];
  for (const [method, count] of plan) {
    const before = await server.stats();
    const result = await load.call<DriveResult>('sequence', { method, count });
    const after = await server.stats();
    if (result.errors > 0) throw new Error(`${implementation}: ${result.errors} ${method} calls failed: ${result.firstError}`);
    results[method] = {
      value: result.latency.p99Ms,
      runs: [result.latency.p99Ms],
      cpuMicrosPerOp: windowBetween(before, after).cpuMicros / Math.max(1, result.calls),
      latency: result.latency,
    };
  }
  await scope.cleanup();
  return results;
}

export async function registryRows(scope: ScenarioScope): Promise<ResultRow[]> {
  const baseline = await measureRegistry(scope, 'baseline');
  const gateway = await measureRegistry(scope, 'gateway');
  const judged = !scope.settings.quick;
  const population = `${scope.settings.registrations.toLocaleString('en-US')} registered`;
  const row = (method: Method, metric: string, limitMs: number): ResultRow => ({
    scenario: 'registry',
    metric,
    unit: 'ms',
    gateway: gateway[method],
    baseline: baseline[method],
    ratio: baseline[method].value > 0 ? gateway[method].value / baseline[method].value : undefined,
    target: `p99 ≤ ${limitMs} ms`,
    pass: judged ? gateway[method].value <= limitMs : undefined,
  });
  return [
    row('registerAgent', `RegisterAgent p99 (sequential, up to ${population})`, 2),
    row('discover', `Discover p99 (service + range + tag, ${population})`, 1),
    row('getAgentStatus', `GetAgentStatus p99 (${population})`, 1),
  ];
}
