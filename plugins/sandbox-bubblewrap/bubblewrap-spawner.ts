import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  gatewayError,
  makePrivateDir,
  processLimitGroup,
  prlimitArguments,
  sandboxEnvironment,
  type SandboxExit,
  type SandboxedProcess,
  type SpawnSpec,
} from '../../kernel';
import { agentArguments, SANDBOX_GATEWAY_SOCKET, type SandboxLayout } from './bwrap-arguments';
import { agentExit } from './exit-status';
import { ISOLATED_NAMESPACES, sharedNamespaces } from './namespace-check';
import { descendantPids, hasExecutedOtherThan } from './process-tree';

export interface BubblewrapSettings extends SandboxLayout {
  bwrap: string;
  /** `dev:ino` of the bwrap binary: a sandbox process still running it has not exec'd the agent yet. */
  bwrapIdentity: string;
  scratchRoot: string;
  setupTimeoutMs: number;
  /** prlimit(1) on the host (also visible inside through the runtime paths) and its `dev:ino`. */
  prlimit: string;
  prlimitIdentity: string;
  /** Where per-sandbox pids cgroups are created, when the host offers one (see sandbox-pids-cgroup). */
  pidsCgroupParent?: string;
  /** Why there is no pids cgroup, for the error when a limit could not be enforced otherwise. */
  pidsCgroupUnavailable?: string;
}

/** Why a spawn failed, as a bounded metric label. */
export type SpawnFailure = 'precondition' | 'setup' | 'namespaces';

interface SandboxStatus {
  'child-pid': number;
  'pid-namespace': number;
}

/** How often setup polls /proc while waiting for the agent's exec. */
const EXEC_POLL_MS = 2;

/**
 * `prlimit <limits> -- bwrap <isolation> -- command args`. prlimit execs bwrap, so the limits are
 * inherited by everything inside and bwrap stays the gateway's direct child (its --die-with-parent
 * then tears the whole pid namespace down if the gateway dies, even by SIGKILL).
 *
 * Process tree on the host: bwrap (the child) → bwrap as pid 1 of the new pid namespace (reported
 * on fd 3 as `child-pid`) → the agent and whatever it forks. Before handing the process out we check
 * from the host that pid 1 really lives in namespaces of its own (killing it otherwise), and wait
 * until the agent was exec'd, so `agentPids()` and `signal()` reach the agent from the first moment.
 */
export async function spawnInBubblewrap(spec: SpawnSpec, settings: BubblewrapSettings): Promise<SandboxedProcess> {
  if (!spec.profile.network && !spec.gatewaySocket) {
    throw gatewayError(
      'GW_FAILED_PRECONDITION',
      `agent "${spec.agentId}": sandbox profile has network: false but the gateway has no Unix socket transport; add a unix listener or grant network in the profile`,
      { field: 'sandbox.network', details: { reason: 'precondition' satisfies SpawnFailure } },
    );
  }
  const pidsGroup = processLimitGroup(spec, settings.pidsCgroupParent, settings.pidsCgroupUnavailable);
  makePrivateDir(settings.scratchRoot);
  const scratchDir = mkdtempSync(path.join(settings.scratchRoot, `${spec.agentId}-`));
  const env = agentEnvironment(spec);
  // RLIMIT_NPROC is set inside, after bwrap created the user namespace: the kernel then counts the
  // processes of this sandbox's namespace against it, not every process of the user on the host
  // (the namespace's parent-level cap is taken from bwrap's limit at creation, left unlimited).
  const processes = spec.profile.limits.processes;
  const inner = processes === undefined ? [] : [settings.prlimit, `--nproc=${processes}`, '--'];
  const bwrapArgs = [
    ...agentArguments(settings, { profile: spec.profile, scratchDir, gatewaySocket: spec.gatewaySocket, cwd: spec.cwd, env }),
    '--json-status-fd',
    '3',
    '--',
    ...inner,
    spec.command,
    ...spec.args,
  ];
  const limitArgs = prlimitArguments({ ...spec.profile.limits, processes: undefined });
  const argv = limitArgs.length > 0 ? [settings.prlimit, ...limitArgs, '--', settings.bwrap, ...bwrapArgs] : [settings.bwrap, ...bwrapArgs];
  const [file, args] = pidsGroup ? pidsGroup.joinCommand(argv) : [argv[0], argv.slice(1)];
  // Own session on the host: a Ctrl-C at the gateway's terminal must not reach the sandboxes
  // directly (the supervisor stops them gracefully); death with the gateway is --die-with-parent's job.
  const child = spawn(file, args, {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    detached: true,
  });

  let done = false;
  let sandbox: SandboxStatus | undefined;
  const exited = new Promise<SandboxExit>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (done) return;
      done = true;
      // bwrap's pid 1 dies with it (parent-death signal), taking the namespace along; make sure
      // before the scratch dir goes, in case the kernel has not delivered that signal yet.
      if (sandbox) killNamespace(sandbox);
      rmSync(scratchDir, { recursive: true, force: true });
      const exit = agentExit(code, signal);
      if (pidsGroup) void pidsGroup.remove().then(() => resolve(exit));
      else resolve(exit);
    };
    child.once('exit', finish);
    child.once('error', () => {
      if (child.pid === undefined) finish(127, null);
    });
  });

  try {
    sandbox = await readSandboxStatus(child, exited, settings.setupTimeoutMs);
    const expected = spec.profile.network ? ISOLATED_NAMESPACES : [...ISOLATED_NAMESPACES, 'net'];
    const shared = sharedNamespaces(sandbox['child-pid'], expected);
    if (shared.length > 0) {
      throw Object.assign(new Error(`the sandbox shares the gateway's ${shared.join(', ')} namespace(s); refusing to run it`), {
        reason: 'namespaces',
      });
    }
    await waitForExec(sandbox['child-pid'], [settings.bwrapIdentity, settings.prlimitIdentity], () => done, settings.setupTimeoutMs);
  } catch (error) {
    kill(child, sandbox);
    await exited;
    const reason: SpawnFailure = (error as { reason?: SpawnFailure }).reason ?? 'setup';
    // Nobody reads stderr before the sandbox is handed out, so bwrap's complaint is still buffered.
    const detail = ((child.stderr!.read() as Buffer | null)?.toString() ?? '').trim().slice(0, 2000);
    throw gatewayError(
      'GW_FAILED_PRECONDITION',
      `agent "${spec.agentId}": sandbox failed to start: ${(error as Error).message}${detail ? ` (bwrap: ${detail})` : ''}`,
      {
        cause: error,
        details: { reason },
      },
    );
  }

  const namespaceInit = sandbox['child-pid'];
  const agentPids = () => (done ? [] : descendantPids(namespaceInit));
  return {
    child,
    scratchDir,
    exited,
    agentPids,
    signal(signal) {
      signalEach(agentPids(), signal);
    },
    kill(signal = 'SIGKILL') {
      if (done) return;
      if (signal === 'SIGKILL') kill(child, sandbox);
      // Other signals go to every agent process; bwrap's pid 1 would ignore them, and bwrap on the
      // host would die of them and take the namespace down with SIGKILL, which is not what was asked.
      else signalEach(agentPids(), signal);
    },
  };
}

