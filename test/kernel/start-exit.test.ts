/**
 * A failed start fails fast and SIGTERM always ends the process: the real CLI is spawned and must
 * exit by itself after a normal start, a failed start, and a start interrupted half-way. Without
 * the fixes the last two hang (the test times out) instead of exiting.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { collect, spawnCli, waitForOutput, type CliResult } from '../helpers/cli';
import { tempDir } from '../helpers/temp-dir';

const STUCK_MONITOR = path.resolve(__dirname, '../fixtures/slow-start/stuck-monitor.js');
const children: ChildProcess[] = [];

function project(listen: unknown[], extraPlugins: unknown[] = []): string {
  const dir = tempDir('ocgw-exit-');
  fs.writeFileSync(
    path.join(dir, 'gateway.config.json'),
    JSON.stringify({
      gateway: { dataDir: './data', drainTimeoutMs: 3000, processMetrics: false, logFormat: 'json' },
      plugins: ['registry-memory', 'router-embedded', 'auth-standard', { use: 'transport-grpc', options: { listen } }, ...extraPlugins],
    }),
  );
  return dir;
}

function start(cwd: string): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawnCli(['start'], { cwd });
  children.push(child);
  return { child, done: collect(child) };
}

afterEach(() => {
  // Also when an assertion failed: no gateway outlives its test.
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('start and stop of the real process', () => {
  test('a normal start ends with exit 0 after SIGTERM', async () => {
    const dir = project([{ host: '127.0.0.1', port: 0 }, { socket: 'gw.sock' }]);
    const { child, done } = start(dir);
    await waitForOutput(child, /listening on/, 60_000);
    child.kill('SIGTERM');
    const result = await done;
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(result.stdout).toContain('gateway stopped');
  }, 90_000);

  test('a Unix socket under a missing folder is refused before anything binds, and the process exits', async () => {
    // /proc refuses new folders; Node's recursive mkdir used to spin forever on it. The start's
    // preflight (the check validate runs) now names the listener before any plugin starts.
    const dir = project([{ host: '127.0.0.1', port: 0 }, { socket: '/proc/openclaw-missing/gw.sock' }]);
    const result = await start(dir).done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /GW_CONFIG_INVALID .* plugin "transport-grpc" at \/plugins\/3\/options\/listen\/1\/socket: the socket's folder "\/proc\/openclaw-missing" does not exist/,
    );
    expect(result.stdout).not.toContain('gateway ready');
  }, 90_000);

  test('a listener that cannot bind (port taken by another listener) fails the start, and the process exits', async () => {
    const net = await import('node:net');
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const port = (holder.address() as { port: number }).port;
      const result = await start(project([{ host: '127.0.0.1', port }])).done;
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('GW_PLUGIN_START_FAILED');
      expect(result.stderr).toContain(`listen[0]: cannot listen on 127.0.0.1:${port}`);
    } finally {
      holder.close();
    }
  }, 90_000);

  test('SIGTERM during a start that never finishes stops what started and ends the process', async () => {
    const dir = project([{ host: '127.0.0.1', port: 0 }], [STUCK_MONITOR]);
    const { child, done } = start(dir);
    await waitForOutput(child, /start began and will never finish/, 60_000);
    child.kill('SIGTERM');
    const result = await done;
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(result.stdout).toContain('stuck-monitor: stop called');
    expect(result.stdout).toContain('start interrupted by a signal');
    expect(result.stdout).not.toContain('gateway ready');
  }, 90_000);
});
