/**
 * What every sandbox plugin does the same way (the SandboxService contract), shown with real agent
 * processes against both sandbox-bubblewrap and sandbox-process: environment allow-list, scratch dir
 * lifetime, rlimits, signals reaching the agent itself, kill() reaching every process, the agent's
 * own exit status, and metrics.
 */
import { existsSync, readFileSync } from 'node:fs';
import bubblewrap from '../../plugins/sandbox-bubblewrap';
import { schema as bubblewrapSchema } from '../../plugins/sandbox-bubblewrap/schema';
import plainProcess from '../../plugins/sandbox-process';
import { schema as processSchema } from '../../plugins/sandbox-process/schema';
import type { MetricsFactory, SandboxedProcess, SandboxProfile, SandboxService } from '../../kernel';
import { outputOf, schemaDefaults, setUpPlugin } from './plugin-context';

interface Subject {
  name: 'sandbox-bubblewrap' | 'sandbox-process';
  setUp(): Promise<{ service: SandboxService; stop(): Promise<void>; ctx: { metrics: MetricsFactory } }>;
}

const subjects: Subject[] = [
  { name: 'sandbox-bubblewrap', setUp: () => setUpPlugin<unknown, SandboxService>(bubblewrap, schemaDefaults(bubblewrapSchema)) },
  { name: 'sandbox-process', setUp: () => setUpPlugin<unknown, SandboxService>(plainProcess, schemaDefaults(processSchema)) },
];

/** Running (a zombie waiting to be reaped counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves with the agent's stdout so far once it printed `marker`. */
function printed(sandboxed: SandboxedProcess, marker: string): Promise<string> {
  let stdout = '';
  return new Promise((resolve, reject) => {
    sandboxed.child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes(marker)) resolve(stdout);
    });
    void sandboxed.exited.then((exit) =>
      reject(new Error(`agent exited (${exit.code}, ${exit.signal}) before printing ${marker}: ${stdout}`)),
    );
  });
}

/** Forks `sleep 1000` (a grandchild that ignores nothing) and prints its pid after `ready`. */
const FORK_GRANDCHILD = `const grandchild = require('child_process').spawn('sleep', ['1000'], { stdio: 'ignore' });`;

