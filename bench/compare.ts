/**
 * Before/after of two bench runs: `npm run bench -- --compare OLD.json` after a run, or
 * `npx tsx bench/compare.ts OLD.json [NEW.json]` (NEW defaults to bench/results/latest.json).
 *
 * Rows are matched by scenario and metric. Besides the raw figures it prints the change of the
 * ratio to raw grpc-js and of the server CPU per operation: on a shared machine those two move
 * least with the neighbours' load, so they are the figures to judge a change by.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ResultRow, ScenarioResult } from './result';

export interface BenchReportFile {
  startedAt?: string;
  mode?: string;
  scenarios: ScenarioResult[];
}

export interface ComparedRow {
  scenario: string;
  metric: string;
  unit: string;
  before?: ResultRow;
  after?: ResultRow;
}

export function readReport(file: string): BenchReportFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: not a bench results file (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  if (!parsed || typeof parsed !== 'object' || !Array.isArray((parsed as BenchReportFile).scenarios)) {
    throw new Error(`${file}: not a bench results file (no "scenarios" array; write one with npm run bench -- --out ${file})`);
  }
  return parsed as BenchReportFile;
}

export function compareReports(before: BenchReportFile, after: BenchReportFile): ComparedRow[] {
  const key = (row: ResultRow) => `${row.scenario}\u0000${row.metric}`;
  const rows = new Map<string, ComparedRow>();
  const visit = (report: BenchReportFile, side: 'before' | 'after') => {
    for (const scenario of report.scenarios) {
      for (const row of scenario.rows) {
        const entry = rows.get(key(row)) ?? { scenario: row.scenario, metric: row.metric, unit: row.unit };
        entry[side] = row;
        rows.set(key(row), entry);
      }
    }
  };
  visit(before, 'before');
  visit(after, 'after');
  return [...rows.values()];
}

function num(value: number | undefined, unit = ''): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  const text = Math.abs(value) >= 1000 ? Math.round(value).toLocaleString('en-US') : value < 10 ? value.toFixed(2) : value.toFixed(1);
  return unit ? `${text} ${unit}` : text;
}

function change(before: number | undefined, after: number | undefined): string {
  if (before === undefined || after === undefined || !(before > 0) || !Number.isFinite(after)) return '–';
  return `${(after / before).toFixed(2)}×`;
}

const HEADER = [
  'scenario',
  'metric',
  'before',
  'after',
  'after/before',
  'ratio to raw (before → after)',
  'CPU µs/op (before → after)',
  'CPU after/before',
];

export function comparisonRows(compared: readonly ComparedRow[]): string[][] {
  return compared.map((row) => {
    const b = row.before;
    const a = row.after;
    const ratio = (r?: ResultRow) => (r?.ratio === undefined ? '–' : `${r.ratio.toFixed(2)}×`);
    return [
      row.scenario,
      row.metric,
      b ? num(b.gateway.value, row.unit) : 'absent',
      a ? num(a.gateway.value, row.unit) : 'absent',
      change(b?.gateway.value, a?.gateway.value),
      `${ratio(b)} → ${ratio(a)}`,
      `${num(b?.gateway.cpuMicrosPerOp)} → ${num(a?.gateway.cpuMicrosPerOp)}`,
      change(b?.gateway.cpuMicrosPerOp, a?.gateway.cpuMicrosPerOp),
    ];
  });
}

export function comparisonTable(compared: readonly ComparedRow[]): string {
  const rows = [HEADER, ...comparisonRows(compared)];
  const widths = HEADER.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]))
      .join('  ')
      .trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

function main(argv: readonly string[]): number {
  const [oldFile, newFile = path.resolve(__dirname, 'results', 'latest.json')] = argv;
  if (!oldFile) {
    console.error('usage: tsx bench/compare.ts OLD.json [NEW.json]   (NEW defaults to bench/results/latest.json)');
    return 2;
  }
  try {
    const before = readReport(oldFile);
    const after = readReport(newFile);
    console.log(
      `before: ${oldFile}${before.startedAt ? ` (${before.startedAt})` : ''}\nafter:  ${newFile}${after.startedAt ? ` (${after.startedAt})` : ''}\n`,
    );
    console.log(comparisonTable(compareReports(before, after)));
    return 0;
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
