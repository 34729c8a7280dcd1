/** The results as a table (stdout, docs/performance.md) and as JSON (bench/results/latest.json). */
import os from 'node:os';
import type { ResultRow, ScenarioResult } from './result';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  platform: string;
  kernel: string;
  node: string;
  /** 1-minute load average before and after the suite: how busy the shared machine was. */
  loadBefore: number[];
  loadAfter?: number[];
}

export function describeMachine(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    node: process.version,
    loadBefore: os.loadavg(),
  };
}

function formatNumber(value: number | undefined, unit?: string): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  if (unit === 'ms' || unit === 'KB') return value < 10 ? value.toFixed(2) : value.toFixed(1);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

function verdict(row: ResultRow): string {
  if (row.pass === undefined) return row.target ? '·' : '';
  return row.pass ? 'yes' : 'NO';
}

export function tableRows(results: readonly ScenarioResult[]): string[][] {
  const rows: string[][] = [];
  for (const scenario of results) {
    if (scenario.error) {
      rows.push([scenario.id, `FAILED: ${scenario.error.split('\n')[0]}`, '', '', '', '', '', '', '', '']);
      continue;
    }
    for (const row of scenario.rows) {
      const pair = (l: { p50Ms: number; p99Ms: number }) => `${formatNumber(l.p50Ms, 'ms')} / ${formatNumber(l.p99Ms, 'ms')}`;
      const latency = row.gateway.latency
        ? `${pair(row.gateway.latency)}${row.baseline?.latency ? ` (raw ${pair(row.baseline.latency)})` : ''}`
        : '–';
      const cpu = `${formatNumber(row.gateway.cpuMicrosPerOp)} / ${formatNumber(row.baseline?.cpuMicrosPerOp)}`;
      const cpuRatio =
        row.gateway.cpuMicrosPerOp !== undefined && row.baseline?.cpuMicrosPerOp
          ? `${(row.gateway.cpuMicrosPerOp / row.baseline.cpuMicrosPerOp).toFixed(2)}×`
          : '–';
      rows.push([
        row.scenario,
        row.metric,
        `${formatNumber(row.gateway.value, row.unit)} ${row.unit}`,
        row.baseline ? `${formatNumber(row.baseline.value, row.unit)} ${row.unit}` : '–',
        row.ratio === undefined ? '–' : `${row.ratio.toFixed(2)}×`,
        latency,
        row.gateway.cpuMicrosPerOp === undefined ? '–' : cpu,
        cpuRatio,
        row.target ?? '',
        verdict(row),
      ]);
    }
  }
  return rows;
}

export const HEADER = [
  'scenario',
  'metric',
  'gateway',
  'raw grpc-js',
  'ratio',
  'p50 / p99 ms',
  'server CPU µs/op (gw / raw)',
  'CPU ratio',
  'target',
  'met',
];

export function textTable(results: readonly ScenarioResult[]): string {
  const rows = [HEADER, ...tableRows(results)];
  const widths = HEADER.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]))
      .join('  ')
      .trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export function markdownTable(results: readonly ScenarioResult[]): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const rows = tableRows(results);
  return [
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ].join('\n');
}