describe.each(subjects)('$name', (subject) => {
  let sandbox: SandboxService;
  let stop: () => Promise<void>;
  let metrics: MetricsFactory;

  beforeAll(async () => {
    const plugin = await subject.setUp();
    sandbox = plugin.service;
    stop = plugin.stop;
    metrics = plugin.ctx.metrics;
  });
  afterAll(() => stop());

  const run = (agentId: string, code: string, profile: Partial<SandboxProfile> = {}, env: Record<string, string> = {}) =>
    sandbox.spawn({
      agentId,
      command: process.execPath,
      args: ['-e', code],
      env,
      profile: { readOnlyPaths: [], readWritePaths: [], network: true, envAllowList: ['PATH'], limits: {}, ...profile },
    });

  it('passes only allow-listed gateway variables plus the spec env, and a scratch dir removed after exit', async () => {
    process.env.OC_SECRET_TOKEN = 'must-not-leak';
    process.env.OC_ALLOWED = 'allowed';
    try {
      const sandboxed = await run(
        'env',
        `require('fs').writeFileSync(process.env.TMPDIR + '/note', 'n'); console.log(JSON.stringify(process.env))`,
        { envAllowList: ['PATH', 'OC_ALLOWED'] },
        { GIVEN: 'yes' },
      );
      expect(existsSync(sandboxed.scratchDir!)).toBe(true);
      const out = await outputOf(sandboxed);
      expect(out.code).toBe(0);
      const env = JSON.parse(out.stdout) as Record<string, string>;
      // bwrap itself sets PWD to the directory it chdir'd into (inside the sandbox).
      const bwrapOwn = subject.name === 'sandbox-bubblewrap' ? ['PWD'] : [];
      expect(Object.keys(env).sort()).toEqual(['GIVEN', 'OC_ALLOWED', 'OPENCLAW_SCRATCH_DIR', 'PATH', ...bwrapOwn, 'TMPDIR'].sort());
      expect(env).toMatchObject({ GIVEN: 'yes', OC_ALLOWED: 'allowed', PATH: process.env.PATH });
      expect(env.TMPDIR).toBe(subject.name === 'sandbox-bubblewrap' ? '/tmp' : sandboxed.scratchDir);
      expect(existsSync(sandboxed.scratchDir!)).toBe(false);
    } finally {
      delete process.env.OC_SECRET_TOKEN;
      delete process.env.OC_ALLOWED;
    }
  });

  it("reports the agent's own exit code, and a signal death as that signal", async () => {
    expect(await (await run('code', 'process.exit(3)')).exited).toEqual({ code: 3, signal: null });
    expect(await (await run('self-kill', `process.kill(process.pid, 'SIGTERM'); setInterval(() => {}, 1000)`)).exited).toEqual({
      code: null,
      signal: 'SIGTERM',
    });
  });

  it('stops a memory hog at its memory limit and lets a small agent run under the same limit', async () => {
    const hog = `const keep = []; for (let i = 0; i < 200; i++) keep.push(Buffer.alloc(8 * 1024 * 1024, 1)); console.log('survived')`;
    const out = await outputOf(await run('hog', hog, { limits: { memoryBytes: 256 * 1024 * 1024 } }));
    expect(out.stdout).not.toContain('survived');
    expect(out.code === 0 && out.signal === null).toBe(false);
    const fine = await outputOf(
      await run('small', `console.log(Buffer.alloc(1024 * 1024).length)`, { limits: { memoryBytes: 256 * 1024 * 1024 } }),
    );
    expect(fine.stdout.trim()).toBe(String(1024 * 1024));
  });

  it('applies the open-files limit', async () => {
    // Descriptors are closed before printing: stdout is set up lazily and may itself need one.
    const opener = `const fs = require('fs'); const fds = []; let code = 'none'; try { for (;;) fds.push(fs.openSync('/proc/self/status', 'r')); } catch (e) { code = e.code } for (const fd of fds) fs.closeSync(fd); console.log(code, fds.length < 40)`;
    const out = await outputOf(await run('nofile', opener, { limits: { openFiles: 40 } }));
    expect(out.stdout.trim()).toBe('EMFILE true');
  });

  it('sets every profile limit on the agent process (read back from /proc/self/limits)', async () => {
    const reader = `console.log(require('fs').readFileSync('/proc/self/limits', 'utf8'))`;
    const limits = { memoryBytes: 512 * 1024 * 1024, cpuSeconds: 120, openFiles: 200, processes: 5000 };
    const out = await outputOf(await run('limits', reader, { limits }));
    const row = (name: string) =>
      out.stdout
        .split('\n')
        .find((line) => line.startsWith(name))!
        .slice(26)
        .trim()
        .split(/\s+/)
        .slice(0, 2);
    expect(row('Max data size')).toEqual([String(limits.memoryBytes), String(limits.memoryBytes)]);
    expect(row('Max cpu time')).toEqual(['120', '120']);
    expect(row('Max open files')).toEqual(['200', '200']);
    // Set, though RLIMIT_NPROC is counted per host user and not enforced for root (docs/sandbox.md).
    expect(row('Max processes')).toEqual(['5000', '5000']);
  });

  it('stops a CPU spinner at its CPU-seconds limit (SIGXCPU, or SIGKILL at the hard limit)', async () => {
    const exit = await (await run('spin', 'for (;;) {}', { limits: { cpuSeconds: 1 } })).exited;
    expect(exit.code).toBeNull();
    expect(['SIGXCPU', 'SIGKILL']).toContain(exit.signal);
  });

  it('signal() delivers SIGTERM to the agent itself, which exits gracefully with code 0', async () => {
    const sandboxed = await run(
      'graceful',
      `process.on('SIGTERM', () => { console.log('graceful'); process.exit(0) }); setInterval(() => {}, 1000); console.log('ready')`,
    );
    await printed(sandboxed, 'ready');
    const [agentPid] = sandboxed.agentPids();
    expect(readFileSync(`/proc/${agentPid}/cmdline`, 'utf8').split('\0')[0]).toBe(process.execPath);
    const out = outputOf(sandboxed);
    sandboxed.signal('SIGTERM');
    expect(await out).toMatchObject({ stdout: 'graceful\n', code: 0, signal: null });
    expect(sandboxed.agentPids()).toEqual([]);
  });

  it('kill() kills every process of an agent that ignores SIGTERM, its grandchild included', async () => {
    const sandboxed = await run(
      'stubborn',
      `process.on('SIGTERM', () => {}); ${FORK_GRANDCHILD} setInterval(() => {}, 1000); setTimeout(() => console.log('ready'), 50)`,
    );
    await printed(sandboxed, 'ready');
    const pids = sandboxed.agentPids();
    expect(pids.length).toBe(2); // the agent and its sleep
    sandboxed.signal('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(alive(pids[0])).toBe(true);
    sandboxed.kill();
    const exit = await sandboxed.exited;
    expect(exit.signal).toBe('SIGKILL');
    await waitUntil(() => pids.every((pid) => !alive(pid)), 'every process of the sandbox is gone');
    if (subject.name === 'sandbox-bubblewrap') expect(alive(sandboxed.child.pid!)).toBe(false);
  });

  it('kills what the agent left behind when it exits (the sandbox lives as long as the agent)', async () => {
    const sandboxed = await run(
      'leaver',
      `process.on('SIGUSR2', () => process.exit(0)); ${FORK_GRANDCHILD} setInterval(() => {}, 1000); setTimeout(() => console.log('ready'), 50)`,
    );
    await printed(sandboxed, 'ready');
    const pids = sandboxed.agentPids();
    expect(pids.length).toBe(2);
    const agentPid = pids.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(process.execPath))!;
    process.kill(agentPid, 'SIGUSR2');
    expect(await sandboxed.exited).toEqual({ code: 0, signal: null });
    await waitUntil(() => pids.every((pid) => !alive(pid)), 'the grandchild is gone');
  });

  it('kills the sandboxes still running when the plugin stops (gateway shutdown)', async () => {
    const own = await subject.setUp();
    const sandboxed = await own.service.spawn({
      agentId: 'left-running',
      command: process.execPath,
      args: ['-e', `process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); setTimeout(() => console.log('ready'), 50)`],
      env: {},
      profile: { readOnlyPaths: [], readWritePaths: [], network: true, envAllowList: [], limits: {} },
    });
    await printed(sandboxed, 'ready');
    const pids = sandboxed.agentPids();
    expect(pids.length).toBe(1);
    await own.stop();
    expect(await sandboxed.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await waitUntil(() => !alive(pids[0]), 'the agent is gone');
  });

  it('counts spawns and exits in the sandbox metrics', async () => {
    const text = await metrics.registry.metrics();
    expect(text).toMatch(new RegExp(`openclaw_sandbox_spawned_total\\{sandbox="${subject.name}"\\} [1-9]`));
    expect(text).toMatch(new RegExp(`openclaw_sandbox_exits_total\\{sandbox="${subject.name}",outcome="signaled"\\} [1-9]`));
    expect(text).toMatch(new RegExp(`openclaw_sandbox_exits_total\\{sandbox="${subject.name}",outcome="failed"\\} [1-9]`));
    expect(text).toContain(`openclaw_sandbox_running{sandbox="${subject.name}"} 0`);
  });
});
