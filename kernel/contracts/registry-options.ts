/**
 * Option-schema fragments every registry shares (registry-memory, registry-nats, third-party
 * registries), beside the registry contract: leases, lease expiry, duplicate ids and the limits
 * on what an agent may declare mean the same, with the same defaults, whichever registry runs.
 */

export type DuplicateIdPolicy = 'reject' | 'replace-same-identity';

export interface LeaseExpiryOptions {
  /** Mark a lapsed agent `unhealthy` (out of routing) during the grace period. */
  markUnhealthy: boolean;
  /** Grace period after the lease lapsed before the agent is removed; 0 removes it at once. */
  removeAfterMs: number;
}

/** Lease bounds: an agent asking for 0 gets the default; other requests are clamped. */
export interface LeaseTtlOptions {
  defaultLeaseTtlMs: number;
  minLeaseTtlMs: number;
  maxLeaseTtlMs: number;
}

/** The limits every registry enforces on registrations and discovery. */
export interface RegistryLimitOptions {
  leaseExpiry: LeaseExpiryOptions;
  /** Agents a registry holds (or, clustered, sees); registering beyond it fails with GW_RESOURCE_EXHAUSTED. */
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

/** Schema properties for LeaseTtlOptions. */
export const leaseTtlProperties = {
  defaultLeaseTtlMs: { type: 'integer', minimum: 100, default: 15000 },
  minLeaseTtlMs: { type: 'integer', minimum: 100, default: 1000 },
  maxLeaseTtlMs: { type: 'integer', minimum: 100, default: 300000 },
} as const;

/** Schema properties for RegistryLimitOptions. */
export const registryLimitProperties = {
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
} as const;
