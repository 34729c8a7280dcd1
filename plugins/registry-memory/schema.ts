import { leaseTtlProperties, registryLimitProperties, type LeaseTtlOptions, type RegistryLimitOptions } from '../../kernel';

export type { DuplicateIdPolicy, LeaseExpiryOptions } from '../../kernel';

export interface MemoryRegistryOptions extends LeaseTtlOptions, RegistryLimitOptions {
  /** Granularity of the lease sweep: a lapse is noticed at most this late. */
  sweepIntervalMs: number;
}

export const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...leaseTtlProperties,
    sweepIntervalMs: { type: 'integer', minimum: 10, maximum: 60000, default: 250 },
    ...registryLimitProperties,
  },
} as const;
