import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
import { processGroupMembers } from './process-group';

export interface ProcessSpawnerSettings {
  scratchRoot: string;
  /** Apply the profile's rlimits (prlimit found and allowed by the options). */
  applyLimits: boolean;
  /** Wrap in `setpriv --pdeathsig KILL` so the agent dies with the gateway (setpriv found). */
  deathSignal: boolean;
  /** Where per-agent pids cgroups go (see kernel sandbox-pids-cgroup), or why there are none. */
  pidsCgroupParent?: string;
  pidsCgroupUnavailable?: string;
}

/**
 * Runs the agent as a plain child: `setpriv --pdeathsig KILL` makes it die with the gateway (even
 * on SIGKILL), `prlimit` applies rlimits; both exec, so the child's pid is the agent's and its exit
 * status is the agent's own. The agent leads a process group of its own, so signals and kill()
 * reach the processes it forked, and what is left of the group when the agent exits is killed:
 * the sandbox lives as long as the agent, as with bubblewrap.
 */
export async function spawnPlainProcess(spec: SpawnSpec, settings: ProcessSpawnerSettings): Promise<SandboxedProcess> {
  const pidsGroup = settings.applyLimits ? processLimitGroup(spec, settings.pidsCgroupParent, settings.pidsCgroupUnavailable) : undefined;
  makePrivateDir(settings.scratchRoot);
  const scratchDir = mkdtempSync(path.join(settings.scratchRoot, `${spec.agentId}-`));
  const env = sandboxEnvironment(spec);
  env.TMPDIR = scratchDir;
  env.OPENCLAW_SCRATCH_DIR = scratchDir;
  if (spec.gatewaySocket) env.OPENCLAW_GATEWAY_SOCKET = spec.gatewaySocket;

  const limitArgs = settings.applyLimits ? prlimitArguments(spec.profile.limits) : [];
  const argv = [
    ...(settings.deathSignal ? ['setpriv', '--pdeathsig', 'KILL', '--'] : []),
    ...(limitArgs.length > 0 ? ['prlimit', ...limitArgs, '--'] : []),
    spec.command,
    ...spec.args,
  ];
  const [file, args] = pidsGroup ? pidsGroup.joinCommand(argv) : [argv[0], argv.slice(1)];
  const child = spawn(file, args, {
    cwd: spec.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // setsid(): a new session and process group led by the agent, out of the gateway's terminal.
    detached: true,
  });

  let done = false;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // The group is already empty.
    }
  };
  const exited = new Promise<SandboxExit>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      killGroup('SIGKILL');
      rmSync(scratchDir, { recursive: true, force: true });
      if (pidsGroup) void pidsGroup.remove().then(() => resolve({ code, signal }));
      else resolve({ code, signal });
    });
  });

  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) => {
      rmSync(scratchDir, { recursive: true, force: true });
      if (child.pid === undefined) void pidsGroup?.remove();
      reject(
        gatewayError('GW_FAILED_PRECONDITION', `agent "${spec.agentId}": cannot start "${argv[0]}": ${error.message}`, {
          field: 'command',
          cause: error,
          details: { reason: 'setup' },
        }),
      );
    });
  });

  const groupId = child.pid!;
  return {
    child,
    scratchDir,
    exited,
    agentPids: () => (done ? [] : processGroupMembers(groupId)),
    signal: (signal) => {
      if (!done) killGroup(signal);
    },
    kill: (signal = 'SIGKILL') => {
      if (!done) killGroup(signal);
    },
  };
}
