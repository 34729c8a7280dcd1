import type { AgentHealth, AgentRecord } from '../../kernel';
import type { SemVer } from 'semver';
import type { WheelEntry } from './lease-wheel';
import type { VersionBucket } from './service-index';

/**
 * The registry's private bookkeeping for one agent. `record` is a frozen snapshot replaced on every
 * change (copy-on-write), so records handed to callers and cached by the router never change under
 * them, and discovery can return them without copying.
 */
export interface AgentEntry extends WheelEntry {
  record: Readonly<AgentRecord>;
  readonly semver: SemVer;
  readonly capabilities: ReadonlySet<string>;
  /** Its version bucket in the discovery index while indexed (range checks from a tag's agents). */
  bucket: VersionBucket | undefined;
  /** Position in its version bucket's array, for O(1) removal. */
  position: number;
  /** `leased` until the lease lapses, then `lapsed` until renewed or removed after the grace period. */
  phase: 'leased' | 'lapsed';
  /** Health before the lapse marked it unhealthy, restored when the agent renews in time. */
  healthBeforeLapse?: AgentHealth;
  removed: boolean;
}
