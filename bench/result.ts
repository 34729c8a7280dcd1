/** The shape of the suite's results (bench/results/latest.json) and how targets are judged. */
import type { LatencySummary } from './stats';
import { median } from './stats';
import type { Window } from './harness';

export interface Measurement {
  /** Median over runs. */
  value: number;
  runs: number[];
  /** Server CPU (user + system) per operation, median over runs, in microseconds. */
  cpuMicrosPerOp?: number;
  /** Server CPU busy fraction during the runs (1 = one full core). */
  cpuCores?: number;
  /** Load generators' CPU per operation (all of them together), median over runs, in microseconds. */
  clientCpuMicrosPerOp?: number;
  latency?: LatencySummary;
}

export interface ResultRow {
  scenario: string;
  metric: string;
  unit: string;
  gateway: Measurement;
  baseline?: Measurement;
  /** gateway / baseline. */
  ratio?: number;
  target?: string;
  /** Undefined when the row has no target or the run was --quick (figures not judged). */
  pass?: boolean;
  notes?: string[];
}

export interface ScenarioResult {
  id: string;
  title: string;
  rows: ResultRow[];
  durationMs: number;
  error?: string;
}

export interface RunSample {
  ops: number;
  window: Window;
  clientCpuMicros?: number;
}

/** Folds per-run samples (operations and server CPU over a window) into one measurement. */
export function throughput(samples: readonly RunSample[]): Measurement {
  const rates = samples.map((s) => (s.window.elapsedMs > 0 ? (s.ops / s.window.elapsedMs) * 1000 : 0));
  const cpu = samples.filter((s) => s.ops > 0).map((s) => s.window.cpuMicros / s.ops);
  const cores = samples.map((s) => (s.window.elapsedMs > 0 ? s.window.cpuMicros / 1000 / s.window.elapsedMs : 0));
  const client = samples.filter((s) => s.ops > 0 && s.clientCpuMicros !== undefined).map((s) => s.clientCpuMicros! / s.ops);
  return {
    value: median(rates),
    runs: rates,
    cpuMicrosPerOp: median(cpu),
    cpuCores: median(cores),
    ...(client.length > 0 ? { clientCpuMicrosPerOp: median(client) } : {}),
  };
}

export function ratioOf(gateway: Measurement, baseline?: Measurement): number | undefined {
  return baseline && baseline.value > 0 ? gateway.value / baseline.value : undefined;
}
