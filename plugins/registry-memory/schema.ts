export type DuplicateIdPolicy = 'reject' | 'replace-same-identity';

export interface LeaseExpiryOptions {
  /** Mark a lapsed agent `unhealthy` (out of routing) during the grace period. */
  markUnhealthy: boolean;
  /** Grace period after the lease lapsed before the agent is removed; 0 removes it at once. */
  removeAfterMs: number;
}

export interface MemoryRegistryOptions {
  /** Lease given to agents that ask for 0. */
  defaultLeaseTtlMs: number;
  minLeaseTtlMs: number;
  maxLeaseTtlMs: number;
  /** Granularity of the lease sweep: a lapse is noticed at most this late. */
  sweepIntervalMs: number;
  leaseExpiry: LeaseExpiryOptions;
  /** Registered agents, all states together. Registering beyond it fails with GW_RESOURCE_EXHAUSTED. */
  maxInstances: number;
  duplicateIdPolicy: DuplicateIdPolicy;
  maxTags: number;
  maxCapabilities: number;
  /** Longest agent id, service name, tag key or capability. */
  maxNameLength: number;
  maxTagValueLength: number;
  /** Cap on discovery results whatever the query's `limit` says. */
  maxDiscoverResults: number;
  /** Parsed semver ranges kept for discovery (least recently used evicted). */
  rangeCacheSize: number;
}

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    defaultLeaseTtlMs: { type: 'integer', minimum: 100, default: 15000 },
    minLeaseTtlMs: { type: 'integer', minimum: 100, default: 1000 },
    maxLeaseTtlMs: { type: 'integer', minimum: 100, default: 300000 },
    sweepIntervalMs: { type: 'integer', minimum: 10, maximum: 60000, default: 250 },
    leaseExpiry: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        markUnhealthy: { type: 'boolean', default: true },
        removeAfterMs: { type: 'integer', minimum: 0, default: 30000 },
      },
    },
    maxInstances: { type: 'integer', minimum: 1, default: 100000 },
    duplicateIdPolicy: { enum: ['reject', 'replace-same-identity'], default: 'replace-same-identity' },
    maxTags: { type: 'integer', minimum: 0, maximum: 1024, default: 32 },
    maxCapabilities: { type: 'integer', minimum: 0, maximum: 1024, default: 64 },
    maxNameLength: { type: 'integer', minimum: 8, maximum: 1024, default: 128 },
    maxTagValueLength: { type: 'integer', minimum: 1, maximum: 65536, default: 256 },
    maxDiscoverResults: { type: 'integer', minimum: 1, default: 1000 },
    rangeCacheSize: { type: 'integer', minimum: 1, maximum: 100000, default: 1024 },
  },
} as const;
