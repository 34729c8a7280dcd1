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
  scenarios: Array<{ id: string; error?: string; rows: Array<{ metric: string; gateway: { value: number } }> }>;
}

function runQuick(out: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), 'bench/run.ts', '--quick', '--out', out], {
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
    const { code, output } = await runQuick(out);
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
  }, 420_000);
});
