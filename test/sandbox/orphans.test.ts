/**
 * `--die-with-parent` (bubblewrap) and `setpriv --pdeathsig KILL` (process): a gateway killed with
 * SIGKILL leaves no agent behind. A real parent process (test/fixtures/sandbox/spawn-parent.ts)
 * stands in for the gateway.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

const parentScript = path.resolve(__dirname, '../fixtures/sandbox/spawn-parent.ts');

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Running (a zombie waiting for its parent to reap it counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Starts the stand-in gateway, returns its pid and what it reported once the agent was ready. */
async function startParent(sandbox: string, fork: boolean) {
  const parent = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), parentScript, sandbox, ...(fork ? ['fork'] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  parent.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const report = await new Promise<{ pids: number[]; top: number; dataDir: string }>((resolve, reject) => {
    let stdout = '';
    parent.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('\n')) resolve(JSON.parse(stdout) as { pids: number[]; top: number; dataDir: string });
    });
    parent.once('exit', (code) => reject(new Error(`parent exited (${code}) before reporting: ${stderr}`)));
  });
  const exited = new Promise((resolve) => parent.once('exit', resolve));
  return { parent, report, exited };
}

describe('no orphans when the gateway is SIGKILLed', () => {
  it('sandbox-bubblewrap: the whole sandbox (bwrap, the agent and its grandchild) dies with the parent', async () => {
    const { parent, report, exited } = await startParent('sandbox-bubblewrap', true);
    // The agent and the grandchild it forked.
    expect(report.pids.length).toBe(2);
    const everything = [report.top, ...report.pids];
    for (const pid of everything) expect(alive(pid)).toBe(true);
    parent.kill('SIGKILL');
    await exited;
    await waitUntil(() => everything.every((pid) => !alive(pid)), 'every sandbox process is gone');
    rmSync(report.dataDir, { recursive: true, force: true });
  });

  it('sandbox-process: the agent dies with the parent (parent-death signal)', async () => {
    const { parent, report, exited } = await startParent('sandbox-process', false);
    expect(report.pids).toEqual([report.top]);
    expect(alive(report.top)).toBe(true);
    parent.kill('SIGKILL');
    await exited;
    await waitUntil(() => !alive(report.top), 'the agent is gone');
    rmSync(report.dataDir, { recursive: true, force: true });
  });
});
