/**
 * The sandbox kind: how the supervisor isolates the agents it starts. Swappable: `sandbox-bubblewrap`
 * (Linux namespaces) and `sandbox-process` (a plain child process) implement the same service, and
 * the supervisor never knows which one it talks to.
 */
import type { ChildProcess } from 'node:child_process';

export interface ResourceLimits {
  /** Private writable memory (RLIMIT_DATA; `memory.max` under cgroup v2). */
  memoryBytes?: number;
  /** CPU time (RLIMIT_CPU): the kernel sends SIGXCPU, then SIGKILL. */
  cpuSeconds?: number;
  /** Open file descriptors (RLIMIT_NOFILE). */
  openFiles?: number;
  /**
   * Processes/threads: a per-sandbox pids cgroup (`pids.max`) where one can be created, and
   * RLIMIT_NPROC (per sandbox user namespace in bubblewrap). Refused as root without a cgroup.
   */
  processes?: number;
}

export interface SandboxProfile {
  /** Paths bound read-only into the sandbox (the agent's code and data; the runtime is added by the sandbox). */
  readOnlyPaths: string[];
  /** Paths bound read-write. */
  readWritePaths: string[];
  /** When false the agent gets its own empty network namespace and reaches the gateway over its Unix socket. */
  network: boolean;
  /**
   * Names of the gateway's own environment variables the agent inherits (e.g. `PATH`, `LANG`).
   * Variables set explicitly in the agent spec (`SpawnSpec.env`) are always passed.
   */
  envAllowList: string[];
  limits: ResourceLimits;
}

export interface SpawnSpec {
  agentId: string;
  command: string;
  args: string[];
  /** Set explicitly for the agent (the spec's `env` plus the supervisor's `OPENCLAW_*` variables). */
  env: Record<string, string>;
  cwd?: string;
  profile: SandboxProfile;
  /**
   * Host path of the gateway's Unix socket, so agents without network reach it. The sandbox tells
   * the agent where to find it in `OPENCLAW_GATEWAY_SOCKET`: `sandbox-bubblewrap` binds it at
   * `/run/openclaw/gateway.sock` inside (and rewrites this host path wherever it appears in the
   * agent's env values, e.g. `OPENCLAW_TARGET=unix:<host path>`); `sandbox-process` passes the host
   * path as is. Agents should connect to `unix:$OPENCLAW_GATEWAY_SOCKET`.
   */
  gatewaySocket?: string;
}

export interface SandboxExit {
  /**
   * Exit code of the agent, or null when it was killed by a signal (`sandbox-bubblewrap` decodes
   * bwrap's 128+n into signal n; a kill() of the whole sandbox reports the signal used).
   */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SandboxedProcess {
  readonly child: ChildProcess;
  /** Private writable scratch dir (host path), removed when the process exits. */
  readonly scratchDir?: string;
  /** Resolves once the sandbox's top process exited and its scratch dir was removed. */
  readonly exited: Promise<SandboxExit>;
  /**
   * Host pids of the agent's own processes (without sandbox helpers), for signals and RSS reads.
   * Empty once it exited.
   */
  agentPids(): number[];
  /** Sends a signal to the agent's own processes (a graceful SIGTERM reaches the agent, not a wrapper). */
  signal(signal: NodeJS.Signals): void;
  /** Kills the whole sandbox (every process in it) with `signal`, SIGKILL by default. */
  kill(signal?: NodeJS.Signals): void;
}

/** The sandbox kind's service: how managed agents are isolated. Swappable (bubblewrap, process). */
export interface SandboxService {
  readonly isolation: 'namespaces' | 'none';
  /** What this sandbox does not isolate, in words for operators (logged loudly at start). */
  readonly limitations: readonly string[];
  spawn(spec: SpawnSpec): Promise<SandboxedProcess>;
}

/** The environment an agent gets: allow-listed variables of the gateway, then the spec's own. */
export function sandboxEnvironment(
  spec: Pick<SpawnSpec, 'env' | 'profile'>,
  hostEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of spec.profile.envAllowList) {
    const value = hostEnv[name];
    if (value !== undefined) env[name] = value;
  }
  return Object.assign(env, spec.env);
}

/** `prlimit(1)` options for the limits (both soft and hard), applied before the agent is exec'd. */
export function prlimitArguments(limits: ResourceLimits): string[] {
  const args: string[] = [];
  if (limits.memoryBytes !== undefined) args.push(`--data=${limits.memoryBytes}`);
  if (limits.cpuSeconds !== undefined) args.push(`--cpu=${limits.cpuSeconds}`);
  if (limits.openFiles !== undefined) args.push(`--nofile=${limits.openFiles}`);
  if (limits.processes !== undefined) args.push(`--nproc=${limits.processes}`);
  return args;
}
