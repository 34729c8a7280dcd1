/**
 * The real CLI (`openclaw-gateway start -c <config>`) with managed agents: SIGTERM drains and stops
 * every agent (also one that ignores SIGTERM), SIGKILL of the gateway leaves none behind either
 * (sandbox-process: pdeathsig; sandbox-bubblewrap: --die-with-parent).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collect, spawnCli, waitForOutput } from '../helpers/cli';
import { alive, fixtureAgent, waitUntil } from './harness';

/** Every live process below `root` (children, grandchildren, ...). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // Exited while listing.
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found.filter(alive);
}

async function startCliGateway(sandbox: 'sandbox-process' | 'sandbox-bubblewrap') {
  const project = mkdtempSync(path.join(os.tmpdir(), 'ocgw-orphans-'));
  const config = {
    gateway: { logFormat: 'json', dataDir: path.join(project, 'data'), drainTimeoutMs: 5000 },
    plugins: [
      'registry-memory',
      'router-embedded',
      'auth-standard',
      { use: 'transport-grpc', options: { listen: [{ host: '127.0.0.1', port: 0 }, { socket: path.join(project, 'gw.sock') }] } },
      sandbox,
      {
        use: 'supervisor',
        options: {
          agents: [fixtureAgent('calm', 'well', { replicas: 2 }), fixtureAgent('deaf', 'ignore-sigterm', { stopTimeoutMs: 500 })],
        },
      },
    ],
  };
  writeFileSync(path.join(project, 'gateway.config.json'), JSON.stringify(config));
  const child = spawnCli(['start', '-c', 'gateway.config.json'], { cwd: project });
  const done = collect(child);
  const running = (id: string) => new RegExp(`managed agent ${id}: initializing → running`);
  await Promise.all(['calm-1', 'calm-2', 'deaf-1'].map((id) => waitForOutput(child, running(id), 30_000)));
  const processes = descendants(child.pid!);
  return { child, done, processes, project };
}

describe('no orphan agents when the gateway goes', () => {
  it('SIGTERM: agents are stopped gracefully (SIGKILL after stopTimeoutMs for one ignoring SIGTERM), exit code 0', async () => {
    const { child, done, processes, project } = await startCliGateway('sandbox-process');
    expect(processes.length).toBeGreaterThanOrEqual(3);
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(0);
    expect(processes.filter(alive)).toEqual([]);
    expect(result.stdout).toMatch(/managed agent deaf-1: still running 500 ms after SIGTERM; killing it/);
    expect(result.stdout).toMatch(/managed agent calm-1: maintenance → terminated/);
    rmSync(project, { recursive: true, force: true });
  }, 60_000);

  it.each(['sandbox-process', 'sandbox-bubblewrap'] as const)(
    'SIGKILL of the gateway leaves no agent process (%s)',
    async (sandbox) => {
      const { child, done, processes, project } = await startCliGateway(sandbox);
      expect(processes.length).toBeGreaterThanOrEqual(3);
      child.kill('SIGKILL');
      await done;
      await waitUntil(() => processes.every((pid) => !alive(pid)), 'every agent process is gone', 10_000);
      rmSync(project, { recursive: true, force: true });
    },
    60_000,
  );
});
