export interface ProcessSandboxOptions {
  /** Where per-agent scratch dirs are created; relative to the gateway's data dir. */
  scratchRoot: string;
  /** Apply the profile's rlimits with prlimit(1) (util-linux). */
  applyLimits: boolean;
  /** Per-agent pids cgroup for `limits.processes`: `auto`, `off` or a cgroup dir (as sandbox-bubblewrap). */
  pidsCgroup: string;
}

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    scratchRoot: { type: 'string', minLength: 1, default: 'sandbox-process' },
    applyLimits: { type: 'boolean', default: true },
    pidsCgroup: { type: 'string', pattern: '^(auto|off|/.*)$', default: 'auto' },
  },
} as const;
