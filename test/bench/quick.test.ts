/**
 * CI smoke test of the benchmark suite: `bench/run.ts --quick` runs every scenario against the
 * real gateway and the raw baseline (child processes, real gRPC on loopback) and writes its JSON.
 * Figures are not asserted: CI machines vary; that the suite runs end to end is what is checked.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SCENARIOS } from '../../bench/scenarios';

const ROOT = path.resolve(__dirname, '../..');

interface BenchReport {
  mode: string;
  machine: { cores: number };
  scenarios: Array<{ id: string; error?: string; rows: Array<{ scenario: string; metric: string; gateway: { value: number } }> }>;
}

function runTsx(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('npm run bench -- --quick', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'openclaw-bench-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('completes every scenario and writes the results JSON', async () => {
    const out = path.join(dir, 'quick.json');
    // --compare against a file that does not exist yet must fail at once, before any measuring.
    const missing = await runTsx(['bench/run.ts', '--quick', '--out', out, '--compare', path.join(dir, 'nope.json')]);
    expect(missing.code).not.toBe(0);
    expect(missing.output).toMatch(/nope\.json: not a bench results file/);

    const { code, output } = await runTsx(['bench/run.ts', '--quick', '--out', out]);
    const report = JSON.parse(readFileSync(out, 'utf8')) as BenchReport;

    expect(report.mode).toBe('quick');
    expect(report.machine.cores).toBeGreaterThan(0);
    const failures = report.scenarios.filter((s) => s.error).map((s) => `${s.id}: ${s.error}`);
    expect({ failures, output: failures.length ? output : '' }).toEqual({ failures: [], output: '' });
    expect(code).toBe(0);
    expect(report.scenarios.map((s) => s.id)).toEqual(SCENARIOS.map((s) => s.id));
    for (const scenario of report.scenarios) {
      expect(scenario.rows.length).toBeGreaterThan(0);
      for (const row of scenario.rows) expect(Number.isFinite(row.gateway.value)).toBe(true);
    }
    // The table is printed too.
    expect(output).toMatch(/scenario\s+metric\s+gateway\s+raw grpc-js/);
    expect(readFileSync(out.replace(/\.json$/, '.md'), 'utf8')).toContain('| scenario | metric |');

    // One SVG chart per scenario and an index page that shows them all with the table.
    const charts = path.join(dir, 'quick-charts');
    const index = readFileSync(path.join(charts, 'index.html'), 'utf8');
    expect(index).toContain('<table>');
    for (const scenario of report.scenarios) {
      expect(index).toContain(`src="${scenario.id}.svg"`);
      const svg = readFileSync(path.join(charts, `${scenario.id}.svg`), 'utf8');
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      expect((svg.match(/<rect /g) ?? []).length).toBeGreaterThan(2);
    }

    // The standalone comparer reads two runs; a run against itself changes nothing.
    const compared = await runTsx(['bench/compare.ts', out, out]);
    expect(compared.code).toBe(0);
    const rowNames = new Set(report.scenarios.flatMap((s) => s.rows.map((r) => r.scenario)));
    const lines = compared.output.split('\n').filter((line) => rowNames.has(line.split(' ')[0]));
    expect(lines.length).toBe(report.scenarios.reduce((n, s) => n + s.rows.length, 0));
    for (const line of lines) expect(line).toMatch(/1\.00×|–/);
  }, 600_000);
});
