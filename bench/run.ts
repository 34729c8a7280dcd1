/**
 * `npm run bench [-- --quick] [--only relay,durable] [--runs N] [--profile] [--out file.json]
 *   [--gateway-options '{"router":{"subscriberQueue":{"maxEvents":64}}}'] [--compare OLD.json]`
 *
 * Runs every scenario against the real gateway and, side by side in the same run, a raw
 * @grpc/grpc-js server doing the same transport work (bench/baseline-process.ts). Servers and
 * load generators are separate processes; figures are the server's own CPU and memory. Prints a
 * table and writes bench/results/latest.json (and latest.md, and an SVG chart per scenario with an
 * index.html under bench/results/charts/). `--compare` prints before/after against an older run.
 * Exits non-zero when a scenario could not run; missed targets are reported, not failures (CI runs `--quick` as a smoke test).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ScenarioScope } from './harness';
import { htmlTable, writeCharts } from './charts';
import { compareReports, comparisonTable, readReport } from './compare';
import { HEADER, describeMachine, markdownTable, tableRows, textTable } from './report';
import type { ScenarioResult } from './result';
import { SCENARIOS } from './scenarios';
import { benchSettings, type BenchSettings } from './settings';

function parseArgs(argv: readonly string[]): { settings: BenchSettings; out: string; compare?: string } {
  const quick = argv.includes('--quick');
  const settings = benchSettings(quick);
  let out = path.resolve(__dirname, 'results', 'latest.json');
  let compare: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--quick') continue;
    else if (arg === '--only') settings.only = value().split(',').filter(Boolean);
    else if (arg === '--runs') settings.runs = Math.max(1, Number.parseInt(value(), 10) || 1);
    else if (arg === '--profile') settings.profileDir = path.resolve(__dirname, 'results', 'profiles');
    else if (arg === '--out') out = path.resolve(value());
    else if (arg === '--gateway-options') settings.gatewayOverrides = JSON.parse(value()) as Record<string, unknown>;
    else if (arg === '--compare') compare = path.resolve(value());
    else
      throw new Error(
        `unknown option ${arg} (known: --quick, --only ids, --runs n, --profile, --out file, --gateway-options json, --compare old.json)`,
      );
  }
  return { settings, out, compare };
}

async function main(): Promise<number> {
  const { settings, out, compare } = parseArgs(process.argv.slice(2));
  // Read the old run first: a typo in its path should fail before minutes of measuring.
  const before = compare ? readReport(compare) : undefined;
  const scenarios = SCENARIOS.filter((s) => !settings.only || settings.only.some((id) => s.id.includes(id)));
  if (scenarios.length === 0) throw new Error(`no scenario matches --only ${settings.only?.join(',')}`);
  if (settings.profileDir) mkdirSync(settings.profileDir, { recursive: true });
  mkdirSync(path.dirname(out), { recursive: true });

  const machine = describeMachine();
  const startedAt = new Date().toISOString();
  const began = performance.now();
  const results: ScenarioResult[] = [];
  const chartsDir = path.join(path.dirname(out), out.endsWith('latest.json') ? 'charts' : `${path.basename(out, '.json')}-charts`);
  const write = () => {
    const report = {
      mode: settings.quick ? 'quick' : 'full',
      startedAt,
      durationMs: performance.now() - began,
      machine: { ...machine, loadAfter: os.loadavg() },
      settings,
      scenarios: results,
    };
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(out.replace(/\.json$/, '') + '.md', `${markdownTable(results)}\n`);
    writeCharts(
      chartsDir,
      results,
      htmlTable(HEADER, tableRows(results)),
      `${settings.quick ? 'quick' : 'full'} run started ${startedAt} on ${machine.cores} × ${machine.cpuModel}, node ${machine.node}`,
    );
  };

  console.log(
    `openclaw bench (${settings.quick ? 'quick' : 'full'}): ${machine.cores} × ${machine.cpuModel}, ${machine.memoryGb} GB, node ${machine.node}, load ${machine.loadBefore.map((l) => l.toFixed(2)).join(' ')}`,
  );
  for (const scenario of scenarios) {
    const scope = new ScenarioScope(settings);
    const scenarioBegan = performance.now();
    process.stdout.write(`• ${scenario.id}: ${scenario.title} … `);
    const result: ScenarioResult = { id: scenario.id, title: scenario.title, rows: [], durationMs: 0 };
    try {
      result.rows = await scenario.run(scope);
    } catch (error) {
      result.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
    } finally {
      await scope.cleanup().catch(() => undefined);
    }
    result.durationMs = performance.now() - scenarioBegan;
    console.log(result.error ? `failed (${result.error.split('\n')[0]})` : `done in ${(result.durationMs / 1000).toFixed(1)} s`);
    results.push(result);
    write();
  }
  console.log(`\n${textTable(results)}\n`);
  for (const scenario of results) {
    for (const row of scenario.rows) for (const note of row.notes ?? []) console.log(`  ${row.scenario}: ${note}`);
  }
  if (before)
    console.log(
      `\nbefore/after against ${path.relative(process.cwd(), compare!)}:\n${comparisonTable(compareReports(before, { scenarios: results }))}`,
    );
  console.log(`charts: ${path.relative(process.cwd(), path.join(chartsDir, 'index.html'))}`);
  console.log(`\nwrote ${path.relative(process.cwd(), out)} in ${((performance.now() - began) / 1000).toFixed(0)} s`);
  return results.some((r) => r.error) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(2);
  },
);
