export interface ProcessSandboxOptions {
  /** Where per-agent scratch dirs are created; relative to the gateway's data dir. */
  scratchRoot: string;
  /** Apply the profile's rlimits with prlimit(1) (util-linux). */
  applyLimits: boolean;
}

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    scratchRoot: { type: 'string', minLength: 1, default: 'sandbox-process' },
    applyLimits: { type: 'boolean', default: true },
  },
} as const;
