import type { ChildProcess } from 'node:child_process';

export interface SandboxProfile {
  /** Paths bound read-only into the sandbox (the runtime and the agent's code). */
  readOnlyPaths: string[];
  /** Paths bound read-write. */
  readWritePaths: string[];
  network: boolean;
  /** Environment variable names passed through from the agent spec. */
  envAllowList: string[];
  limits: {
    memoryBytes?: number;
    cpuSeconds?: number;
    openFiles?: number;
    processes?: number;
  };
}

export interface SpawnSpec {
  agentId: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  profile: SandboxProfile;
  /** Unix socket of the gateway, bound into the sandbox so agents without network reach it. */
  gatewaySocket?: string;
}

export interface SandboxedProcess {
  readonly child: ChildProcess;
  /** Private writable scratch dir, removed when the process exits. */
  readonly scratchDir?: string;
  kill(signal?: NodeJS.Signals): void;
}

/** The sandbox kind's service: how managed agents are isolated. Swappable (bubblewrap, process). */
export interface SandboxService {
  readonly isolation: 'namespaces' | 'none';
  spawn(spec: SpawnSpec): Promise<SandboxedProcess>;
}