/**
 * The environment inside: allow-listed gateway variables and the spec's own, with the gateway
 * socket's host path replaced by where it is bound inside, so a spec saying
 * `OPENCLAW_TARGET=unix:<host socket>` keeps working; `OPENCLAW_GATEWAY_SOCKET` names it.
 */
function agentEnvironment(spec: SpawnSpec): Record<string, string> {
  const env = sandboxEnvironment(spec);
  if (spec.gatewaySocket) {
    for (const [name, value] of Object.entries(env)) env[name] = value.split(spec.gatewaySocket).join(SANDBOX_GATEWAY_SOCKET);
    env.OPENCLAW_GATEWAY_SOCKET = SANDBOX_GATEWAY_SOCKET;
  }
  env.TMPDIR = '/tmp';
  env.OPENCLAW_SCRATCH_DIR = '/tmp';
  return env;
}

function signalEach(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Exited meanwhile.
    }
  }
}

/** SIGKILL to a pid namespace's init kills every process in it (the kernel's own teardown). */
function killNamespace(sandbox: SandboxStatus): void {
  const pid = sandbox['child-pid'];
  try {
    // Guard against pid reuse: only the process that is still init of that namespace.
    if (readlinkSync(`/proc/${pid}/ns/pid`) !== `pid:[${sandbox['pid-namespace']}]`) return;
    process.kill(pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

function kill(child: ChildProcess, sandbox: SandboxStatus | undefined): void {
  if (sandbox) killNamespace(sandbox);
  child.kill('SIGKILL');
}

function readSandboxStatus(child: ChildProcess, exited: Promise<SandboxExit>, timeoutMs: number): Promise<SandboxStatus> {
  const status = child.stdio[3] as NodeJS.ReadableStream;
  return new Promise<SandboxStatus>((resolve, reject) => {
    let text = '';
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const timer = setTimeout(() => settle(() => reject(new Error(`no sandbox status within ${timeoutMs} ms`))), timeoutMs);
    status.on('data', (chunk: Buffer) => {
      if (settled) return; // later lines (exit-code) are not needed: exit comes from the child
      text += chunk.toString();
      const end = text.indexOf('}');
      if (end < 0) return;
      settle(() => {
        try {
          const parsed = JSON.parse(text.slice(0, end + 1)) as SandboxStatus;
          if (!Number.isInteger(parsed['child-pid'])) throw new Error(`unexpected sandbox status ${text.slice(0, end + 1)}`);
          resolve(parsed);
        } catch (error) {
          reject(error);
        }
      });
    });
    void exited.then((exit) => settle(() => reject(new Error(`bwrap exited during setup (code ${exit.code}, signal ${exit.signal})`))));
  });
}

/**
 * Waits until a process below the namespace's init runs something other than bwrap or prlimit (the agent was
 * exec'd). An agent that exits before it is seen ends the wait too: its exit is reported normally.
 */
async function waitForExec(namespaceInit: number, wrappers: readonly string[], isDone: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!isDone()) {
    if (descendantPids(namespaceInit).some((pid) => hasExecutedOtherThan(pid, wrappers))) return;
    if (Date.now() > deadline) throw new Error(`the agent was not started within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, EXEC_POLL_MS));
  }
}
