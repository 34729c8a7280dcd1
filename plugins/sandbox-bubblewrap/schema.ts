export interface BubblewrapOptions {
  /** bwrap executable (PATH lookup when not absolute). */
  bwrapPath: string;
  /** System paths the runtime needs, bound read-only (top-level symlinks such as /lib → usr/lib are recreated). */
  runtimePaths: string[];
  /** Extra paths bound read-only only for profiles with network (name resolution, certificates). */
  networkPaths: string[];
  /** Where per-agent scratch dirs are created on the host; relative to the gateway's data dir. Mounted at /tmp inside. */
  scratchRoot: string;
  /** Uid/gid the agent sees inside its user namespace. */
  sandboxUid: number;
  sandboxGid: number;
  /** Refuse to start when the namespace self-check fails (only disable to debug a host). */
  verifyNamespaces: boolean;
  /** How long sandbox setup may take before the spawn is failed. */
  setupTimeoutMs: number;
  /**
   * Per-sandbox pids cgroup for `limits.processes`: `auto` (the gateway's own v2 group when it
   * delegates `pids`, else its group in the v1 pids hierarchy), `off`, or an absolute cgroup dir.
   */
  pidsCgroup: string;
  /** Let agents create user namespaces of their own (bwrap `--disable-userns` when false). */
  nestedUserNamespaces: boolean;
}

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    bwrapPath: { type: 'string', minLength: 1, default: 'bwrap' },
    runtimePaths: {
      type: 'array',
      maxItems: 64,
      items: { type: 'string', pattern: '^/' },
      default: ['/usr', '/bin', '/sbin', '/lib', '/lib64', '/lib32', '/etc/ld.so.cache', '/etc/alternatives', '/etc/localtime'],
    },
    networkPaths: {
      type: 'array',
      maxItems: 64,
      items: { type: 'string', pattern: '^/' },
      default: ['/etc/resolv.conf', '/etc/hosts', '/etc/nsswitch.conf', '/etc/ssl', '/etc/ca-certificates'],
    },
    scratchRoot: { type: 'string', minLength: 1, default: 'sandbox-bubblewrap' },
    sandboxUid: { type: 'integer', minimum: 0, default: 65534 },
    sandboxGid: { type: 'integer', minimum: 0, default: 65534 },
    verifyNamespaces: { type: 'boolean', default: true },
    setupTimeoutMs: { type: 'integer', minimum: 100, default: 10000 },
    pidsCgroup: { type: 'string', pattern: '^(auto|off|/.*)$', default: 'auto' },
    nestedUserNamespaces: { type: 'boolean', default: false },
  },
} as const;
