/**
 * `bench/compare.ts` as a user runs it: a separate process on two results files written to disk,
 * one of them from an older layout (a scenario that no longer exists) and one broken file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

function row(scenario: string, metric: string, value: number, cpu: number, raw?: number) {
  return {
    scenario,
    metric,
    unit: 'msg/s',
    gateway: { value, runs: [value], cpuMicrosPerOp: cpu },
    ...(raw ? { baseline: { value: raw, runs: [raw], cpuMicrosPerOp: cpu }, ratio: value / raw } : {}),
  };
}

function compare(...files: string[]) {
  const result = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), 'bench/compare.ts', ...files], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

describe('bench --compare', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'openclaw-bench-compare-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints after/before of value, ratio to raw and CPU per operation, row by row', () => {
    const before = path.join(dir, 'before.json');
    const after = path.join(dir, 'after.json');
    writeFileSync(
      before,
      JSON.stringify({
        startedAt: 'yesterday',
        scenarios: [
          {
            id: 'relay',
            title: 't',
            durationMs: 1,
            rows: [row('relay-batched', 'routed', 400_000, 2, 500_000), row('gone', 'old metric', 5, 1)],
          },
        ],
      }),
    );
    writeFileSync(
      after,
      JSON.stringify({
        startedAt: 'today',
        scenarios: [{ id: 'relay', title: 't', durationMs: 1, rows: [row('relay-batched', 'routed', 600_000, 1.5, 500_000)] }],
      }),
    );

    const { code, out } = compare(before, after);
    expect(code).toBe(0);
    const relay = out.split('\n').find((line) => line.startsWith('relay-batched'))!;
    expect(relay).toContain('400,000 msg/s');
    expect(relay).toContain('600,000 msg/s');
    expect(relay).toContain('1.50×'); // value after/before
    expect(relay).toContain('0.80× → 1.20×'); // ratio to raw
    expect(relay).toContain('0.75×'); // CPU after/before
    const gone = out.split('\n').find((line) => line.startsWith('gone'))!;
    expect(gone).toContain('absent');
  });

  it('refuses a file that is not a results file, naming it', () => {
    const broken = path.join(dir, 'broken.json');
    writeFileSync(broken, '{"scenarios": 3}');
    const { code, out } = compare(broken, broken);
    expect(code).toBe(2);
    expect(out).toContain(`${broken}: not a bench results file`);
  });
});
